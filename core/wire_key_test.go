package core_test

import (
	"errors"
	"math"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// ValidKey takes every key in the form dbrs and the shim write it, and
// refuses every other form of the same value, floats, maps and extensions.
func TestValidKey(t *testing.T) {
	good := []any{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, uint64(math.MaxUint32) + 1, uint64(math.MaxUint64),
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, int64(math.MinInt32) - 1, int64(math.MinInt64),
		"", "a", string(make([]byte, 31)), string(make([]byte, 32)), string(make([]byte, 255)), string(make([]byte, 256)), string(make([]byte, 65536)),
		[]byte{}, make([]byte, 255), make([]byte, 256), nil, true, false,
		[]any{}, []any{"a", 1, []any{-5, nil}}, make([]any, 15), make([]any, 16)}
	for _, v := range good {
		if err := core.ValidKey(enc(t, v)); err != nil {
			t.Errorf("%.30v: %v", v, err)
		}
	}
	bad := map[string][]byte{
		"uint8 for 5":          {0xcc, 5},
		"uint16 for 200":       {0xcd, 0, 200},
		"uint32 for 65535":     {0xce, 0, 0, 0xff, 0xff},
		"uint64 for 1":         {0xcf, 0, 0, 0, 0, 0, 0, 0, 1},
		"int8 for 5":           {0xd0, 5},
		"int8 for -1":          {0xd0, 0xff},
		"int16 for -100":       {0xd1, 0xff, 0x9c},
		"int64 for -1":         {0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"str8 for a":           {0xd9, 1, 'a'},
		"str16 for a":          {0xda, 0, 1, 'a'},
		"bin16 for 1 byte":     {0xc5, 0, 1, 7},
		"array16 for 1":        {0xdc, 0, 1, 1},
		"non-canonical in arr": {0x91, 0xcc, 1},
		"float64":              {0xcb, 0, 0, 0, 0, 0, 0, 0, 0},
		"float32":              {0xca, 0, 0, 0, 0},
		"map":                  {0x81, 0xa1, 'a', 1},
		"ext":                  {0xd4, 1, 0},
		"truncated str":        {0xa3, 'a'},
		"two values":           {1, 2},
		"empty":                {},
		"hostile array length": {0xdd, 0xff, 0xff, 0xff, 0xff},
	}
	for name, b := range bad {
		if err := core.ValidKey(b); !errors.Is(err, core.ErrBadValue) {
			t.Errorf("%s (% x): %v, want ErrBadValue", name, b, err)
		}
	}
}

// A dynamic table refuses a key in a non-canonical form, so that one
// logical key can never become two.
func TestDynamic_RefusesNonCanonicalKeys(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	users, _ := db.Tables.LookupTable("users")
	must(t, users.Insert(core.RawKey(enc(t, 5)), enc(t, "five")))
	if err := users.Insert(core.RawKey([]byte{0xcc, 5}), enc(t, "also five?")); !errors.Is(err, core.ErrBadValue) {
		t.Fatalf("insert under uint8 5: %v, want ErrBadValue", err)
	}
	if users.Len() != 1 {
		t.Fatalf("len %d, want 1", users.Len())
	}
}

// Errors name a dynamic key as a readable value, not as its msgpack bytes.
func TestRawKey_StringIsReadable(t *testing.T) {
	for v, want := range map[any]string{"nobody": `"nobody"`, 42: "42", -7: "-7", true: "true"} {
		if got := core.RawKey(enc(t, v)).String(); got != want {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
	if got := core.RawKey(enc(t, []any{1, "a", nil})).String(); got != `[1 "a" nil]` {
		t.Errorf("tuple: %s", got)
	}
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	users, _ := db.Tables.LookupTable("users")
	if err := users.Remove(core.RawKey(enc(t, "nobody"))); err == nil || err.Error() != `dbrs: key not found: "nobody"` {
		t.Fatalf("remove of an absent key: %v", err)
	}
}
