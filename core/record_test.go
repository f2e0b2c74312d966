package core_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// frame builds a record as record.go specifies it, independently of core.
func frame(payload []byte) []byte {
	var h [8]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(h[:], payload...)
}

// records splits segment data into record boundaries (offsets of each start).
func records(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := 0; off+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 {
			break
		}
		offs = append(offs, off)
		off += 8 + n
	}
	return offs
}

// commits returns the offsets of the commit records in segment data.
func commits(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for _, off := range records(t, data) {
		if data[off+8]&0xf0 == 0x90 && data[off+9] == 2 {
			offs = append(offs, off)
		}
	}
	return offs
}

// withSegment returns a backend holding the segments of mem, with segment
// id replaced by data.
func withSegment(t *testing.T, mem *core.MemBackend, id uint64, data []byte) *core.MemBackend {
	t.Helper()
	out := core.NewMemBackend()
	ids, err := mem.Segments()
	must(t, err)
	for _, s := range ids {
		d, err := mem.ReadSegment(s)
		must(t, err)
		if s == id {
			d = data
		}
		must(t, out.Install(s, [][]byte{d}, nil))
	}
	return out
}

// threeCommits returns a backend whose only segment holds a schema record
// and three commits, and the states after the second and third commits.
func threeCommits(t *testing.T) (mem *core.MemBackend, seg uint64, after2, after3 map[string]any) {
	mem = core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	must(t, db.Tables.Owner.Insert("one"))
	must(t, db.Update(func(tx *Schema) error {
		must(t, tx.Admins.Push("two"))
		return tx.Users.Insert("u", Account{Name: "two", Tags: []string{"a", "b"}})
	}))
	after2 = dump(db.Tables)
	must(t, db.Update(func(tx *Schema) error {
		must(t, tx.Admins.Push("three"))
		must(t, tx.Posts.Push("k", "three"))
		return tx.Users.Insert("v", Account{Name: "three"})
	}))
	after3 = dump(db.Tables)
	must(t, db.Close())
	mem = mem.Reopen()
	ids, _ := mem.Segments()
	return mem, ids[len(ids)-1], after2, after3
}

func TestTornTail_EveryOffset(t *testing.T) {
	mem, seg, after2, after3 := threeCommits(t)
	data, err := mem.ReadSegment(seg)
	must(t, err)
	offs := records(t, data)
	last := offs[len(offs)-1]
	for cut := last; cut <= len(data); cut++ {
		for _, pad := range []int{0, 4096} {
			torn := append(bytes.Clone(data[:cut]), make([]byte, pad)...)
			b := withSegment(t, mem, seg, torn)
			db, err := core.Open[Schema](b, core.Options{})
			if err != nil {
				t.Fatalf("cut at %d (+%d zeros): %v", cut, pad, err)
			}
			want := after2
			if cut == len(data) {
				want = after3
			}
			if got := dump(db.Tables); !reflect.DeepEqual(got, want) {
				t.Fatalf("cut at %d: state %v, want %v", cut, got, want)
			}
			if st := db.OpenStats(); (st.TornBytes > 0) != (cut > last && cut < len(data)) {
				t.Fatalf("cut at %d: TornBytes = %d", cut, st.TornBytes)
			}
			// Appending after the cut must produce a log that reopens whole.
			must(t, db.Tables.Owner.Insert("after"))
			want2 := dump(db.Tables)
			must(t, db.Close())
			db, err = core.Open[Schema](b.Reopen(), core.Options{})
			if err != nil {
				t.Fatalf("cut at %d, reopen after append: %v", cut, err)
			}
			if got := dump(db.Tables); !reflect.DeepEqual(got, want2) {
				t.Fatalf("cut at %d, after append: %v, want %v", cut, got, want2)
			}
			db.Close()
		}
	}
}

func TestTornTail_ReadOnlyLeavesIt(t *testing.T) {
	mem, seg, after2, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	b := withSegment(t, mem, seg, data[:len(data)-3])
	db, err := core.Open[Schema](b, core.Options{ReadOnly: true})
	must(t, err)
	if got := dump(db.Tables); !reflect.DeepEqual(got, after2) {
		t.Fatalf("state %v", got)
	}
	if err := db.Tables.Owner.Insert("x"); !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("write on read-only: %v", err)
	}
	must(t, db.Close())
	if d, _ := b.Reopen().ReadSegment(seg); len(d) != len(data)-3 {
		t.Fatal("read-only open changed the log")
	}
}

