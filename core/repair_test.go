package core_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

func TestVerify_CleanLog(t *testing.T) {
	mem, _, _, _ := threeCommits(t)
	rep, err := core.Verify(mem)
	must(t, err)
	if rep.Corrupt != nil || rep.Records != 4 || rep.Segments != 1 || rep.TornBytes != 0 {
		t.Fatalf("Verify = %+v", rep)
	}
	rep, err = core.Repair(mem)
	must(t, err)
	if len(rep.CutSegments) != 0 {
		t.Fatalf("Repair cut a clean log: %+v", rep)
	}
}

func TestRepair_CorruptMiddleRecord(t *testing.T) {
	mem, seg, _, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	mid := commits(t, data)[1] // the second commit; the third follows it
	d := bytes.Clone(data)
	d[mid+12] ^= 0x40
	b := withSegment(t, mem, seg, d)
	if _, err := core.Open[Schema](b, core.Options{}); !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	rep, err := core.Verify(b)
	must(t, err)
	if rep.Corrupt == nil || rep.Corrupt.Offset != int64(mid) || rep.Records != 2 {
		t.Fatalf("Verify = %+v", rep)
	}
	rep, err = core.Repair(b)
	must(t, err)
	if !reflect.DeepEqual(rep.CutSegments, []uint64{seg}) || rep.CutBytes != int64(len(data)-mid) {
		t.Fatalf("Repair = %+v", rep)
	}
	db, err := core.Open[Schema](b, core.Options{})
	must(t, err)
	defer db.Close()
	if v, _ := db.Tables.Owner.Get(); v != "one" || db.Tables.Admins.Len() != 0 {
		t.Fatalf("after repair: the prefix before the damage should remain, got %v", dump(db.Tables))
	}
}

func TestRepair_EmptiesLaterSegments(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	must(t, db.Tables.Owner.Insert("kept"))
	must(t, db.Compact())
	must(t, db.Tables.Owner.Insert("lost with the damage"))
	must(t, db.Compact()) // seals the segment holding that commit
	must(t, db.Tables.Owner.Insert("after"))
	must(t, db.Close())
	mem = mem.Reopen()
	ids, _ := mem.Segments()
	// Damage the snapshot segment in the middle of the live log.
	snap := ids[0]
	data, _ := mem.ReadSegment(snap)
	d := bytes.Clone(data)
	d[len(d)/2] ^= 0xff
	b := withSegment(t, mem, snap, d)
	rep, err := core.Repair(b)
	must(t, err)
	if rep.Corrupt == nil || rep.Corrupt.Segment != snap || len(rep.CutSegments) != len(ids) {
		t.Fatalf("Repair = %+v (segments %v)", rep, ids)
	}
	db, err = core.Open[Schema](b, core.Options{})
	must(t, err)
	defer db.Close()
	if v, ok := db.Tables.Owner.Get(); ok {
		t.Fatalf("a commit after the damage survived repair: %q", v)
	}
}
