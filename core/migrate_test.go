package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

// Schema versions and upgrades (migrate.go): each kind of step, a failing
// upgrade, a newer stored version, and a crash at every write of an
// upgrade.

// migV1 is the schema at version 1.
type migV1 struct {
	Owner  core.Single[int64]                    `dbrs:"owner"`
	Queue  core.List[int64]                      `dbrs:"queue"`
	People core.LookupTable[string, int64]       `dbrs:"people"` // ages
	Groups core.LookupList[string, int64]        `dbrs:"groups"`
	Tags   core.LookupSet[string, int64]         `dbrs:"tags"`
	Scores core.LookupMap[string, string, int64] `dbrs:"scores"`
	Trash  core.LookupTable[string, string]      `dbrs:"trash"`
	Keep   core.LookupTable[string, string]      `dbrs:"keep"`
}

type person struct {
	Name string
	Age  int64
}

// migV2 is the schema at version 2: owner and queue hold strings, people
// became users of struct values, trash is gone, fresh is new.
type migV2 struct {
	Owner  core.Single[string]                    `dbrs:"owner"`
	Queue  core.List[string]                      `dbrs:"queue"`
	Users  core.LookupTable[string, person]       `dbrs:"users"`
	Groups core.LookupList[string, string]        `dbrs:"groups"`
	Tags   core.LookupSet[string, bool]           `dbrs:"tags"`
	Scores core.LookupMap[string, string, string] `dbrs:"scores"`
	Keep   core.LookupTable[string, string]       `dbrs:"keep"`
	Fresh  core.List[string]                      `dbrs:"fresh"`
}