func TestCorruptMiddleRecord(t *testing.T) {
	mem, seg, _, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	mid := commits(t, data)[1] // the second commit; the third follows it
	cases := map[string]func([]byte){
		"payload bit flip": func(d []byte) { d[mid+12] ^= 0x40 },
		"crc bit flip":     func(d []byte) { d[mid+5] ^= 1 },
		"hostile length":   func(d []byte) { binary.LittleEndian.PutUint32(d[mid:], 0xFFFFFFF0) },
		"zeroed length":    func(d []byte) { binary.LittleEndian.PutUint32(d[mid:], 0) },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			d := bytes.Clone(data)
			corrupt(d)
			_, err := core.Open[Schema](withSegment(t, mem, seg, d), core.Options{})
			var ce *core.CorruptError
			if !errors.Is(err, core.ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a CorruptError", err)
			}
			if ce.Segment != seg || ce.Offset != int64(mid) {
				t.Fatalf("corruption reported at segment %d offset %d, want %d/%d", ce.Segment, ce.Offset, seg, mid)
			}
		})
	}
}

func TestHostileLengthInTail(t *testing.T) {
	mem, seg, after2, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	offs := records(t, data)
	d := bytes.Clone(data)
	binary.LittleEndian.PutUint32(d[offs[len(offs)-1]:], 0xFFFFFFFF)
	db, err := core.Open[Schema](withSegment(t, mem, seg, d), core.Options{})
	must(t, err)
	defer db.Close()
	if got := dump(db.Tables); !reflect.DeepEqual(got, after2) {
		t.Fatalf("state %v", got)
	}
}

// appendRaw returns mem with one more record (raw payload) at the end of
// its newest segment.
func appendRaw(t *testing.T, mem *core.MemBackend, seg uint64, payload []byte) *core.MemBackend {
	data, _ := mem.ReadSegment(seg)
	return withSegment(t, mem, seg, append(bytes.Clone(data), frame(payload)...))
}

func TestBadEntries(t *testing.T) {
	mem, seg, _, _ := threeCommits(t)
	// A new database numbers its tables in name order: Accts 0, Admins 1,
	// Grid 2, Owner 3, Pos 4, Posts 5, Tags 6, users 7.
	nested := append(bytes.Repeat([]byte{0x91}, 200000), 0x00)
	cases := map[string][]byte{
		"not msgpack":             {0xc1, 0xc1, 0xc1},
		"not an array":            {0x01},
		"unknown record kind":     {0x91, 0x63},
		"unknown table id":        {0x93, 0x02, 0x7f, 0x91, 0x01},
		"unknown op":              {0x93, 0x02, 0x00, 0x91, 0x7f},
		"wrong arity":             {0x93, 0x02, 0x00, 0x93, 0x01, 0xa1, 'x', 0xa1, 'y'},
		"wrong value type":        {0x93, 0x02, 0x03, 0x92, 0x01, 0x05}, // Owner is a Single[string]
		"deep nesting":            append([]byte{0x93, 0x02, 0x00}, nested...),
		"hostile array length":    {0x93, 0x02, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"hostile string length":   {0x93, 0x02, 0x00, 0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'},
		"trailing bytes":          {0x91, 0x02, 0x00},
		"odd pairs":               {0x92, 0x02, 0x00},
		"remove of a missing key": {0x93, 0x02, 0x07, 0x92, 0x02, 0xa2, 'n', 'o'},
		// users is a lookup table, which replays an entry from the rest of
		// its record (no pass finds the entry's end first).
		"lookup value cut short":        {0x93, 0x02, 0x07, 0x93, 0x01, 0xa1, 'k', 0x82, 0xa4, 'N', 'a', 'm', 'e'},
		"lookup entry, extra argument":  {0x93, 0x02, 0x07, 0x94, 0x01, 0xa1, 'k', 0x80, 0xc0},
		"lookup entry missing":          {0x95, 0x02, 0x07, 0x93, 0x01, 0xa1, 'k', 0x80, 0x07},
		"lookup key of the wrong type":  {0x93, 0x02, 0x07, 0x93, 0x01, 0x05, 0x80},
		"lookup clear with an argument": {0x93, 0x02, 0x07, 0x92, 0x03, 0xc0},
		"list index out of range":       {0x93, 0x02, 0x01, 0x92, 0x05, 0x63},
		"schema record, bad table":      {0x92, 0x01, 0x91, 0x93, 0x00, 0xa5, 'O', 'w', 'n', 'e', 'r', 0xa4, 'l', 'i', 's', 't'},
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := core.Open[Schema](appendRaw(t, mem, seg, payload), core.Options{})
			if err == nil {
				t.Fatal("Open accepted a bad record")
			}
			if !errors.Is(err, core.ErrBadEntry) && !errors.Is(err, core.ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrBadEntry or ErrCorrupt", err)
			}
			t.Log(err)
		})
	}
}

