package core

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"testing"
)

// bindSchemaTables once computed the next ID as max(id)+1 in uint32: a log
// that uses ID 0xFFFFFFFF makes a new table get ID 0, which another table
// already has. Its writes are then replayed into that other table.
func TestReplay_NewTableIDNoOverflow(t *testing.T) {
	type S struct {
		A LookupTable[string, int]
		X LookupTable[string, int]
		B LookupTable[string, int]
	}
	payload, err := marshal([]any{recordSchema, []any{
		[]any{uint32(math.MaxUint32 - 1), "A", KindLookupTable},
		[]any{uint32(math.MaxUint32), "X", KindLookupTable},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMemBackend()
	mem.Create(1)
	mem.Append(1, 0, appendRecord(nil, payload))
	db, err := Open[S](mem, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.B.Insert("b-only", 1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open[S](mem.Reopen(), Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, ok := db2.Tables.X.Get("b-only"); ok {
		t.Errorf("a write to table B reappears in table X after reopen")
	}
	if _, ok := db2.Tables.B.Get("b-only"); !ok {
		t.Errorf("table B lost its write")
	}
}

// An open counts a log segment's inserts while it scans the segment
// (countInsertsAsync), from the records as framed: the counts equal those
// of the scanned records, and a tail that scan cuts (a torn record, a
// transaction that never committed) can only raise them.
func TestReplay_CountInsertsAsync(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("counts while scanning only with GOMAXPROCS > 1")
	}
	type S struct {
		A LookupTable[string, int]
		B LookupTable[int, string]
	}
	mem := NewMemBackend()
	db, err := Open[S](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	db.e.recordLimit, db.e.partSize = 4096, 1024 // a large transaction of commit-part records
	mustOK(t, db.Update(func(s *S) error {
		for i := range 300 {
			mustOK(t, s.A.Insert(fmt.Sprint("a", i), i))
			mustOK(t, s.B.Insert(i, "b"))
		}
		return nil
	}))
	for i := range 50 {
		mustOK(t, db.Tables.A.Insert(fmt.Sprint("c", i), i))
	}
	mustOK(t, db.Tables.A.Remove("a0"))
	mustOK(t, db.Close())
	mem = mem.Reopen()
	data, err := mem.ReadSegment(1)
	mustOK(t, err)

	check := func(what string, data []byte, exact bool) {
		t.Helper()
		si := &segmentInfo{id: 1, data: data, scan: scan(1, data)}
		mustOK(t, si.scan.settle(data, true, true))
		mustOK(t, cutUncommitted(1, &si.scan, true))
		want := countInserts(si)
		wait := countInsertsAsync(data)
		if wait == nil {
			t.Fatal("countInsertsAsync did not count with GOMAXPROCS > 1")
		}
		got := wait()
		if got2 := wait(); !maps.Equal(got, got2) {
			t.Fatalf("%s: a second wait returned %v, then %v", what, got, got2)
		}
		for id, n := range want {
			if got[id] < n || (exact && got[id] != n) {
				t.Fatalf("%s: counted %v while scanning, want %v from the scanned records", what, got, want)
			}
		}
	}
	check("whole log", data, true)
	if ids := countInserts(&segmentInfo{scan: scan(1, data)}); ids[0] < 350 || ids[1] != 300 {
		t.Fatalf("the log counts %v inserts, want A >= 350 and B = 300", ids)
	}

	// The records of a transaction that never committed, then a torn one.
	parts := appendRecord(nil, []byte{0x93, recordCommitPart, 0, 0x93, 1, 0xa1, 'x', 1})
	torn := appendRecord(nil, []byte{0x93, recordCommit, 0, 0x93, 1, 0xa1, 'y', 2})
	torn[recordHeaderSize+1] ^= 0xff // CRC mismatch
	check("uncommitted and torn tail", slices.Concat(data, parts, torn[:len(torn)-3]), false)
	check("uncommitted and damaged tail", slices.Concat(data, parts, torn), false)
	check("garbage length prefix", slices.Concat(data, []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}), true)

	// Open replays with those counts.
	db, err = Open[S](mem, Options{})
	mustOK(t, err)
	defer db.Close()
	if n := db.Tables.A.Len(); n != 349 {
		t.Fatalf("A holds %d keys after reopen, want 349", n)
	}
}

// A lookup table replays each entry from the rest of its record
// (entryPrefixReplayer), with no pass that finds the entry's end first:
// entries of several tables interleaved in one record, inserts that
// replace a value, removes and clears reopen to the same state and the
// same LiveBytes, the table ID's bytes included, from a log and from a
// snapshot.
func TestReplay_LookupTableEntriesInPlace(t *testing.T) {
	type S struct {
		KV   LookupTable[string, string]
		Nums LookupTable[int, int]
		Encs LookupTable[int, []string] // held as its encoding
		Log  List[string]
	}
	dump := func(db *DB[S]) string {
		var b []string
		for k, v := range db.Tables.KV.All() {
			b = append(b, fmt.Sprintf("kv %q=%q", k, v))
		}
		for k, v := range db.Tables.Nums.All() {
			b = append(b, fmt.Sprintf("nums %d=%d", k, v))
		}
		for k, v := range db.Tables.Encs.All() {
			b = append(b, fmt.Sprintf("encs %d=%q", k, v))
		}
		for i, v := range db.Tables.Log.All() {
			b = append(b, fmt.Sprintf("log %d %q", i, v))
		}
		slices.Sort(b)
		return fmt.Sprint(b)
	}
	mem := NewMemBackend()
	db, err := Open[S](mem, Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *S) error {
		for i := range 300 {
			k := fmt.Sprintf("key-%03d", i%120)
			steps := []error{
				tx.KV.Insert(k, fmt.Sprint("value of ", i, " ", string(make([]byte, i%40)))),
				tx.Nums.Insert(i%70, i),
				tx.Encs.Insert(i%30, []string{k, fmt.Sprint(i)}),
				tx.Log.Push(k),
			}
			if i%7 == 0 {
				steps = append(steps, tx.KV.Remove(k))
			}
			if i == 150 {
				steps = append(steps, tx.Nums.Clear())
			}
			if err := errors.Join(steps...); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.KV.Insert("after", "the big commit"); err != nil {
		t.Fatal(err)
	}
	want, live := dump(db), db.Stats().LiveBytes
	for _, step := range []string{"log", "snapshot"} {
		if step == "snapshot" {
			if err := db.Compact(); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		mem = mem.Reopen()
		if db, err = Open[S](mem, Options{CompactRatio: -1}); err != nil {
			t.Fatalf("reopen of the %s: %v", step, err)
		}
		if got := dump(db); got != want {
			t.Fatalf("state after reopening the %s:\n got %s\nwant %s", step, got, want)
		}
		if got := db.Stats().LiveBytes; got != live {
			t.Fatalf("LiveBytes %d after reopening the %s, want %d", got, step, live)
		}
	}
	db.Close()
}
