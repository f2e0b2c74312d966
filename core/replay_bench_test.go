package core_test

import (
	"fmt"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

type benchStrings struct {
	T core.LookupTable[string, string]
}

// BenchmarkReplay measures opening a database of 100k lookup-table entries
// (16-byte keys, 100-byte values), from a log of commits and from a
// snapshot, for a typed table and for the dynamic tables the browser uses.
func BenchmarkReplay(b *testing.B) {
	const n = 100_000
	val := string(make([]byte, 100))
	for _, snapshot := range []bool{false, true} {
		form := "log"
		if snapshot {
			form = "snapshot"
		}
		b.Run("typed/"+form, func(b *testing.B) {
			mem := core.NewMemBackend()
			db, err := core.Open[benchStrings](mem, core.Options{CompactRatio: -1})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i += 1000 {
				must(b, db.Update(func(s *benchStrings) error {
					for j := i; j < i+1000; j++ {
						if err := s.T.Insert(fmt.Sprintf("key-%012d", j), val); err != nil {
							return err
						}
					}
					return nil
				}))
			}
			if snapshot {
				must(b, db.Compact())
			}
			must(b, db.Close())
			b.ReportAllocs()
			for b.Loop() {
				mem = mem.Reopen()
				db, err := core.Open[benchStrings](mem, core.Options{CompactRatio: -1, ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				if db.Tables.T.Len() != n {
					b.Fatal("short replay")
				}
				must(b, db.Close())
			}
		})
		for _, txSize := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("dynamic/%s/tx%d", form, txSize), func(b *testing.B) {
				mem := core.NewMemBackend()
				specs := []core.TableSpec{{Name: "T", Kind: core.KindLookupTable}}
				db, err := core.OpenDynamic(mem, specs, core.Options{CompactRatio: -1})
				if err != nil {
					b.Fatal(err)
				}
				v := enc(b, map[string]any{"name": "user-123", "n": 123, "tags": []string{"a", "b"}})
				for i := 0; i < n; i += txSize {
					tx, err := db.Begin()
					must(b, err)
					t, err := tx.Tables.LookupTable("T")
					must(b, err)
					for j := i; j < i+txSize; j++ {
						must(b, t.Insert(core.RawKey(enc(b, fmt.Sprintf("k%08d", j))), v))
					}
					must(b, tx.Commit())
				}
				if snapshot {
					must(b, db.Compact())
				}
				must(b, db.Close())
				b.ReportAllocs()
				for b.Loop() {
					mem = mem.Reopen()
					db, err := core.OpenDynamic(mem, specs, core.Options{CompactRatio: -1, ReadOnly: true})
					if err != nil {
						b.Fatal(err)
					}
					t, _ := db.Tables.LookupTable("T")
					if t.Len() != n {
						b.Fatal("short replay")
					}
					must(b, db.Close())
				}
			})
		}
	}
}