func TestZeroTailIsCleanEnd(t *testing.T) {
	mem, seg, _, after3 := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	db, err := core.Open[Schema](withSegment(t, mem, seg, append(bytes.Clone(data), make([]byte, 1<<16)...)), core.Options{})
	must(t, err)
	defer db.Close()
	if st := db.OpenStats(); st.TornBytes != 0 || st.Records != 4 {
		t.Fatalf("OpenStats = %+v", st)
	}
	if got := dump(db.Tables); !reflect.DeepEqual(got, after3) {
		t.Fatalf("state %v", got)
	}
}

func TestCorruptOlderSegment(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	for i := range 3 {
		must(t, db.Tables.Owner.Insert(fmt.Sprint(i)))
	}
	must(t, db.Compact())
	must(t, db.Tables.Owner.Insert("after"))
	must(t, db.Close())
	mem = mem.Reopen()
	ids, _ := mem.Segments()
	if len(ids) != 2 {
		t.Fatalf("segments %v", ids)
	}
	snap, _ := mem.ReadSegment(ids[0])
	// Cutting the end of a sealed snapshot segment is corruption, not a torn tail.
	_, err = core.Open[Schema](withSegment(t, mem, ids[0], snap[:len(snap)-2]), core.Options{})
	if !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

// A snapshot-end record may carry per-table counts; hostile ones must not
// make replay reserve memory the segment cannot justify, and old footers
// without counts still open.
func TestSnapshotEnd_Counts(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactRatio: -1})
	must(t, err)
	for i := range 100 {
		must(t, db.Tables.Users.Insert(fmt.Sprint(i), Account{Balance: int64(i)}))
	}
	must(t, db.Compact())
	want := dump(db.Tables)
	must(t, db.Close())
	mem = mem.Reopen()
	ids, _ := mem.Segments()
	snap, _ := mem.ReadSegment(ids[0])
	offs := records(t, snap)
	endOff := offs[len(offs)-1]
	// Replace the footer with one that has hostile counts, then with an
	// old-style one without counts; both keep the true totals.
	for name, footer := range map[string][]any{
		"hostile counts": {4, 1, 100, []any{7, 1 << 40, 0, 1 << 40}},
		"no counts":      {4, 1, 100},
	} {
		t.Run(name, func(t *testing.T) {
			d := append(bytes.Clone(snap[:endOff]), frame(enc(t, footer))...)
			db, err := core.Open[Schema](withSegment(t, mem, ids[0], d), core.Options{})
			must(t, err)
			defer db.Close()
			if got := dump(db.Tables); !reflect.DeepEqual(got, want) {
				t.Fatalf("state %v", got)
			}
		})
	}
}

func TestTrimSegment(t *testing.T) {
	mem, seg, _, _ := threeCommits(t)
	data, _ := mem.ReadSegment(seg)
	if got := core.TrimSegment(append(bytes.Clone(data), make([]byte, 4096)...), false); !bytes.Equal(got, data) {
		t.Fatal("zero tail not trimmed")
	}
	torn := append(bytes.Clone(data), 9, 0, 0, 0, 1, 2, 3)
	if got := core.TrimSegment(torn, true); !bytes.Equal(got, data) {
		t.Fatal("torn tail of the newest segment not trimmed")
	}
	if got := core.TrimSegment(torn, false); !bytes.Equal(got, torn) {
		t.Fatal("damage in an older segment was trimmed away instead of kept for Open to report")
	}
}

// pagesLost writes four commits of size bytes each under mode, then
// returns the segment, the states after 0..4 commits, and the offsets of
// the commit records.
func pagesLost(t *testing.T, mode core.SyncMode, size int) (mem *core.MemBackend, seg uint64, states []map[string]any, offs []int) {
	t.Helper()
	mem = core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{Sync: mode, CompactRatio: -1})
	must(t, err)
	states = append(states, dump(db.Tables))
	for i := range 4 {
		must(t, db.Tables.Users.Insert(fmt.Sprint(i), Account{Name: strings.Repeat(fmt.Sprint(i), size)}))
		states = append(states, dump(db.Tables))
	}
	must(t, db.Close())
	mem = mem.Reopen()
	ids, _ := mem.Segments()
	seg = ids[len(ids)-1]
	data, _ := mem.ReadSegment(seg)
	return mem, seg, states, commits(t, data)
}

