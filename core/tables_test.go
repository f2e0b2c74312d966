package core_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

type Account struct {
	Name    string
	Balance int64
	Tags    []string // a reference: held as encoded bytes
}

type Point struct{ X, Y int32 } // no references: held by value

type Schema struct {
	Owner  core.Single[string]
	Pos    core.Single[Point]
	Admins core.List[string]
	Accts  core.List[Account]
	Users  core.LookupTable[string, Account] `dbrs:"users"`
	Posts  core.LookupList[string, string]
	Tags   core.LookupSet[string, int]
	Grid   core.LookupMap[int, string, Point]
}

// dump renders every table as plain, sorted Go values.
func dump(s *Schema) map[string]any {
	out := map[string]any{}
	if v, ok := s.Owner.Get(); ok {
		out["owner"] = v
	}
	if v, ok := s.Pos.Get(); ok {
		out["pos"] = v
	}
	out["admins"] = s.Admins.Slice()
	out["accts"] = s.Accts.Slice()
	users := map[string]Account{}
	for k, v := range s.Users.All() {
		users[k] = v
	}
	out["users"] = users
	posts := map[string][]string{}
	for k := range s.Posts.Keys() {
		posts[k] = s.Posts.Get(k)
	}
	out["posts"] = posts
	tags := map[string][]int{}
	for k := range s.Tags.Keys() {
		v := s.Tags.Get(k)
		sort.Ints(v)
		tags[k] = v
	}
	out["tags"] = tags
	grid := map[int]map[string]Point{}
	for k := range s.Grid.Keys() {
		grid[k] = s.Grid.GetInner(k)
	}
	out["grid"] = grid
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkReplay asserts the replay equivalence: the state before a reopen,
// after it, and after compaction plus another reopen are the same.
func checkReplay(t *testing.T, mem *core.MemBackend, db *core.DB[Schema]) (*core.MemBackend, *core.DB[Schema]) {
	t.Helper()
	before := dump(db.Tables)
	must(t, db.Close())
	mem = mem.Reopen()
	db, err := core.Open[Schema](mem, core.Options{})
	must(t, err)
	if got := dump(db.Tables); !reflect.DeepEqual(got, before) {
		t.Fatalf("after reopen:\n got %v\nwant %v", got, before)
	}
	must(t, db.Compact())
	if got := dump(db.Tables); !reflect.DeepEqual(got, before) {
		t.Fatalf("after compact:\n got %v\nwant %v", got, before)
	}
	must(t, db.Close())
	mem = mem.Reopen()
	db, err = core.Open[Schema](mem, core.Options{})
	must(t, err)
	if got := dump(db.Tables); !reflect.DeepEqual(got, before) {
		t.Fatalf("after compact and reopen:\n got %v\nwant %v", got, before)
	}
	return mem, db
}

func openMem(t *testing.T) (*core.MemBackend, *core.DB[Schema]) {
	t.Helper()
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{})
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return mem, db
}

