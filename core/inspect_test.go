package core_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// walk returns what WalkLog yields and reports for b.
func walk(t *testing.T, b core.Backend) ([]core.LogRecord, core.LogReport) {
	t.Helper()
	var recs []core.LogRecord
	rep, err := core.WalkLog(b, func(r core.LogRecord) error {
		recs = append(recs, r)
		return nil
	})
	must(t, err)
	return recs, rep
}

// WalkLog reports exactly what Verify reports, and yields the records it
// counts, for clean, torn, corrupt and compacted logs.
func TestWalkLog_AgreesWithVerify(t *testing.T) {
	mem, seg, _, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	offs := records(t, data)
	torn := append(bytes.Clone(data), 9, 0, 0, 0, 1, 2, 3, 4, 0x93)
	corrupt := bytes.Clone(data)
	corrupt[offs[2]+12] ^= 0x40

	compacted := core.NewMemBackend()
	db, err := core.Open[Schema](compacted, core.Options{CompactRatio: -1})
	must(t, err)
	must(t, db.Tables.Owner.Insert("before"))
	must(t, db.Compact())
	must(t, db.Tables.Admins.Push("after"))
	must(t, db.Close())

	for name, b := range map[string]core.Backend{
		"clean":     mem,
		"torn":      withSegment(t, mem, seg, torn),
		"corrupt":   withSegment(t, mem, seg, corrupt),
		"compacted": compacted.Reopen(),
		"empty":     core.NewMemBackend(),
	} {
		recs, rep := walk(t, b)
		want, err := core.Verify(b)
		must(t, err)
		if !reflect.DeepEqual(rep, want) {
			t.Errorf("%s: WalkLog reports %+v, Verify %+v", name, rep, want)
		}
		var size, data int64
		for i, r := range recs {
			size += r.Size
			if r.Kind != core.RecordSynced {
				data++ // synced records are walked but not counted
			}
			if i > 0 && r.Segment == recs[i-1].Segment && r.Offset != recs[i-1].Offset+recs[i-1].Size {
				t.Errorf("%s: record %d at %d does not follow the one before", name, i, r.Offset)
			}
			if r.Payload[1] != byte(r.Kind) {
				t.Errorf("%s: record %d has kind %d, payload %x", name, i, r.Kind, r.Payload)
			}
		}
		if data != rep.Records || size != rep.Bytes {
			t.Errorf("%s: yielded %d records of %d bytes, report %+v", name, len(recs), size, rep)
		}
		if len(recs) > 0 && recs[0].Kind != core.RecordSchema {
			t.Errorf("%s: the first record is a %d, want a schema record", name, recs[0].Kind)
		}
	}
	if recs, _ := walk(t, compacted.Reopen()); recs[len(recs)-1].Kind != core.RecordCommit || !slices.ContainsFunc(recs, func(r core.LogRecord) bool { return r.Kind == core.RecordSnapshotEnd }) {
		t.Errorf("compacted log: want the snapshot then the later commit, got %+v", recs)
	}
}

func TestWalkLog_StopsOnCallbackError(t *testing.T) {
	mem, _, _, _ := threeCommits(t)
	stop := errors.New("stop")
	n := 0
	_, err := core.WalkLog(mem, func(core.LogRecord) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("WalkLog = %v after %d calls, want the callback's error after 1", err, n)
	}
}

func TestLogTables(t *testing.T) {
	mem, _, _, _ := threeCommits(t)
	specs, err := core.LogTables(mem)
	must(t, err)
	want := []core.TableSpec{
		{Name: "Accts", Kind: core.KindList}, // new tables get IDs in name order
		{Name: "Admins", Kind: core.KindList},
		{Name: "Grid", Kind: core.KindLookupMap},
		{Name: "Owner", Kind: core.KindSingle},
		{Name: "Pos", Kind: core.KindSingle},
		{Name: "Posts", Kind: core.KindLookupList},
		{Name: "Tags", Kind: core.KindLookupSet},
		{Name: "users", Kind: core.KindLookupTable},
	}
	if !reflect.DeepEqual(specs, want) {
		t.Fatalf("LogTables = %v, want %v", specs, want)
	}

	// The log's own tables open it as a dynamic schema.
	db, err := core.OpenDynamic(mem, specs, core.Options{ReadOnly: true})
	must(t, err)
	defer db.Close()
	owner, err := db.Tables.Single("Owner")
	must(t, err)
	if v, ok := owner.Get(); !ok || string(v) != "\xa3one" {
		t.Fatalf("Owner = %q, %v", v, ok)
	}

	specs, err = core.LogTables(core.NewMemBackend())
	if err != nil || len(specs) != 0 {
		t.Fatalf("LogTables of an empty log = %v, %v", specs, err)
	}
}

// SnapshotSegment is what compaction writes, and opens alone with the same
// state. (Not byte for byte: entries of a lookup table come in Go's map
// order, which varies.)
func TestSnapshotSegment(t *testing.T) {
	mem, _, _, after3 := threeCommits(t)
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	snap, err := db.SnapshotSegment()
	must(t, err)
	must(t, db.Compact())
	segs, err := db.Export()
	must(t, err)
	compacted := core.NewMemBackend()
	must(t, compacted.Install(1, [][]byte{segs[0].Data}, nil))
	alone := core.NewMemBackend()
	must(t, alone.Install(1, [][]byte{snap}, nil))
	kinds := func(b core.Backend) (out []int) {
		recs, _ := walk(t, b)
		for _, r := range recs {
			out = append(out, r.Kind, int(r.Size))
		}
		return out
	}
	if got, want := kinds(alone), kinds(compacted); len(snap) != len(segs[0].Data) || !reflect.DeepEqual(got, want) {
		t.Fatalf("SnapshotSegment: records (kind, size) %v, compaction wrote %v", got, want)
	}
	must(t, db.Close())
	if _, err := db.SnapshotSegment(); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("SnapshotSegment after Close = %v, want ErrClosed", err)
	}

	alone = core.NewMemBackend()
	must(t, alone.Install(7, [][]byte{snap}, nil))
	if rep, err := core.Verify(alone); err != nil || rep.Corrupt != nil || rep.Segments != 1 {
		t.Fatalf("Verify of the snapshot alone = %+v, %v", rep, err)
	}
	db2, err := core.Open[Schema](alone, core.Options{})
	must(t, err)
	defer db2.Close()
	if got := dump(db2.Tables); !reflect.DeepEqual(got, after3) {
		t.Fatalf("snapshot opens as %v, want %v", got, after3)
	}
}