// zeroPage returns data with the 4 KiB page holding offset off zeroed, and
// the page's start.
func zeroPage(data []byte, off int) ([]byte, int) {
	d := bytes.Clone(data)
	p := off &^ 4095
	clear(d[p:min(p+4096, len(d))])
	return d, p
}

// A power loss may persist a segment's pages out of order: a page of the
// third of four unsynced commits never reached the disk (zeros, as a
// preallocated file shows it), while the fourth did. Nothing proves the
// lost page durable, so it is a torn tail: Open keeps the commits before it
// and cuts the rest, and says so in OpenStats.
func TestTornTail_PageLostOutOfOrder(t *testing.T) {
	mem, seg, states, offs := pagesLost(t, core.SyncNever, 5000)
	data, _ := mem.ReadSegment(seg)
	d, p := zeroPage(data, offs[2])
	if p+4096 > offs[3] {
		t.Fatalf("page %d reaches the fourth commit (%d)", p, offs[3])
	}
	b := withSegment(t, mem, seg, d)
	db, err := core.Open[Schema](b, core.Options{})
	if err != nil {
		t.Fatalf("Open after a page of unsynced commits was lost: %v", err)
	}
	want := 0 // the commits that end before the lost page
	for want < 4 && offs[want]+8+int(binary.LittleEndian.Uint32(data[offs[want]:])) <= p {
		want++
	}
	if want == 0 || want > 2 {
		t.Fatalf("%d commits end before the lost page", want)
	}
	if got := dump(db.Tables); !reflect.DeepEqual(got, states[want]) {
		t.Fatalf("state after the lost page is not the state after %d commits", want)
	}
	if st := db.OpenStats(); st.TornBytes != int64(len(d)-offs[want]) {
		t.Fatalf("OpenStats.TornBytes = %d, want the %d bytes from commit %d on", st.TornBytes, len(d)-offs[want], want+1)
	}
	// The cut is durable and the log goes on.
	must(t, db.Tables.Owner.Insert("after"))
	after := dump(db.Tables)
	must(t, db.Close())
	db, err = core.Open[Schema](b.Reopen(), core.Options{})
	must(t, err)
	defer db.Close()
	if got := dump(db.Tables); !reflect.DeepEqual(got, after) {
		t.Fatalf("reopen after the cut: %v", got)
	}
	if n := db.OpenStats().TornBytes; n != 0 {
		t.Fatalf("%d torn bytes after the cut", n)
	}
}

// A writable open marks what it read as durable (a synced record, after
// the sync that makes it so), so that damage found later in those bytes is
// corruption, even when no commit followed that open: the unsynced commits
// of SyncNever, lost at the second open below, would otherwise be cut as a
// torn tail, silently and with every commit after them.
func TestOpen_MarksWhatItReadDurable(t *testing.T) {
	mem, seg, states, offs := pagesLost(t, core.SyncNever, 5000)
	db, err := core.Open[Schema](mem, core.Options{}) // reads all four commits, marks them, writes nothing else
	must(t, err)
	if got := dump(db.Tables); !reflect.DeepEqual(got, states[4]) {
		t.Fatal("the reopen does not hold the four commits")
	}
	must(t, db.Close())
	mem = mem.Reopen()
	data, _ := mem.ReadSegment(seg)
	d, _ := zeroPage(data, offs[2])
	_, err = core.Open[Schema](withSegment(t, mem, seg, d), core.Options{})
	var ce *core.CorruptError
	if !errors.As(err, &ce) || ce.Offset > int64(offs[2]) {
		t.Fatalf("Open with a page of marked commits lost: %v, want a *CorruptError at the record holding the page", err)
	}
}

// The same lost page under SyncAlways lies in bytes a later synced record
// proves durable: a power loss cannot have lost it, so it is corruption,
// reported where it starts.
func TestCorruptPageBelowSyncedWatermark(t *testing.T) {
	mem, seg, _, offs := pagesLost(t, core.SyncAlways, 10000)
	data, _ := mem.ReadSegment(seg)
	d, p := zeroPage(data, offs[2]+5000)
	if p <= offs[2] || p+4096 >= offs[3]-syncedRecordSize {
		t.Fatalf("page %d does not lie inside the third commit (%d..%d)", p, offs[2], offs[3])
	}
	b := withSegment(t, mem, seg, d)
	_, err := core.Open[Schema](b, core.Options{})
	var ce *core.CorruptError
	if !errors.As(err, &ce) || ce.Segment != seg || ce.Offset != int64(offs[2]) {
		t.Fatalf("Open = %v, want corruption at segment %d offset %d", err, seg, offs[2])
	}
	rep, err := core.Verify(b)
	must(t, err)
	if rep.Corrupt == nil || rep.Corrupt.Offset != int64(offs[2]) || rep.TornBytes != 0 {
		t.Fatalf("Verify = %+v", rep)
	}
}

