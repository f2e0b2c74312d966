package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/vmihailenco/msgpack/v5"
)

func args(t *testing.T, vals ...any) []byte {
	t.Helper()
	if vals == nil {
		vals = []any{}
	}
	return enc(t, vals)
}

func decode(t *testing.T, r core.Result) any {
	t.Helper()
	switch r.Kind {
	case core.ResultNull:
		return nil
	case core.ResultNumber:
		return r.Number
	case core.ResultBool:
		return r.Bool
	}
	var v any
	if err := msgpack.Unmarshal(r.Bytes, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDynamicDo(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.OpenDynamic(mem, dynSpecs, core.Options{})
	must(t, err)
	d := db.Tables
	do := func(table, op string, a []byte) any {
		t.Helper()
		r, err := d.Do(table, op, a)
		if err != nil {
			t.Fatalf("%s.%s: %v", table, op, err)
		}
		return decode(t, r)
	}
	fails := func(want error, table, op string, a []byte) {
		t.Helper()
		if _, err := d.Do(table, op, a); !errors.Is(err, want) {
			t.Fatalf("%s.%s: err %v, want %v", table, op, err, want)
		}
	}
	do("Owner", "insert", args(t, "o"))
	if got := do("Owner", "get", args(t)); got != "o" {
		t.Fatalf("get = %v", got)
	}
	do("Admins", "push", args(t, "a"))
	do("Admins", "push", args(t, "b"))
	do("Admins", "insertAt", args(t, 0, "z"))
	do("Admins", "setAt", args(t, 1, "A"))
	if got := do("Admins", "all", args(t)); !reflect.DeepEqual(got, []any{"z", "A", "b"}) {
		t.Fatalf("all = %v", got)
	}
	if got := do("Admins", "pop", args(t)); got != "b" {
		t.Fatalf("pop = %v", got)
	}
	if got := do("Admins", "at", args(t, 7)); got != nil {
		t.Fatalf("at out of range = %v", got)
	}
	fails(core.ErrIndex, "Admins", "removeAt", args(t, 5))
	do("users", "insert", args(t, "b", map[string]any{"Name": "B"}))
	do("users", "insert", args(t, "a", 1))
	if got := do("users", "keys", args(t)); !reflect.DeepEqual(got, []any{"a", "b"}) {
		t.Fatalf("keys = %v", got)
	}
	if got := do("users", "entries", args(t)); !reflect.DeepEqual(got, []any{"a", int8(1), "b", map[string]any{"Name": "B"}}) {
		t.Fatalf("entries = %#v", got)
	}
	if got := do("users", "has", args(t, "a")); got != true {
		t.Fatal("has")
	}
	fails(core.ErrNotFound, "users", "remove", args(t, "zz"))
	do("Posts", "push", args(t, "k", 1))
	do("Posts", "push", args(t, "k", 2))
	do("Posts", "removeAt", args(t, "k", 0))
	if got := do("Posts", "get", args(t, "k")); !reflect.DeepEqual(got, []any{int8(2)}) {
		t.Fatalf("lookup list get = %v", got)
	}
	do("Posts", "clearKey", args(t, "absent")) // never fails
	do("Tags", "insert", args(t, "k", 300))
	do("Tags", "insert", args(t, "k", 2))
	if got := do("Tags", "get", args(t, "k")); !reflect.DeepEqual(got, []any{int8(2), uint16(300)}) {
		t.Fatalf("set get = %#v", got)
	}
	do("Grid", "insert", args(t, 1, "b", "x"))
	do("Grid", "insert", args(t, 1, "a", "y"))
	if got := do("Grid", "getInner", args(t, 1)); !reflect.DeepEqual(got, []any{"a", "y", "b", "x"}) {
		t.Fatalf("getInner = %v", got)
	}
	fails(core.ErrBadValue, "Grid", "insert", args(t, 1))
	fails(core.ErrBadValue, "Grid", "explode", args(t))
	fails(core.ErrBadValue, "Grid", "get", []byte{0x92, 0x01})
	fails(core.ErrUnknownTable, "nope", "get", args(t))

	// A transaction through Begin: reads see its writes; rollback undoes.
	tx, err := db.Begin()
	must(t, err)
	if _, err := tx.Tables.Do("Owner", "insert", args(t, "in tx")); err != nil {
		t.Fatal(err)
	}
	if r, _ := tx.Tables.Do("Owner", "get", args(t)); decode(t, r) != "in tx" {
		t.Fatal("tx does not read its own write")
	}
	if _, ok, _ := db.TryBegin(); ok {
		t.Fatal("TryBegin got the lock while a transaction holds it")
	}
	tx.Rollback()
	if got := do("Owner", "get", args(t)); got != "o" {
		t.Fatalf("after rollback: %v", got)
	}
	tx2, ok, err := db.TryBegin()
	if !ok || err != nil {
		t.Fatalf("TryBegin: %v %v", ok, err)
	}
	_, _ = tx2.Tables.Do("Owner", "insert", args(t, "committed"))
	must(t, tx2.Commit())

	// Export then open the copy elsewhere: same state.
	segs, err := db.Export()
	must(t, err)
	copyMem := core.NewMemBackend()
	for _, s := range segs {
		must(t, copyMem.Install(s.ID, [][]byte{s.Data}, nil))
	}
	db2, err := core.OpenDynamic(copyMem, dynSpecs, core.Options{})
	must(t, err)
	if r, _ := db2.Tables.Do("Owner", "get", args(t)); decode(t, r) != "committed" {
		t.Fatal("exported log lost the last commit")
	}
	if r, _ := db2.Tables.Do("Grid", "getInner", args(t, 1)); !reflect.DeepEqual(decode(t, r), []any{"a", "y", "b", "x"}) {
		t.Fatal("exported log lost data")
	}
	db2.Close()
	db.Close()
}

// getMany answers [presence bits, values of the present keys], and
// insertMany is all or nothing, inside a transaction as well as alone.
func TestDynamic_GetManyInsertMany(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	d := db.Tables
	if _, err := d.Do("users", "insertMany", enc(t, []any{"a", 1, "b", 2})); err != nil {
		t.Fatal(err)
	}
	r, err := d.Do("users", "getMany", enc(t, []any{"b", "zz", "a"}))
	must(t, err)
	var got []any
	must(t, msgpack.Unmarshal(r.Bytes, &got))
	if mask, _ := got[0].([]byte); len(got) != 3 || len(mask) != 1 || mask[0] != 0b101 || got[1] != int8(2) || got[2] != int8(1) {
		t.Fatalf("getMany: %#v", got)
	}
	if _, err := d.Do("users", "insertMany", enc(t, []any{"c"})); !errors.Is(err, core.ErrBadValue) {
		t.Fatalf("odd insertMany: %v", err)
	}

	if _, err := d.Do("users", "insertMany", enc(t, []any{"e", 5})); err != nil {
		t.Fatal(err)
	}
	if r, _ := d.Do("users", "len", enc(t, []any{})); r.Number != 3 {
		t.Fatalf("len after the transaction: %d, want 3", r.Number)
	}
}

// keys and entries list a lookup table in the byte order of its keys'
// encodings, each key with its own value, in a transaction (with its
// uncommitted writes) as outside one.
func TestDynamic_EntriesInKeyOrder(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	var keys []any
	for i := range 300 {
		keys = append(keys, fmt.Sprint("k", i*7919%300), -i*1000, i*i*i, strings.Repeat("s", i%40))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	var kv []any
	want := map[string][]byte{} // encoded key → encoded value
	for i, k := range keys {
		v := []any{i, k}
		kv = append(kv, k, v)
		want[string(enc(t, k))] = enc(t, v)
	}
	_, err = db.Tables.Do("users", "insertMany", enc(t, kv))
	must(t, err)

	check := func(d *core.Dynamic, want map[string][]byte) {
		t.Helper()
		order := make([]string, 0, len(want))
		for k := range want {
			order = append(order, k)
		}
		slices.Sort(order)
		r, err := d.Do("users", "keys", args(t))
		must(t, err)
		gotKeys := rawElements(t, r.Bytes)
		r, err = d.Do("users", "entries", args(t))
		must(t, err)
		gotEntries := rawElements(t, r.Bytes)
		if len(gotKeys) != len(order) || len(gotEntries) != 2*len(order) {
			t.Fatalf("%d keys and %d entry elements, want %d and %d", len(gotKeys), len(gotEntries), len(order), 2*len(order))
		}
		for i, k := range order {
			if string(gotKeys[i]) != k || string(gotEntries[2*i]) != k || !bytes.Equal(gotEntries[2*i+1], want[k]) {
				t.Fatalf("position %d: key %x, entry %x → %x; want %x → %x", i, gotKeys[i], gotEntries[2*i], gotEntries[2*i+1], k, want[k])
			}
		}
	}
	check(db.Tables, want)

	tx, err := db.Begin()
	must(t, err)
	defer tx.Rollback()
	inTx := maps.Clone(want)
	_, err = tx.Tables.Do("users", "remove", enc(t, []any{keys[0]}))
	must(t, err)
	delete(inTx, string(enc(t, keys[0])))
	_, err = tx.Tables.Do("users", "insert", enc(t, []any{"new", true}))
	must(t, err)
	inTx[string(enc(t, "new"))] = enc(t, true)
	check(tx.Tables, inTx)
}

// rawElements returns the encodings of the elements of the msgpack array
// b (msgpack.Unmarshal into RawMessages would make a nil element empty).
func rawElements(t *testing.T, b []byte) []msgpack.RawMessage {
	t.Helper()
	d := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := d.DecodeArrayLen()
	must(t, err)
	out := make([]msgpack.RawMessage, n)
	for i := range out {
		out[i], err = d.DecodeRaw()
		must(t, err)
	}
	return out
}

// A list's "all" gives its elements in order, each as it was written, in a
// transaction (with its uncommitted changes) as outside one.
func TestDynamic_ListAllInOrder(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	var want []any
	for i := range 500 {
		v := []any{fmt.Sprint("v", i), -i * 1000, i%2 == 0, strings.Repeat("x", i%40), nil, map[string]any{"i": i}}[i%6]
		_, err := db.Tables.Do("Admins", "push", enc(t, []any{v}))
		must(t, err)
		want = append(want, v)
	}
	all := func(d *core.Dynamic) []msgpack.RawMessage {
		t.Helper()
		r, err := d.Do("Admins", "all", args(t))
		must(t, err)
		return rawElements(t, r.Bytes)
	}
	same := func(got []msgpack.RawMessage, want []any) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d elements, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], enc(t, want[i])) {
				t.Fatalf("element %d: %x, want %x", i, got[i], enc(t, want[i]))
			}
		}
	}
	same(all(db.Tables), want)

	tx, err := db.Begin()
	must(t, err)
	defer tx.Rollback()
	_, err = tx.Tables.Do("Admins", "insertAt", enc(t, []any{3, "in"}))
	must(t, err)
	_, err = tx.Tables.Do("Admins", "removeAt", enc(t, []any{100}))
	must(t, err)
	_, err = tx.Tables.Do("Admins", "setAt", enc(t, []any{0, "first"}))
	must(t, err)
	inTx := slices.Concat([]any{"first"}, want[1:3], []any{"in"}, want[3:99], want[100:])
	same(all(tx.Tables), inTx)
}

