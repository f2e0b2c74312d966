package core_test

import (
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// BenchmarkDynamicDo measures one insert through the by-name dynamic API
// inside a transaction, as the browser bridge runs it.
func BenchmarkDynamicDo(b *testing.B) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{CompactRatio: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a := make([][]byte, 1000)
	for i := range a {
		a[i] = enc(b, []any{i, map[string]any{"title": "item", "done": false}})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for j := range 1000 {
				if _, err := tx.Tables.Do("users", "insert", a[j]); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
