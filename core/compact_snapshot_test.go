package core_test

import (
	"errors"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// A snapshot segment that has lost its end record after compaction removed
// the segments it replaced is corruption, for Open and Verify: skipping it
// as an unfinished compaction would open an empty database, and the next
// compaction would delete the snapshot for good.
func TestCompact_SnapshotWithoutEndIsCorrupt(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	must(t, db.Tables.Owner.Insert("parth"))
	must(t, db.Tables.Users.Insert("u", Account{Name: "U"}))
	must(t, db.Compact())
	must(t, db.Close())
	mem = mem.Reopen()
	ids, err := mem.Segments()
	must(t, err)
	if len(ids) != 2 {
		t.Fatalf("segments after compaction: %v, want the snapshot and the new log", ids)
	}
	snap := ids[0]
	data, err := mem.ReadSegment(snap)
	must(t, err)
	// Cut the snapshot-end record, at its record boundary.
	end := lastRecordOffset(t, data)
	must(t, mem.Truncate(snap, int64(end)))
	must(t, mem.Sync(snap))

	if _, err := core.Open[Schema](mem, core.Options{}); !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("open: %v, want ErrCorrupt", err)
	}
	rep, err := core.Verify(mem)
	if err != nil || rep.Corrupt == nil || rep.Corrupt.Segment != snap {
		t.Fatalf("Verify: %+v, %v: want the snapshot reported", rep, err)
	}
}

// lastRecordOffset returns where the last record of a segment starts.
func lastRecordOffset(t *testing.T, data []byte) int {
	t.Helper()
	off, last := 0, -1
	for off+8 <= len(data) {
		n := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16 | int(data[off+3])<<24
		if n == 0 {
			break
		}
		last = off
		off += 8 + n
	}
	if last < 0 {
		t.Fatal("no record")
	}
	return last
}
