//go:build dbrs_noreflect

package core

import (
	"errors"
	"testing"
)

// Built without reflection, dbrs holds the fast types and refuses, at open,
// a schema whose values need reflection.
func TestNoReflect_FastTypesOnly(t *testing.T) {
	type plain struct {
		Names LookupTable[string, []byte]
		Count Single[int64]
		Ids   LookupSet[uint32, string]
	}
	db, err := Open[plain](NewMemBackend(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Names.Insert("a", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if v, ok := db.Tables.Names.Get("a"); !ok || len(v) != 1 {
		t.Fatalf("get: %v %v", v, ok)
	}
	db.Close()

	type point struct{ X, Y int }
	type structs struct{ P LookupTable[string, point] }
	if _, err := Open[structs](NewMemBackend(), Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("open with a struct value: %v, want ErrSchema", err)
	}
}