// InsertMany inside a transaction is all or nothing: when a later entry
// fails, the earlier ones are undone and the transaction goes on.
func TestLookupTable_InsertManyAllOrNothing(t *testing.T) {
	type S struct {
		T core.LookupTable[string, core.RawValue]
	}
	db, err := core.Open[S](core.NewMemBackend(), core.Options{})
	must(t, err)
	defer db.Close()
	bad := func(yield func(string, core.RawValue) bool) {
		if yield("a", enc(t, 1)) {
			yield("b", core.RawValue{0xc1}) // not a msgpack value
		}
	}
	must(t, db.Update(func(s *S) error {
		if err := s.T.InsertMany(bad); !errors.Is(err, core.ErrBadValue) {
			t.Fatalf("InsertMany with a bad value: %v", err)
		}
		if s.T.Has("a") {
			t.Fatal("a failed InsertMany left its first entry behind")
		}
		return s.T.InsertMany(func(yield func(string, core.RawValue) bool) { yield("c", enc(t, 3)) })
	}))
	if err := db.Tables.T.InsertMany(bad); !errors.Is(err, core.ErrBadValue) || db.Tables.T.Has("a") {
		t.Fatalf("auto-commit InsertMany with a bad value: %v, has a: %v", err, db.Tables.T.Has("a"))
	}
	if db.Tables.T.Len() != 1 || !db.Tables.T.Has("c") {
		t.Fatalf("len %d, want only c", db.Tables.T.Len())
	}
}

