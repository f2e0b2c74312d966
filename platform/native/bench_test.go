package native_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

type benchSchema struct {
	KV core.LookupTable[string, Account]
}

func benchOpen(b *testing.B, dir string, opts core.Options) *core.DB[benchSchema] {
	b.Helper()
	db, err := native.Open[benchSchema](dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkCommit measures durable single-op commits (SyncAlways: an
// fdatasync each) from one goroutine, and from many sharing syncs.
func BenchmarkCommit(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		db := benchOpen(b, b.TempDir(), core.Options{})
		defer db.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := db.Tables.KV.Insert(fmt.Sprint(i%100000), Account{Name: "n", Balance: int64(i)}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("parallel-32", func(b *testing.B) {
		db := benchOpen(b, b.TempDir(), core.Options{})
		defer db.Close()
		b.SetParallelism(16) // 16 × GOMAXPROCS goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if err := db.Tables.KV.Insert(fmt.Sprint(i%100000), Account{Name: "n", Balance: int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		s := db.Stats()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		b.ReportMetric(float64(s.Commits)/float64(max(s.Syncs, 1)), "commits/sync")
	})
	b.Run("sync-never", func(b *testing.B) {
		db := benchOpen(b, b.TempDir(), core.Options{Sync: core.SyncNever})
		defer db.Close()
		for i := 0; b.Loop(); i++ {
			if err := db.Tables.KV.Insert(fmt.Sprint(i%100000), Account{Name: "n", Balance: int64(i)}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
}

// BenchmarkBulkLoad1M loads one million records in durable transactions of
// 10,000 inserts each, then reopens the folder and reports replay speed.
func BenchmarkBulkLoad1M(b *testing.B) {
	const total, batch = 1_000_000, 10_000
	for b.Loop() {
		dir := b.TempDir()
		db := benchOpen(b, dir, core.Options{CompactRatio: -1})
		start := time.Now()
		for n := 0; n < total; n += batch {
			err := db.Update(func(tx *benchSchema) error {
				for i := n; i < n+batch; i++ {
					if err := tx.KV.Insert(fmt.Sprint("key-", i), Account{Name: "name", Balance: int64(i)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		load := time.Since(start)
		logBytes := db.Stats().LogBytes
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		db = benchOpen(b, dir, core.Options{CompactRatio: -1})
		open := time.Since(start)
		if db.Tables.KV.Len() != total {
			b.Fatalf("%d records after reopen", db.Tables.KV.Len())
		}
		st := db.OpenStats()
		start = time.Now()
		if err := db.Compact(); err != nil {
			b.Fatal(err)
		}
		compact := time.Since(start)
		db.Close()
		start = time.Now()
		db = benchOpen(b, dir, core.Options{CompactRatio: -1})
		openSnap := time.Since(start)
		db.Close()
		b.ReportMetric(float64(total)/load.Seconds(), "inserts/s")
		b.ReportMetric(float64(total)/open.Seconds(), "replayed-entries/s")
		b.ReportMetric(float64(st.Records)/open.Seconds(), "replayed-records/s")
		b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
		b.ReportMetric(compact.Seconds()*1000, "compact-ms")
		b.ReportMetric(openSnap.Seconds()*1000, "open-snapshot-ms")
	}
}
