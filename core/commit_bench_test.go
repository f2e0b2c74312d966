package core_test

import (
	"strconv"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// BenchmarkSmallCommit measures the per-commit cost of the engine around
// one insert: begin, the change with its undo log, the record, Append and
// the (no-op) sync, as every awaited single-record commit pays it.
func BenchmarkSmallCommit(b *testing.B) {
	db, err := core.Open[benchStrings](discardBackend{core.NewMemBackend()}, core.Options{CompactRatio: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = strconv.FormatUint(mixKey(uint64(i)), 16)
	}
	val := string(make([]byte, 100))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		must(b, db.Update(func(s *benchStrings) error {
			return s.T.Insert(keys[i%len(keys)], val)
		}))
	}
}

// BenchmarkSmallCommitDynamic is BenchmarkSmallCommit through the dynamic
// API that the browser bridge uses: begin, one insert by table position,
// commit.
func BenchmarkSmallCommitDynamic(b *testing.B) {
	db, err := core.OpenDynamic(discardBackend{core.NewMemBackend()}, dynSpecs, core.Options{CompactRatio: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a := make([][]byte, 4096)
	for i := range a {
		a[i] = enc(b, []any{i, map[string]any{"title": "item", "done": false}})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Tables.Do("users", "insert", a[i%len(a)]); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