// AppendDo answers as Do does, with byte results appended to dst.
func TestDynamic_AppendDoMatchesDo(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	d := db.Tables
	if _, err := d.Do("users", "insert", enc(t, []any{"a", map[string]any{"x": 1}})); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table, op string
		args      []any
	}{
		{"users", "get", []any{"a"}}, {"users", "get", []any{"zz"}}, {"users", "has", []any{"a"}},
		{"users", "has", []any{"zz"}}, {"users", "keys", []any{}}, {"users", "len", []any{}},
		{"users", "getMany", []any{"a", "b"}}, {"Admins", "all", []any{}},
	} {
		want, werr := d.Do(c.table, c.op, enc(t, c.args))
		prefix := []byte("prefix")
		dst, got, gerr := d.AppendDo(prefix, c.table, c.op, enc(t, c.args))
		if (werr == nil) != (gerr == nil) || got.Kind != want.Kind || got.Bool != want.Bool || got.Number != want.Number || !bytes.Equal(got.Bytes, want.Bytes) {
			t.Errorf("%s.%s: AppendDo %+v %v, Do %+v %v", c.table, c.op, got, gerr, want, werr)
		}
		if string(dst[:6]) != "prefix" || !bytes.Equal(dst[6:], got.Bytes) {
			t.Errorf("%s.%s: dst % x", c.table, c.op, dst)
		}
	}
	if _, _, err := d.AppendDo(nil, "users", "get", enc(t, []any{})); !errors.Is(err, core.ErrBadValue) {
		t.Errorf("get without a key: %v", err)
	}
}

