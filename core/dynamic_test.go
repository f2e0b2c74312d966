package core_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/vmihailenco/msgpack/v5"
)

// enc encodes v as dbrs does (compact integers), as the JS shim does too.
func enc(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.UseCompactInts(true)
	if err := e.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var dynSpecs = []core.TableSpec{
	{Name: "Owner", Kind: core.KindSingle},
	{Name: "Admins", Kind: core.KindList},
	{Name: "users", Kind: core.KindLookupTable},
	{Name: "Posts", Kind: core.KindLookupList},
	{Name: "Tags", Kind: core.KindLookupSet},
	{Name: "Grid", Kind: core.KindLookupMap},
}

type dynSubset struct {
	Owner  core.Single[string]
	Admins core.List[string]
	Users  core.LookupTable[string, Account] `dbrs:"users"`
	Posts  core.LookupList[string, string]
	Tags   core.LookupSet[string, int]
	Grid   core.LookupMap[int, string, Point]
}

// typedOps and dynOps perform the same operations through the two APIs.
func typedOps(t *testing.T, s *dynSubset) {
	must(t, s.Owner.Insert("parth"))
	must(t, s.Admins.Push("a"))
	must(t, s.Admins.Push("b"))
	must(t, s.Admins.RemoveAt(0))
	must(t, s.Users.Insert("u", Account{Name: "U", Balance: -5, Tags: []string{"x"}}))
	must(t, s.Posts.Push("k", "p1"))
	must(t, s.Tags.Insert("k", 300))
	must(t, s.Grid.Insert(7, "a", Point{1, -2}))
}

func dynOps(t *testing.T, d *core.Dynamic) {
	owner, err := d.Single("Owner")
	must(t, err)
	must(t, owner.Insert(enc(t, "parth")))
	admins, _ := d.List("Admins")
	must(t, admins.Push(enc(t, "a")))
	must(t, admins.Push(enc(t, "b")))
	must(t, admins.RemoveAt(0))
	users, _ := d.LookupTable("users")
	must(t, users.Insert(core.RawKey(enc(t, "u")), enc(t, Account{Name: "U", Balance: -5, Tags: []string{"x"}})))
	posts, _ := d.LookupList("Posts")
	must(t, posts.Push(core.RawKey(enc(t, "k")), enc(t, "p1")))
	tags, _ := d.LookupSet("Tags")
	must(t, tags.Insert(core.RawKey(enc(t, "k")), core.RawKey(enc(t, 300))))
	grid, _ := d.LookupMap("Grid")
	must(t, grid.Insert(core.RawKey(enc(t, 7)), core.RawKey(enc(t, "a")), enc(t, Point{1, -2})))
}

func segmentBytes(t *testing.T, mem *core.MemBackend) []byte {
	mem = mem.Reopen()
	ids, err := mem.Segments()
	must(t, err)
	var all []byte
	for _, id := range ids {
		d, err := mem.ReadSegment(id)
		must(t, err)
		all = append(all, d...)
	}
	return all
}

func TestDynamic_SameBytesAsTyped(t *testing.T) {
	tm := core.NewMemBackend()
	tdb, err := core.Open[dynSubset](tm, core.Options{})
	must(t, err)
	typedOps(t, tdb.Tables)
	must(t, tdb.Close())

	dm := core.NewMemBackend()
	ddb, err := core.OpenDynamic(dm, dynSpecs, core.Options{})
	must(t, err)
	dynOps(t, ddb.Tables)
	must(t, ddb.Close())

	if a, b := segmentBytes(t, tm), segmentBytes(t, dm); !bytes.Equal(a, b) {
		t.Fatalf("typed and dynamic logs differ:\ntyped   %x\ndynamic %x", a, b)
	}
}

func TestDynamic_ReadsTypedLog(t *testing.T) {
	mem := core.NewMemBackend()
	tdb, err := core.Open[dynSubset](mem, core.Options{})
	must(t, err)
	typedOps(t, tdb.Tables)
	must(t, tdb.Compact())
	must(t, tdb.Close())

	ddb, err := core.OpenDynamic(mem.Reopen(), dynSpecs, core.Options{})
	must(t, err)
	defer ddb.Close()
	users, _ := ddb.Tables.LookupTable("users")
	raw, ok := users.Get(core.RawKey(enc(t, "u")))
	if !ok {
		t.Fatal("key written by the typed API not found by its raw bytes")
	}
	var got map[string]any
	must(t, msgpack.Unmarshal(raw, &got))
	if got["Name"] != "U" || got["Balance"] != int8(-5) {
		t.Fatalf("struct read as a map: %#v", got)
	}
	grid, _ := ddb.Tables.LookupMap("Grid")
	if _, ok := grid.Get(core.RawKey(enc(t, 7)), core.RawKey(enc(t, "a"))); !ok {
		t.Fatal("int key not found")
	}
}

func TestDynamic_TypedReadsDynamicLog(t *testing.T) {
	mem := core.NewMemBackend()
	ddb, err := core.OpenDynamic(mem, dynSpecs, core.Options{})
	must(t, err)
	dynOps(t, ddb.Tables)
	must(t, ddb.Close())

	tdb, err := core.Open[dynSubset](mem.Reopen(), core.Options{})
	must(t, err)
	defer tdb.Close()
	want := core.NewMemBackend()
	wdb, _ := core.Open[dynSubset](want, core.Options{})
	typedOps(t, wdb.Tables)
	if u, _ := tdb.Tables.Users.Get("u"); !reflect.DeepEqual(u, Account{Name: "U", Balance: -5, Tags: []string{"x"}}) {
		t.Fatalf("Users[u] = %+v", u)
	}
	if v, _ := tdb.Tables.Grid.Get(7, "a"); v != (Point{1, -2}) {
		t.Fatalf("Grid = %+v", v)
	}
	if !tdb.Tables.Tags.Has("k", 300) || tdb.Tables.Admins.Slice()[0] != "b" {
		t.Fatal("set or list lost")
	}
}

func TestDynamic_BadInput(t *testing.T) {
	_, err := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	must(t, err)
	db, _ := core.OpenDynamic(core.NewMemBackend(), dynSpecs, core.Options{})
	defer db.Close()
	users, _ := db.Tables.LookupTable("users")
	for _, bad := range [][]byte{nil, {0xc1}, {0x92, 0x01}, {0x01, 0x02}} {
		if err := users.Insert(core.RawKey(bad), enc(t, 1)); !errors.Is(err, core.ErrBadValue) {
			t.Errorf("key %x: %v", bad, err)
		}
		if bad == nil {
			continue // a nil RawValue is msgpack nil
		}
		if err := users.Insert(core.RawKey(enc(t, "k")), bad); !errors.Is(err, core.ErrBadValue) {
			t.Errorf("value %x: %v", bad, err)
		}
	}
	if users.Len() != 0 {
		t.Fatal("bad input was stored")
	}
	if _, err := db.Tables.List("nope"); !errors.Is(err, core.ErrUnknownTable) {
		t.Fatalf("unknown table: %v", err)
	}
	if _, err := db.Tables.List("users"); !errors.Is(err, core.ErrSchema) {
		t.Fatalf("wrong kind: %v", err)
	}
}

// A nil key is a key like any other: the replayed table holds the same
// key bytes (0xc0) as the table that inserted it, for every keyed kind.
func TestDynamic_NilKeySurvivesReplay(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.OpenDynamic(mem, dynSpecs, core.Options{})
	must(t, err)
	nilKey := core.RawKey([]byte{0xc0})
	users, _ := db.Tables.LookupTable("users")
	must(t, users.Insert(nilKey, enc(t, 1)))
	tags, _ := db.Tables.LookupSet("Tags")
	must(t, tags.Insert(nilKey, nilKey))
	grid, _ := db.Tables.LookupMap("Grid")
	must(t, grid.Insert(nilKey, nilKey, enc(t, 2)))
	must(t, db.Close())

	db, err = core.OpenDynamic(mem.Reopen(), dynSpecs, core.Options{})
	must(t, err)
	defer db.Close()
	users, _ = db.Tables.LookupTable("users")
	tags, _ = db.Tables.LookupSet("Tags")
	grid, _ = db.Tables.LookupMap("Grid")
	if !users.Has(nilKey) || !tags.Has(nilKey, nilKey) {
		t.Fatalf("after replay: users has nil key %v, tags has nil member %v", users.Has(nilKey), tags.Has(nilKey, nilKey))
	}
	if _, ok := grid.Get(nilKey, nilKey); !ok {
		t.Fatal("after replay: grid lost its nil keys")
	}
}
