package core_test

import (
	"bytes"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// FuzzOpenSegment feeds arbitrary bytes as the only segment of a database.
// Open must return a database or an error, never panic or hang.
func FuzzOpenSegment(f *testing.F) {
	mem, seg, _, _ := threeCommits(&testing.T{})
	data, _ := mem.ReadSegment(seg)
	f.Add(data)
	f.Add(data[:len(data)-5])
	f.Add(append(bytes.Clone(data), 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := core.NewMemBackend()
		if err := b.Install(1, [][]byte{data}, nil); err != nil {
			t.Fatal(err)
		}
		db, err := core.Open[Schema](b, core.Options{CompactRatio: -1})
		if err != nil {
			return
		}
		dump(db.Tables)
		if err := db.Compact(); err != nil {
			t.Fatalf("compaction of an opened log failed: %v", err)
		}
		db.Close()
	})
}

// FuzzEntry appends one intact record with an arbitrary payload (a commit
// record's pairs, so the fuzzer reaches every table's entry decoding).
func FuzzEntry(f *testing.F) {
	mem, seg, _, _ := threeCommits(&testing.T{})
	base, _ := mem.ReadSegment(seg)
	f.Add([]byte{0x93, 0x02, 0x07, 0x93, 0x01, 0xa1, 'k', 0x80})
	f.Add([]byte{0x93, 0x02, 0x01, 0x92, 0x05, 0x00})
	f.Add([]byte{0x93, 0x02, 0x02, 0x94, 0x01, 0x01, 0xa1, 'a', 0x82, 0xa1, 'X', 0x01, 0xa1, 'Y', 0x02})
	f.Add([]byte{0x93, 0x02, 0x06, 0x93, 0x02, 0xa1, 'k', 0x05})
	f.Fuzz(func(t *testing.T, payload []byte) {
		b := core.NewMemBackend()
		if err := b.Install(seg, [][]byte{append(bytes.Clone(base), frame(payload)...)}, nil); err != nil {
			t.Fatal(err)
		}
		db, err := core.Open[Schema](b, core.Options{CompactRatio: -1})
		if err != nil {
			return
		}
		want := dump(db.Tables)
		if err := db.Compact(); err != nil {
			t.Fatalf("compaction failed: %v", err)
		}
		db.Close()
		db, err = core.Open[Schema](b.Reopen(), core.Options{})
		if err != nil {
			t.Fatalf("reopen after compaction: %v", err)
		}
		if got := dump(db.Tables); !equalDump(got, want) {
			t.Fatalf("state changed by compaction:\n got %v\nwant %v", got, want)
		}
		db.Close()
	})
}

// FuzzValidRaw checks the structural msgpack checker against the decoder.
func FuzzValidRaw(f *testing.F) {
	f.Add([]byte{0x92, 0x01, 0xa1, 'x'})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = core.ValidRaw(b)
	})
}