// AppendDoAt names a table by its position in the specs; its insert (a
// path of its own, for the browser's bulk inserts) does what Do's does.
func TestDynamic_AppendDoAt(t *testing.T) {
	db, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	users := -1
	for i, s := range dynSpecs {
		if s.Name == "users" {
			users = i
		}
	}
	tx, err := db.Begin()
	must(t, err)
	if _, r, err := tx.Tables.AppendDoAt(nil, users, "insert", enc(t, []any{"a", 1})); err != nil || r.Kind != core.ResultNull {
		t.Fatalf("insert: %+v %v", r, err)
	}
	for _, args := range [][]any{{"a"}, {"a", 1, 2}} {
		if _, _, err := tx.Tables.AppendDoAt(nil, users, "insert", enc(t, args)); !errors.Is(err, core.ErrBadValue) {
			t.Errorf("insert %v: %v", args, err)
		}
	}
	if _, _, err := tx.Tables.AppendDoAt(nil, users, "insert", []byte{0x92, 0xa1}); !errors.Is(err, core.ErrBadValue) {
		t.Errorf("insert of a torn key: %v", err)
	}
	if _, _, err := tx.Tables.AppendDoAt(nil, len(dynSpecs), "get", enc(t, []any{"a"})); !errors.Is(err, core.ErrUnknownTable) {
		t.Errorf("table past the end: %v", err)
	}
	dst, r, err := tx.Tables.AppendDoAt(nil, users, "get", enc(t, []any{"a"}))
	if err != nil || r.Kind != core.ResultBytes || !bytes.Equal(dst, enc(t, 1)) {
		t.Errorf("get in the transaction: % x %+v %v", dst, r, err)
	}
	tx.Rollback()
	if _, ok, _ := db.Tables.AppendDoAt(nil, users, "has", enc(t, []any{"a"})); ok.Bool {
		t.Error("the rolled-back insert is still there")
	}
}