// syncedRecordSize bounds a framed synced record [6, offset] of a small segment.
const syncedRecordSize = 8 + 2 + 5

// v1Schema is the schema of testdata/v1log, a log written before synced
// records existed (segments 2, a snapshot, and 3).
type v1Schema struct {
	Owner core.Single[string]
	Names core.List[string]
	Count core.LookupTable[string, int]
}

func v1Log(t *testing.T) (*core.MemBackend, map[uint64][]byte) {
	t.Helper()
	mem := core.NewMemBackend()
	segs := map[uint64][]byte{}
	for _, id := range []uint64{2, 3} {
		d, err := os.ReadFile(filepath.Join("testdata", "v1log", fmt.Sprintf("%d.seg", id)))
		must(t, err)
		segs[id] = d
		must(t, mem.Install(id, [][]byte{d}, nil))
	}
	return mem, segs
}

func v1Check(t *testing.T, db *core.DB[v1Schema]) {
	t.Helper()
	owner, _ := db.Tables.Owner.Get()
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprint("name", i))
	}
	count := map[string]int{}
	for k, v := range db.Tables.Count.All() {
		count[k] = v
	}
	if owner != "second" || !reflect.DeepEqual(db.Tables.Names.Slice(), names) || len(count) != 7 || count["k7"] != 7 || count["k0"] != 0 {
		t.Fatalf("v1 log state: owner %q, names %v, count %v", owner, db.Tables.Names.Slice(), count)
	}
}

// A log written before synced records opens as before, and its damage is
// judged by the older rule: damage followed by an intact record is
// corruption, since nothing says where the durable point was.
func TestOldLog_OpensAsBefore(t *testing.T) {
	mem, segs := v1Log(t)
	db, err := core.Open[v1Schema](mem.Reopen(), core.Options{ReadOnly: true})
	must(t, err)
	v1Check(t, db)
	must(t, db.Close())

	d := bytes.Clone(segs[3])
	first := commits(t, d)[0]
	binary.LittleEndian.PutUint32(d[first:], 0) // a zero length prefix, valid records after it
	b := withSegment(t, mem, 3, d)
	if _, err := core.Open[v1Schema](b, core.Options{}); !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("Open of a damaged old log = %v, want ErrCorrupt", err)
	}
	d = bytes.Clone(segs[3])
	last := commits(t, d)[len(commits(t, d))-1]
	tb := withSegment(t, mem, 3, d[:last+5])
	db, err = core.Open[v1Schema](tb, core.Options{ReadOnly: true})
	if err != nil || db.OpenStats().TornBytes != 5 {
		t.Fatalf("Open of an old log with a torn last record: %v", err)
	}
	db.Close()

	// Opened for writing, the old log is marked (a synced record [6, 0],
	// synced by the open): from then on a lost page is a torn tail, even
	// when the page lost is the one that held the first commit and its
	// watermark.
	up := mem.Reopen()
	db, err = core.Open[v1Schema](up, core.Options{Sync: core.SyncNever})
	must(t, err)
	v1Check(t, db)
	for i := range 3 {
		must(t, db.Tables.Owner.Insert(strings.Repeat(fmt.Sprint(i), 5000)))
	}
	must(t, db.Close())
	up = up.Reopen()
	data, _ := up.ReadSegment(3)
	offs := records(t, data)
	marker := slices.IndexFunc(offs, func(off int) bool { return bytes.Equal(data[off+8:off+11], []byte{0x92, 0x06, 0x00}) })
	if marker < 0 || offs[marker] != len(segs[3]) {
		t.Fatalf("no synced record [6, 0] at the end of the old log (offset %d)", len(segs[3]))
	}
	d = bytes.Clone(data)
	lost := offs[marker+1] // the first commit's synced record, then the commit
	clear(d[lost : lost+4096])
	db, err = core.Open[v1Schema](withSegment(t, up, 3, d), core.Options{})
	if err != nil {
		t.Fatalf("Open of an upgraded old log with a lost page: %v", err)
	}
	defer db.Close()
	if db.OpenStats().TornBytes == 0 {
		t.Fatal("no torn tail reported")
	}
}
