package core

import (
	"math"
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
