package core

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type largeSchema struct{ T LookupTable[int, string] }

// openSmallRecords opens a database whose transactions spill into several
// records past 2 KiB, in parts of 512 bytes.
func openSmallRecords(t *testing.T, mem *MemBackend) *DB[largeSchema] {
	t.Helper()
	db, err := Open[largeSchema](mem, Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	db.e.recordLimit, db.e.partSize = 2048, 512
	return db
}

func insertRange(db *DB[largeSchema], from, to int) error {
	return db.Update(func(s *largeSchema) error {
		for i := from; i < to; i++ {
			if err := s.T.Insert(i, fmt.Sprintf("value %d %s", i, strings.Repeat("x", 40))); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordsOf returns the kinds and offsets of the records of segment id.
func recordsOf(t *testing.T, mem *MemBackend, id uint64) []rawRecord {
	t.Helper()
	data, err := mem.ReadSegment(id)
	if err != nil {
		t.Fatal(err)
	}
	res := scan(id, data)
	if res.damage != nil {
		t.Fatal(res.damage)
	}
	return res.records
}

// A transaction larger than one record is written as commit-part records
// and a commit record, and replays whole.
func TestTransaction_SpansRecords(t *testing.T) {
	mem := NewMemBackend()
	db := openSmallRecords(t, mem)
	if err := insertRange(db, 0, 200); err != nil {
		t.Fatal(err)
	}
	mustOK(t, db.Close())
	mem = mem.Reopen()
	recs := recordsOf(t, mem, 1)
	parts := 0
	for _, r := range recs {
		if recordKind(r.payload) == recordCommitPart {
			parts++
		}
	}
	if parts < 3 || recordKind(recs[len(recs)-1].payload) != recordCommit {
		t.Fatalf("%d commit-part records, last record kind %d", parts, recordKind(recs[len(recs)-1].payload))
	}
	db = openSmallRecords(t, mem)
	defer db.Close()
	if n := db.Tables.T.Len(); n != 200 {
		t.Fatalf("replayed %d keys, want 200", n)
	}
}

// A crash that loses a multi-record transaction's commit record leaves
// none of the transaction: its parts are cut at open, and later writes
// go on from there.
func TestTransaction_UncommittedPartsAreCut(t *testing.T) {
	mem := NewMemBackend()
	db := openSmallRecords(t, mem)
	mustOK(t, insertRange(db, 0, 5)) // one record
	mustOK(t, insertRange(db, 100, 300))
	mustOK(t, db.Close())
	mem = mem.Reopen()
	recs := recordsOf(t, mem, 1)
	last := recs[len(recs)-1]
	firstPart := int64(-1)
	for _, r := range recs {
		if recordKind(r.payload) == recordCommitPart && firstPart < 0 {
			firstPart = r.offset
		}
	}
	// The commit record never reached the disk.
	mustOK(t, mem.Truncate(1, last.offset))

	db = openSmallRecords(t, mem)
	if n := db.Tables.T.Len(); n != 5 {
		t.Fatalf("after losing the commit record: %d keys, want the 5 of the first transaction", n)
	}
	if st := db.OpenStats(); st.TornBytes != last.offset-firstPart {
		t.Fatalf("TornBytes %d, want the %d bytes of the parts", st.TornBytes, last.offset-firstPart)
	}
	mustOK(t, insertRange(db, 1000, 1003))
	mustOK(t, db.Close())
	db = openSmallRecords(t, mem.Reopen())
	defer db.Close()
	if n := db.Tables.T.Len(); n != 8 {
		t.Fatalf("after more writes and a reopen: %d keys, want 8", n)
	}
}

// commit-part records followed by a record that is not a commit are
// corruption, never skipped. (A commit record lost from between intact
// records cannot be told from a log without it, for any transaction: the
// CRC of each record is what protects them.)
func TestTransaction_PartsWithoutCommitAreCorrupt(t *testing.T) {
	mem := NewMemBackend()
	db := openSmallRecords(t, mem)
	mustOK(t, insertRange(db, 0, 200))
	mustOK(t, db.Close())
	mem = mem.Reopen()
	recs := recordsOf(t, mem, 1)
	// Keep the parts, drop their commit record, and append a copy of the
	// segment's schema record after them.
	c := recs[len(recs)-1]
	schema := recs[0]
	data, _ := mem.ReadSegment(1)
	spliced := append([]byte(nil), data[:c.offset]...)
	spliced = appendRecord(spliced, schema.payload)
	mustOK(t, mem.Truncate(1, 0))
	mustOK(t, mem.Append(1, 0, spliced))
	mustOK(t, mem.Sync(1))
	if _, err := Open[largeSchema](mem, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open: %v, want ErrCorrupt", err)
	}
	if rep, err := Verify(mem); err != nil || rep.Corrupt == nil {
		t.Fatalf("Verify: %+v, %v: want the damage reported", rep, err)
	}
}

// A transaction of more than MaxRecordSize bytes commits and replays at
// the real sizes.
func TestTransaction_LargerThanMaxRecordSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70 MiB")
	}
	type S struct{ T LookupTable[int, string] }
	mem := NewMemBackend()
	db, err := Open[S](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	val := strings.Repeat("v", 1<<20)
	mustOK(t, db.Update(func(s *S) error {
		for i := range 70 {
			if err := s.T.Insert(i, val); err != nil {
				return err
			}
		}
		return nil
	}))
	mustOK(t, db.Close())
	db, err = Open[S](mem.Reopen(), Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	if n := db.Tables.T.Len(); n != 70 {
		t.Fatalf("replayed %d keys, want 70", n)
	}
	if st := db.OpenStats(); st.Records < 6 { // a schema record, 4+ parts, a commit
		t.Fatalf("replayed %d records; the transaction should span several", st.Records)
	}
}

// One entry must fit in one record: a larger one fails at its op, and the
// transaction goes on.
func TestTransaction_EntryLargerThanARecord(t *testing.T) {
	type S struct{ T LookupTable[int, string] }
	db, err := Open[S](NewMemBackend(), Options{})
	mustOK(t, err)
	defer db.Close()
	huge := strings.Repeat("x", MaxRecordSize)
	mustOK(t, db.Update(func(s *S) error {
		if err := s.T.Insert(1, huge); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("insert of a %d-byte value: %v, want ErrTooLarge", len(huge), err)
		}
		if s.T.Has(1) {
			t.Fatal("the failed insert is visible")
		}
		return s.T.Insert(2, "small")
	}))
	if db.Tables.T.Len() != 1 {
		t.Fatalf("len %d, want 1", db.Tables.T.Len())
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// WalkLog and Verify read a log with a multi-record transaction as healthy,
// and WalkLog reports its commit-part records.
func TestTransaction_SpansRecords_WalkLogAndVerify(t *testing.T) {
	mem := NewMemBackend()
	db := openSmallRecords(t, mem)
	mustOK(t, insertRange(db, 0, 200))
	mustOK(t, db.Close())
	mem = mem.Reopen()
	parts := 0
	rep, err := WalkLog(mem, func(r LogRecord) error {
		if r.Kind == RecordCommitPart {
			parts++
		}
		return nil
	})
	if err != nil || rep.Corrupt != nil || parts < 3 {
		t.Fatalf("WalkLog: %+v, %v, %d commit-part records", rep, err, parts)
	}
	if v, err := Verify(mem); err != nil || v.Corrupt != nil || v.Records != rep.Records {
		t.Fatalf("Verify: %+v, %v; WalkLog counted %d records", v, err, rep.Records)
	}
}