func TestSingle(t *testing.T) {
	mem, db := openMem(t)
	s := db.Tables
	if _, ok := s.Owner.Get(); ok {
		t.Fatal("new Single is not empty")
	}
	must(t, s.Owner.Insert("a"))
	must(t, s.Owner.Insert("b"))
	must(t, s.Pos.Insert(Point{1, 2}))
	if v, ok := s.Owner.Get(); !ok || v != "b" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	mem, db = checkReplay(t, mem, db)
	must(t, db.Tables.Owner.Clear())
	must(t, db.Tables.Owner.Clear())
	if _, ok := db.Tables.Owner.Get(); ok {
		t.Fatal("Clear left a value")
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestList(t *testing.T) {
	mem, db := openMem(t)
	l := &db.Tables.Admins
	for _, v := range []string{"a", "b", "c"} {
		must(t, l.Push(v))
	}
	must(t, l.InsertAt(0, "z"))
	must(t, l.InsertAt(4, "end"))
	must(t, l.SetAt(1, "A"))
	must(t, l.RemoveAt(2))
	v, err := l.Pop()
	must(t, err)
	if v != "end" {
		t.Fatalf("Pop = %q", v)
	}
	if got, want := l.Slice(), []string{"z", "A", "c"}; !slices.Equal(got, want) {
		t.Fatalf("list = %v, want %v", got, want)
	}
	if x, err := l.At(2); err != nil || x != "c" || l.Len() != 3 {
		t.Fatalf("At(2) = %q, %v; Len = %d", x, err, l.Len())
	}
	for _, bad := range []int{-1, 3, 100} {
		if _, err := l.At(bad); !errors.Is(err, core.ErrIndex) {
			t.Errorf("At(%d) err = %v", bad, err)
		}
		if err := l.SetAt(bad, "x"); !errors.Is(err, core.ErrIndex) {
			t.Errorf("SetAt(%d) err = %v", bad, err)
		}
		if err := l.RemoveAt(bad); !errors.Is(err, core.ErrIndex) {
			t.Errorf("RemoveAt(%d) err = %v", bad, err)
		}
	}
	if err := l.InsertAt(4, "x"); !errors.Is(err, core.ErrIndex) {
		t.Errorf("InsertAt(4) err = %v", err)
	}
	must(t, db.Tables.Accts.Push(Account{Name: "n", Tags: []string{"t"}}))
	mem, db = checkReplay(t, mem, db)
	l = &db.Tables.Admins
	must(t, l.Clear())
	if _, err := l.Pop(); !errors.Is(err, core.ErrEmpty) {
		t.Errorf("Pop on empty: %v", err)
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestLookupTable(t *testing.T) {
	mem, db := openMem(t)
	u := &db.Tables.Users
	must(t, u.Insert("a", Account{Name: "A", Balance: 1, Tags: []string{"x"}}))
	must(t, u.Insert("b", Account{Name: "B"}))
	must(t, u.Insert("a", Account{Name: "A2", Balance: 2}))
	if v, ok := u.Get("a"); !ok || v.Name != "A2" || v.Balance != 2 {
		t.Fatalf("Get(a) = %+v, %v", v, ok)
	}
	if !u.Has("b") || u.Has("zz") || u.Len() != 2 {
		t.Fatal("Has/Len wrong")
	}
	keys := slices.Sorted(u.Keys())
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("Keys = %v", keys)
	}
	if err := u.Remove("zz"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Remove missing: %v", err)
	}
	must(t, u.Remove("b"))
	mem, db = checkReplay(t, mem, db)
	must(t, db.Tables.Users.Clear())
	if db.Tables.Users.Len() != 0 {
		t.Fatal("Clear left keys")
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestReadsReturnCopies(t *testing.T) {
	_, db := openMem(t)
	tags := []string{"x"}
	must(t, db.Tables.Users.Insert("a", Account{Tags: tags}))
	tags[0] = "changed by caller after insert"
	v, _ := db.Tables.Users.Get("a")
	if v.Tags[0] != "x" {
		t.Fatalf("insert aliased the caller's slice: %v", v.Tags)
	}
	v.Tags[0] = "changed by caller after get"
	if v2, _ := db.Tables.Users.Get("a"); v2.Tags[0] != "x" {
		t.Fatalf("get aliased internal state: %v", v2.Tags)
	}
	must(t, db.Tables.Posts.Push("k", "p"))
	got := db.Tables.Posts.Get("k")
	got[0] = "mutated"
	if db.Tables.Posts.Get("k")[0] != "p" {
		t.Fatal("LookupList.Get aliased internal state")
	}
}

func TestLookupList(t *testing.T) {
	mem, db := openMem(t)
	p := &db.Tables.Posts
	for i := range 4 {
		must(t, p.Push("a", fmt.Sprint(i)))
	}
	must(t, p.Push("b", "x"))
	must(t, p.RemoveAt("a", 1))
	if got := p.Get("a"); !slices.Equal(got, []string{"0", "2", "3"}) {
		t.Fatalf("Get(a) = %v", got)
	}
	if err := p.RemoveAt("a", 3); !errors.Is(err, core.ErrIndex) {
		t.Fatalf("RemoveAt bad index: %v", err)
	}
	if err := p.RemoveAt("zz", 0); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("RemoveAt missing key: %v", err)
	}
	must(t, p.RemoveAt("b", 0))
	if p.Has("b") || p.Get("b") != nil {
		t.Fatal("emptied list still present")
	}
	mem, db = checkReplay(t, mem, db)
	p = &db.Tables.Posts
	must(t, p.Push("c", "y"))
	must(t, p.ClearKey("c"))
	if err := p.ClearKey("c"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ClearKey missing: %v", err)
	}
	mem, db = checkReplay(t, mem, db)
	must(t, db.Tables.Posts.Clear())
	_, db = checkReplay(t, mem, db)
	if db.Tables.Posts.Len() != 0 {
		t.Fatal("Clear left keys")
	}
	db.Close()
}

func TestLookupSet(t *testing.T) {
	mem, db := openMem(t)
	s := &db.Tables.Tags
	must(t, s.Insert("a", 1))
	must(t, s.Insert("a", 2))
	must(t, s.Insert("a", 2))
	must(t, s.Insert("b", 3))
	if !s.Has("a", 2) || s.Has("a", 3) || s.Len() != 2 {
		t.Fatal("Has/Len wrong")
	}
	if err := s.Remove("a", 9); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Remove missing member: %v", err)
	}
	must(t, s.Remove("a", 1))
	got := s.Get("a")
	if !slices.Equal(got, []int{2}) {
		t.Fatalf("Get(a) = %v", got)
	}
	mem, db = checkReplay(t, mem, db)
	s = &db.Tables.Tags
	must(t, s.ClearKey("b"))
	if err := s.ClearKey("b"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ClearKey missing: %v", err)
	}
	mem, db = checkReplay(t, mem, db)
	must(t, db.Tables.Tags.Clear())
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestLookupMap(t *testing.T) {
	mem, db := openMem(t)
	g := &db.Tables.Grid
	must(t, g.Insert(1, "a", Point{1, 1}))
	must(t, g.Insert(1, "b", Point{2, 2}))
	must(t, g.Insert(2, "a", Point{3, 3}))
	must(t, g.Insert(1, "a", Point{9, 9}))
	if v, ok := g.Get(1, "a"); !ok || v != (Point{9, 9}) {
		t.Fatalf("Get = %v %v", v, ok)
	}
	if inner := g.GetInner(1); !maps.Equal(inner, map[string]Point{"a": {9, 9}, "b": {2, 2}}) {
		t.Fatalf("GetInner = %v", inner)
	}
	if err := g.Remove(1, "zz"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Remove missing: %v", err)
	}
	must(t, g.Remove(2, "a"))
	if g.Len() != 1 || g.GetInner(2) != nil {
		t.Fatal("emptied inner map still present")
	}
	mem, db = checkReplay(t, mem, db)
	g = &db.Tables.Grid
	must(t, g.ClearKey(1))
	if err := g.ClearKey(1); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ClearKey missing: %v", err)
	}
	must(t, g.Insert(5, "q", Point{}))
	mem, db = checkReplay(t, mem, db)
	must(t, db.Tables.Grid.Clear())
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestFailedOpWritesNothing(t *testing.T) {
	mem, db := openMem(t)
	must(t, db.Tables.Owner.Insert("x"))
	before := mem.Stats().Appends
	if err := db.Tables.Admins.RemoveAt(0); !errors.Is(err, core.ErrIndex) {
		t.Fatal(err)
	}
	if err := db.Tables.Users.Remove("nope"); !errors.Is(err, core.ErrNotFound) {
		t.Fatal(err)
	}
	if after := mem.Stats().Appends; after != before {
		t.Fatalf("failed ops appended %d records", after-before)
	}
}

func equalDump(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }

// needsPreemption skips tests whose goroutines loop until told to stop:
// js/wasm runs goroutines on one thread without preemption, so such a loop
// starves the goroutine that would stop it.
func needsPreemption(t *testing.T) {
	if runtime.GOOS == "js" {
		t.Skip("needs preemptive scheduling of goroutines (not available on js/wasm)")
	}
}
