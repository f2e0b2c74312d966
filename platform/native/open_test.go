package native_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

type Account struct {
	Name    string
	Balance int64
}

type Schema struct {
	Owner core.Single[string]
	Users core.LookupTable[string, Account] `dbrs:"users"`
	Log   core.List[string]
}

func TestOpen_ReopenCompact(t *testing.T) {
	dir := t.TempDir()
	db, err := native.Open[Schema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := db.Tables.Users.Insert(fmt.Sprint(i%10), Account{Name: "n", Balance: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Owner.Insert("o"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 2 {
		t.Fatalf("segment files after compaction: %v", segs)
	}
	db, err = native.Open[Schema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, ok := db.Tables.Users.Get("9"); !ok || v.Balance != 99 {
		t.Fatalf("users[9] = %+v", v)
	}
	if v, _ := db.Tables.Owner.Get(); v != "o" {
		t.Fatal("owner lost")
	}
}

func TestOpen_Locked(t *testing.T) {
	dir := t.TempDir()
	db, err := native.Open[Schema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := native.Open[Schema](dir, core.Options{}); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("second opener: %v, want ErrLocked", err)
	}
	if _, err := native.Open[Schema](dir, core.Options{ReadOnly: true}); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("read-only opener beside a writer: %v, want ErrLocked", err)
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	dir := t.TempDir()
	db, err := native.Open[Schema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Log.Push("x"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := dirState(t, dir)
	r1, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("two read-only openers: %v", err)
	}
	if r2.Tables.Log.Len() != 1 {
		t.Fatal("read-only open lost data")
	}
	if err := r1.Tables.Log.Push("y"); !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("write on read-only: %v", err)
	}
	if err := r1.Compact(); !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("compact on read-only: %v", err)
	}
	r1.Close()
	r2.Close()
	if after := dirState(t, dir); after != before {
		t.Fatalf("read-only opens changed the folder:\n%s\n%s", before, after)
	}
}

func dirState(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, e := range entries {
		info, _ := e.Info()
		s += fmt.Sprintf("%s %d %v;", e.Name(), info.Size(), info.ModTime())
	}
	return s
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "dbrs-example")
	defer os.RemoveAll(dir)

	db, err := native.Open[Schema](dir, core.Options{Sync: core.SyncAlways})
	if err != nil {
		panic(err)
	}
	_ = db.Tables.Owner.Insert("parth")
	_ = db.Update(func(tx *Schema) error {
		_ = tx.Log.Push("created parth")
		return tx.Users.Insert("parth", Account{Name: "Parth", Balance: 10})
	})
	_ = db.Close()

	db, _ = native.Open[Schema](dir, core.Options{})
	defer db.Close()
	u, _ := db.Tables.Users.Get("parth")
	fmt.Println(u.Name, u.Balance, db.Tables.Log.Slice())
	// Output: Parth 10 [created parth]
}
