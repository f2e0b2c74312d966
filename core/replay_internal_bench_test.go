package core

import (
	"fmt"
	"testing"
)

// replayBenchBackend serves fixed segments without copying them, so that
// BenchmarkOpenReplay measures replay and not the backend.
type replayBenchBackend struct {
	*MemBackend
	data map[uint64][]byte
}

func (b replayBenchBackend) ReadSegment(id uint64) ([]byte, error) { return b.data[id], nil }

// BenchmarkOpenReplay measures the phases of a read-only open of 100k
// lookup-table entries (16-byte keys, 100-byte values) written as one
// commit record, the shape of the native benchmark's P5.
func BenchmarkOpenReplay(b *testing.B) {
	type schema struct {
		KV  LookupTable[string, string] `dbrs:"kv"`
		Bin LookupTable[string, []byte] `dbrs:"bin"`
	}
	const n = 100_000
	mem := NewMemBackend()
	db, err := Open[schema](mem, Options{CompactRatio: -1})
	if err != nil {
		b.Fatal(err)
	}
	val := string(make([]byte, 100))
	if err := db.Update(func(s *schema) error {
		for i := range n {
			if err := s.KV.Insert(fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15), val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	db.Close()
	mem = mem.Reopen()
	bk := replayBenchBackend{MemBackend: mem, data: map[uint64][]byte{}}
	ids, _ := mem.Segments()
	for _, id := range ids {
		bk.data[id], _ = mem.ReadSegment(id)
	}
	data := bk.data[ids[len(ids)-1]]
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			scan(1, data)
		}
	})
	si := &segmentInfo{id: 1, data: data, scan: scan(1, data)}
	b.Run("countInserts", func(b *testing.B) {
		for b.Loop() {
			countInserts(si)
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db, err := Open[schema](bk, Options{CompactRatio: -1, ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			if db.Tables.KV.Len() != n {
				b.Fatal("short replay")
			}
		}
	})
}
