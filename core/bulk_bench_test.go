package core_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// BenchmarkBulkLoad measures the bench's P3 shape in memory: one
// transaction of 100k inserts (16-byte keys, 100-byte values) into a
// LookupTable[string, string], committed to a backend that keeps
// nothing. heapMB is the heap in use after a GC once the load has
// committed (P6's shape).
func BenchmarkBulkLoad(b *testing.B) {
	const n = 100_000
	keys := make([]string, n)
	vals := make([]string, n)
	for i := range n {
		keys[i] = strconv.FormatUint(mixKey(uint64(i)), 16)
		vals[i] = string(make([]byte, 100))
	}
	var heap uint64
	b.ReportAllocs()
	for b.Loop() {
		db, err := core.Open[benchStrings](discardBackend{core.NewMemBackend()}, core.Options{CompactRatio: -1})
		if err != nil {
			b.Fatal(err)
		}
		must(b, db.Update(func(s *benchStrings) error {
			for i := range n {
				// Fresh strings, as a caller building them from bytes has.
				if err := s.T.Insert(string([]byte(keys[i])), string([]byte(vals[i]))); err != nil {
					return err
				}
			}
			return nil
		}))
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		must(b, db.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rec/s")
	b.ReportMetric(float64(heap)/1e6, "heapMB")
}

func mixKey(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31) | 1<<63
}

// discardBackend is a MemBackend that drops what commits append.
type discardBackend struct{ *core.MemBackend }

func (discardBackend) Append(uint64, int64, []byte) error { return nil }
