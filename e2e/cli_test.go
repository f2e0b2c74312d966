package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// TestCLI_ExportImportsInBrowser writes a database natively, exports it
// with the dbrs command (one snapshot segment in one file), and loads that
// file in the browser with importLog as segment 1.
func TestCLI_ExportImportsInBrowser(t *testing.T) {
	base := serveSite(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "dbrs")
	if err := run(root, nil, "go", "build", "-o", bin, "./cmd/dbrs"); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(tmp, "db")
	db, err := native.Open[nativeSchema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(s *nativeSchema) error {
		for _, e := range []error{
			s.Cards.Insert("c1", nativeCard{Title: "Write docs", Points: 3, Labels: []string{"docs"}}),
			s.Tags.Insert("c1", "urgent"),
			s.Order.Push("c1"),
			s.Owner.Insert("parth"),
			s.Grid.Insert("row", 1, "a"),
		} {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Owner.Insert("exported"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "export.seg")
	if err := run(root, nil, bin, "export", dir, file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got map[string]any
	b.js(t, `
await dbrs.importLog('from-cli', `+segmentsJS([]core.Segment{{ID: 1, Data: data}})+`);
const db = await dbrs.open('from-cli', `+nativeTSSchema+`);
const t = db.tables;
const out = { c1: t.cards.get('c1'), tags: t.tags.get('c1'), order: t.order.all(), owner: t.owner.get(),
  grid: Object.fromEntries(t.grid.getInner('row')) };
await t.owner.insert('written after import');
out.after = t.owner.get();
await db.close();
return out;`, &got)
	want := map[string]any{
		"c1":    map[string]any{"title": "Write docs", "points": float64(3), "done": false, "labels": []any{"docs"}, "ratio": float64(0)},
		"tags":  []any{"urgent"},
		"order": []any{"c1"},
		"owner": "exported",
		"grid":  map[string]any{"1": "a"},
		"after": "written after import",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the browser reads the exported file as\n%#v\nwant\n%#v", got, want)
	}
}