func fillV1(t *testing.T, b core.Backend) {
	t.Helper()
	db, err := core.Open[migV1](b, core.Options{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(s *migV1) error {
		return errors.Join(
			s.Owner.Insert(7),
			s.Queue.Push(1), s.Queue.Push(2), s.Queue.Push(3),
			s.People.Insert("ann", 31), s.People.Insert("bob", 42),
			s.Groups.Push("a", 1), s.Groups.Push("a", 2), s.Groups.Push("b", 3),
			s.Tags.Insert("x", 1), s.Tags.Insert("x", 2), s.Tags.Insert("x", -3), s.Tags.Insert("y", 4),
			s.Scores.Insert("ann", "math", 9), s.Scores.Insert("bob", "art", 5),
			s.Trash.Insert("t", "gone"),
			s.Keep.Insert("k", "kept"),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// upgradeV2 is the upgrade from version 1 to 2, counting its runs.
func upgradeV2(runs *int) func(u *core.Upgrade) error {
	return func(u *core.Upgrade) error {
		*runs++
		if u.From != 1 || u.To != 2 {
			return fmt.Errorf("upgrade from %d to %d, want 1 to 2", u.From, u.To)
		}
		return errors.Join(stepsV2(u), u.Drop("trash"))
	}
}

// stepsV2 is the upgrade to version 2 but for dropping trash.
func stepsV2(u *core.Upgrade) error {
	return errors.Join(
		core.TransformSingle(u, "owner", func(v int64) (string, error) { return "#" + strconv.FormatInt(v, 10), nil }),
		core.TransformList(u, "queue", func(i int, v int64) (string, error) { return fmt.Sprintf("%d:%d", i, v), nil }),
		u.Rename("people", "users"),
		core.Transform(u, "users", func(k string, age int64) (person, error) { return person{Name: k, Age: age}, nil }),
		core.Transform(u, "groups", func(k string, v int64) (string, error) { return k + strconv.FormatInt(v, 10), nil }),
		core.Transform(u, "tags", func(_ string, v int64) (bool, error) { return v > 0, nil }),
		core.TransformMap(u, "scores", func(k1, k2 string, v int64) (string, error) {
			return fmt.Sprintf("%s/%s=%d", k1, k2, v), nil
		}),
	)
}

func checkV2(t *testing.T, db *core.DB[migV2]) {
	t.Helper()
	if v := db.Version(); v != 2 {
		t.Errorf("Version() = %d, want 2", v)
	}
	s := db.Tables
	if v, _ := s.Owner.Get(); v != "#7" {
		t.Errorf("owner = %q", v)
	}
	if got := s.Queue.Slice(); !slices.Equal(got, []string{"0:1", "1:2", "2:3"}) {
		t.Errorf("queue = %q", got)
	}
	if got := maps.Collect(s.Users.All()); !maps.Equal(got, map[string]person{"ann": {"ann", 31}, "bob": {"bob", 42}}) {
		t.Errorf("users = %v", got)
	}
	if got := s.Groups.Get("a"); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Errorf("groups[a] = %q", got)
	}
	if got := s.Groups.Get("b"); !slices.Equal(got, []string{"b3"}) {
		t.Errorf("groups[b] = %q", got)
	}
	// 1 and 2 both became true: one element.
	if x, y := s.Tags.Get("x"), s.Tags.Get("y"); len(x) != 2 || !s.Tags.Has("x", true) || !s.Tags.Has("x", false) || !slices.Equal(y, []bool{true}) {
		t.Errorf("tags[x] = %v, tags[y] = %v", x, y)
	}
	if v, _ := s.Scores.Get("ann", "math"); v != "ann/math=9" {
		t.Errorf("scores[ann][math] = %q", v)
	}
	if v, _ := s.Scores.Get("bob", "art"); v != "bob/art=5" {
		t.Errorf("scores[bob][art] = %q", v)
	}
	if v, _ := s.Keep.Get("k"); v != "kept" {
		t.Errorf("keep[k] = %q", v)
	}
}

// logTables lists the table names of the log in b.
func logTables(t *testing.T, b core.Backend) []string {
	t.Helper()
	specs, err := core.LogTables(b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

func TestUpgrade_RenameTransformDrop(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)

	runs := 0
	opts := core.Options{Version: 2, Upgrade: upgradeV2(&runs)}
	db, err := core.Open[migV2](mem.Reopen(), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkV2(t, db)
	if runs != 1 {
		t.Fatalf("upgrade ran %d times", runs)
	}
	if n := db.Tables.Fresh.Len(); n != 0 {
		t.Errorf("fresh, a new table, has %d items", n)
	}
	if err := db.Tables.Fresh.Push("new"); err != nil {
		t.Fatal(err)
	}
	segs, err := db.Export()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	mem2 := core.NewMemBackend()
	for _, s := range segs {
		if err := mem2.Install(s.ID, [][]byte{s.Data}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := logTables(t, mem2), []string{"fresh", "groups", "keep", "owner", "queue", "scores", "tags", "users"}; !slices.Equal(got, want) {
		t.Errorf("log tables after the upgrade: %q, want %q (trash and people gone)", got, want)
	}

	// Reopened at version 2, the upgrade does not run again.
	db, err = core.Open[migV2](mem2, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkV2(t, db)
	if runs != 1 {
		t.Fatalf("the upgrade ran again at a reopen: %d runs", runs)
	}
	if got := db.Tables.Fresh.Slice(); !slices.Equal(got, []string{"new"}) {
		t.Errorf("fresh = %q", got)
	}
	// Compaction keeps the version.
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = core.Open[migV2](mem2.Reopen(), opts)
	if err != nil {
		t.Fatalf("reopen after compaction: %v", err)
	}
	checkV2(t, db)
	if runs != 1 {
		t.Fatalf("the upgrade ran after compaction: %d runs", runs)
	}
}

// segmentsOf copies every segment of mem, to compare before and after.
func segmentsOf(t *testing.T, mem *core.MemBackend) map[uint64][]byte {
	t.Helper()
	ids, err := mem.Segments()
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64][]byte{}
	for _, id := range ids {
		if out[id], err = mem.ReadSegment(id); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameSegments(a, b map[uint64][]byte) bool { return maps.EqualFunc(a, b, bytes.Equal) }

func TestUpgrade_FailureLeavesTheDatabaseUntouched(t *testing.T) {
	errStep := errors.New("the step failed")
	cases := []struct {
		name    string
		upgrade func(u *core.Upgrade) error
		want    error
	}{
		{"the function fails", func(u *core.Upgrade) error {
			if err := u.Rename("people", "users"); err != nil {
				return err
			}
			return errStep
		}, errStep},
		{"a transform fails", func(u *core.Upgrade) error {
			return core.Transform(u, "people", func(k string, v int64) (person, error) {
				if k == "bob" {
					return person{}, errStep
				}
				return person{Name: k}, nil
			})
		}, errStep},
		{"a changed type is not transformed", func(u *core.Upgrade) error {
			return errors.Join(u.Rename("people", "users"), u.Drop("trash"),
				core.Transform(u, "users", func(k string, age int64) (person, error) { return person{Name: k, Age: age}, nil }))
		}, core.ErrBadEntry},
		{"an old table is left over", stepsV2, core.ErrUnknownTable},
		{"a missing table", func(u *core.Upgrade) error { return u.Drop("nope") }, core.ErrUnknownTable},
		{"a rename onto a table", func(u *core.Upgrade) error { return u.Rename("people", "keep") }, core.ErrSchema},
		{"the wrong transform for the kind", func(u *core.Upgrade) error {
			return core.Transform(u, "owner", func(_ string, v int64) (string, error) { return "", nil })
		}, core.ErrSchema},
		{"a value of the wrong old type", func(u *core.Upgrade) error {
			return core.TransformSingle(u, "owner", func(v string) (string, error) { return v, nil })
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := core.NewMemBackend()
			fillV1(t, mem)
			mem = mem.Reopen()
			before := segmentsOf(t, mem)
			_, err := core.Open[migV2](mem, core.Options{Version: 2, Upgrade: c.upgrade})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Open: %v, want %v", err, c.want)
			}
			t.Logf("Open: %v", err)
			if !sameSegments(before, segmentsOf(t, mem)) {
				t.Fatal("the failed upgrade changed the log")
			}
			db, err := core.Open[migV1](mem, core.Options{Version: 1})
			if err != nil {
				t.Fatalf("reopen at version 1: %v", err)
			}
			defer db.Close()
			if v, _ := db.Tables.People.Get("bob"); v != 42 {
				t.Errorf("people[bob] = %d after a failed upgrade", v)
			}
		})
	}
}

func TestOpen_NewerVersionIsRefused(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)
	for _, v := range []uint64{0} {
		_, err := core.Open[migV1](mem.Reopen(), core.Options{Version: v})
		if !errors.Is(err, core.ErrVersion) {
			t.Fatalf("Open at version %d of a version-1 log: %v, want ErrVersion", v, err)
		}
		t.Logf("Open: %v", err)
	}
	// Even with an upgrade function: it never runs backwards.
	_, err := core.Open[migV1](mem.Reopen(), core.Options{Upgrade: func(*core.Upgrade) error { panic("ran") }})
	if !errors.Is(err, core.ErrVersion) {
		t.Fatalf("Open: %v, want ErrVersion", err)
	}
}

func TestOpen_ReadOnlyOfAnOlderVersionIsRefused(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)
	mem = mem.Reopen()
	before := segmentsOf(t, mem)
	_, err := core.Open[migV2](mem, core.Options{Version: 2, ReadOnly: true, Upgrade: upgradeV2(new(int))})
	if !errors.Is(err, core.ErrVersion) {
		t.Fatalf("read-only Open of an older version: %v, want ErrVersion", err)
	}
	if !sameSegments(before, segmentsOf(t, mem)) {
		t.Fatal("a read-only open changed the log")
	}
	db, err := core.Open[migV1](mem, core.Options{Version: 1, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open at the stored version: %v", err)
	}
	db.Close()
}

func TestUpgrade_NotRunForANewDatabase(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[migV2](mem, core.Options{Version: 2, Upgrade: func(*core.Upgrade) error {
		return errors.New("ran on a new database")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if db.Version() != 2 {
		t.Errorf("Version() = %d", db.Version())
	}
	db.Close()
	if v, err := core.LogVersion(mem.Reopen()); v != 2 || err != nil {
		t.Fatalf("LogVersion = %d, %v; want 2", v, err)
	}
	if _, err := core.Open[migV1](mem.Reopen(), core.Options{Version: 1}); !errors.Is(err, core.ErrVersion) {
		t.Fatalf("the new database was not created at version 2: %v", err)
	}
}

func TestUpgrade_UnversionedLogIsVersionZero(t *testing.T) {
	type schema struct {
		N core.LookupTable[string, int64]
	}
	type schemaV1 struct {
		N core.LookupTable[string, string]
	}
	mem := core.NewMemBackend()
	db, err := core.Open[schema](mem, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.N.Insert("a", 1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Version 0 writes the schema record as before versions existed:
	// [1, tables], a fixarray of 2.
	_, err = core.WalkLog(mem.Reopen(), func(r core.LogRecord) error {
		if r.Kind == core.RecordSchema && r.Payload[0] != 0x92 {
			t.Errorf("a version-0 schema record starts with %#x, want 0x92", r.Payload[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var from uint64 = 99
	db2, err := core.Open[schemaV1](mem.Reopen(), core.Options{Version: 1, Upgrade: func(u *core.Upgrade) error {
		from = u.From
		return core.Transform(u, "N", func(k string, v int64) (string, error) { return strconv.FormatInt(v, 10), nil })
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if from != 0 {
		t.Errorf("From = %d, want 0", from)
	}
	if v, _ := db2.Tables.N.Get("a"); v != "1" {
		t.Errorf("N[a] = %q", v)
	}
}

func TestUpgrade_WithoutFunctionKeepsTheTables(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)
	db, err := core.Open[migV1](mem.Reopen(), core.Options{Version: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.Tables.People.Get("ann"); v != 31 || db.Version() != 5 {
		t.Errorf("people[ann] = %d, version %d", v, db.Version())
	}
}

func TestUpgrade_ElementsAndTransformRaw(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)
	var els []core.Element
	db, err := core.Open[migV1](mem.Reopen(), core.Options{Version: 2, Upgrade: func(u *core.Upgrade) error {
		var err error
		if els, err = u.Elements("scores"); err != nil {
			return err
		}
		// Every age becomes msgpack 1 (a positive fixint).
		return u.TransformRaw("people", func(i int, el core.Element) (core.RawValue, error) {
			if len(el.Keys) != 1 {
				return nil, fmt.Errorf("%d keys", len(el.Keys))
			}
			return core.RawValue{0x01}, nil
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if len(els) != 2 || len(els[0].Keys) != 2 {
		t.Fatalf("scores elements: %v", els)
	}
	if v, _ := db.Tables.People.Get("bob"); v != 1 {
		t.Errorf("people[bob] = %d, want 1", v)
	}
}

// stopBackend is a MemBackend on which the process stops: after limit
// mutating calls (Create, Append, Sync, Truncate, Install), every one
// fails and changes nothing.
type stopBackend struct {
	*crashtest.Disk
	mu    sync.Mutex
	calls int
	limit int
}

var errStopped = errors.New("stopped")

func (s *stopBackend) step() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls > s.limit {
		return errStopped
	}
	return nil
}

func (s *stopBackend) Create(id uint64) error {
	if err := s.step(); err != nil {
		return err
	}
	return s.Disk.Create(id)
}

func (s *stopBackend) Append(id uint64, off int64, p []byte) error {
	if err := s.step(); err != nil {
		return err
	}
	return s.Disk.Append(id, off, p)
}

func (s *stopBackend) Sync(id uint64) error {
	if err := s.step(); err != nil {
		return err
	}
	return s.Disk.Sync(id)
}

func (s *stopBackend) Truncate(id uint64, size int64) error {
	if err := s.step(); err != nil {
		return err
	}
	return s.Disk.Truncate(id, size)
}

func (s *stopBackend) Install(id uint64, chunks [][]byte, remove []uint64) error {
	if err := s.step(); err != nil {
		return err
	}
	return s.Disk.Install(id, chunks, remove)
}

// TestUpgrade_CrashAtEveryWrite stops the process at each write of an
// upgrading open in turn, then crashes (crashtest's weak model keeps any
// mix of what was not synced). What is left must be the old database
// (version 1, old values, which the next open upgrades) or the new one
// (version 2, which the next open does not upgrade again), never a mix.
func TestUpgrade_CrashAtEveryWrite(t *testing.T) {
	base := crashtest.New()
	fillV1(t, base)
	rng := rand.New(rand.NewPCG(1, 2))
	sawOld, sawNew := false, false
	for limit := 0; ; limit++ {
		sb := &stopBackend{Disk: base.Reopen(), limit: limit}
		db, err := core.Open[migV2](sb, core.Options{Version: 2, Upgrade: upgradeV2(new(int))})
		if err == nil {
			db.Close()
		}
		done := sb.calls <= limit // the open made all its writes
		for range 4 {
			crashed := sb.Disk.Crash(rng)
			old, oerr := core.Open[migV1](crashed.Reopen(), core.Options{Version: 1, ReadOnly: true})
			switch {
			case oerr == nil:
				sawOld = true
				if v, _ := old.Tables.People.Get("bob"); v != 42 || old.Tables.Trash.Len() != 1 {
					t.Fatalf("stop after %d writes: the old database is not as it was", limit)
				}
				old.Close()
			case errors.Is(oerr, core.ErrVersion):
				sawNew = true
			default:
				t.Fatalf("stop after %d writes: open at version 1: %v", limit, oerr)
			}
			runs := 0
			db, err := core.Open[migV2](crashed, core.Options{Version: 2, Upgrade: upgradeV2(&runs)})
			if err != nil {
				t.Fatalf("stop after %d writes: reopen: %v", limit, err)
			}
			checkV2(t, db)
			if (oerr == nil) != (runs == 1) {
				t.Fatalf("stop after %d writes: old database %v, the reopen upgraded %d times", limit, oerr == nil, runs)
			}
			db.Close()
		}
		if done {
			break
		}
	}
	if !sawOld || !sawNew {
		t.Fatalf("saw the old database %v, the new %v: the stops missed a side", sawOld, sawNew)
	}
}

func TestUpgrade_EncodeElementsAndSetValues(t *testing.T) {
	mem := core.NewMemBackend()
	fillV1(t, mem)
	db, err := core.Open[migV1](mem.Reopen(), core.Options{Version: 2, Upgrade: func(u *core.Upgrade) error {
		enc, err := u.EncodeElements("queue")
		if err != nil {
			return err
		}
		// [[[], 1], [[], 2], [[], 3]]
		if want := []byte{0x93, 0x92, 0x90, 0x01, 0x92, 0x90, 0x02, 0x92, 0x90, 0x03}; !bytes.Equal(enc, want) {
			return fmt.Errorf("EncodeElements = % x, want % x", enc, want)
		}
		if err := u.SetValues("queue", []byte{0x92, 0x07, 0x08}); !errors.Is(err, core.ErrBadValue) {
			return fmt.Errorf("SetValues with 2 values for 3 elements: %v", err)
		}
		return u.SetValues("queue", []byte{0x93, 0x07, 0x08, 0x09})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Tables.Queue.Slice(); !slices.Equal(got, []int64{7, 8, 9}) {
		t.Errorf("queue = %v", got)
	}
}

// TestUpgrade_StructKeysAndValues transforms a table whose keys are Go
// structs (msgpack maps in the log) and whose values change from a struct
// to another: the keys decode as the struct and are kept as they were.
func TestUpgrade_StructKeysAndValues(t *testing.T) {
	type key struct {
		Org  string
		Seat int
	}
	type oldV struct{ Name string }
	type newV struct {
		Name  string
		Label string
	}
	type before struct {
		Seats core.LookupTable[key, oldV]
	}
	type after struct {
		Seats core.LookupTable[key, newV]
	}
	mem := core.NewMemBackend()
	db, err := core.Open[before](mem, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Seats.Insert(key{"acme", 3}, oldV{"ann"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := core.Open[after](mem.Reopen(), core.Options{Version: 1, Upgrade: func(u *core.Upgrade) error {
		return core.Transform(u, "Seats", func(k key, v oldV) (newV, error) {
			return newV{Name: v.Name, Label: fmt.Sprintf("%s#%d", k.Org, k.Seat)}, nil
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if v, ok := db2.Tables.Seats.Get(key{"acme", 3}); !ok || v != (newV{"ann", "acme#3"}) {
		t.Fatalf("seats[acme 3] = %+v, %v", v, ok)
	}
}
