package core_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

func TestUpdate_CommitsAllTables(t *testing.T) {
	mem, db := openMem(t)
	err := db.Update(func(tx *Schema) error {
		if err := tx.Owner.Insert("o"); err != nil {
			return err
		}
		if err := tx.Admins.Push("a"); err != nil {
			return err
		}
		if v, ok := tx.Owner.Get(); !ok || v != "o" {
			return fmt.Errorf("transaction does not read its own write: %q", v)
		}
		return tx.Users.Insert("u", Account{Name: "U"})
	})
	must(t, err)
	if mem.Stats().Appends != 2 { // the schema record at open, then one commit
		t.Fatalf("appends = %d, want 2 (one record per transaction)", mem.Stats().Appends)
	}
	_, db = checkReplay(t, mem, db)
	if db.Tables.Admins.Len() != 1 || !db.Tables.Users.Has("u") {
		t.Fatal("transaction lost after reopen")
	}
	db.Close()
}

func TestUpdate_RollbackOnError(t *testing.T) {
	mem, db := openMem(t)
	must(t, db.Tables.Owner.Insert("before"))
	must(t, db.Tables.Admins.Push("keep"))
	appends := mem.Stats().Appends
	want := dump(db.Tables)
	boom := errors.New("boom")
	err := db.Update(func(tx *Schema) error {
		must(t, tx.Owner.Insert("after"))
		must(t, tx.Owner.Clear())
		must(t, tx.Admins.Push("x"))
		must(t, tx.Admins.RemoveAt(0))
		must(t, tx.Admins.InsertAt(0, "y"))
		must(t, tx.Users.Insert("u", Account{Tags: []string{"t"}}))
		must(t, tx.Users.Clear())
		must(t, tx.Posts.Push("k", "v"))
		must(t, tx.Tags.Insert("k", 1))
		must(t, tx.Grid.Insert(1, "a", Point{}))
		must(t, tx.Grid.Clear())
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v", err)
	}
	if got := dump(db.Tables); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rollback left changes:\n got %v\nwant %v", got, want)
	}
	if mem.Stats().Appends != appends {
		t.Fatal("rolled-back transaction was written")
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestUpdate_RollbackOnPanic(t *testing.T) {
	_, db := openMem(t)
	must(t, db.Tables.Users.Insert("a", Account{Name: "A"}))
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Fatalf("recovered %v, want the panic to propagate", r)
			}
		}()
		_ = db.Update(func(tx *Schema) error {
			must(t, tx.Users.Remove("a"))
			must(t, tx.Users.Insert("b", Account{}))
			panic("kaboom")
		})
	}()
	if !db.Tables.Users.Has("a") || db.Tables.Users.Has("b") {
		t.Fatal("panic did not roll back")
	}
	// The write lock was released: this would deadlock otherwise.
	must(t, db.Tables.Owner.Insert("still works"))
}

func TestTx_HandlesExpire(t *testing.T) {
	_, db := openMem(t)
	var leaked *Schema
	must(t, db.Update(func(tx *Schema) error { leaked = tx; return nil }))
	if err := leaked.Owner.Insert("x"); !errors.Is(err, core.ErrTxClosed) {
		t.Fatalf("write through a finished transaction: %v", err)
	}
	var view *Schema
	must(t, db.View(func(s *Schema) error {
		view = s
		if err := s.Owner.Insert("x"); !errors.Is(err, core.ErrReadOnly) {
			t.Fatalf("write in View: %v", err)
		}
		return nil
	}))
	if err := view.Owner.Insert("x"); !errors.Is(err, core.ErrTxClosed) {
		t.Fatalf("write through a finished view: %v", err)
	}
}

func TestView_Consistent(t *testing.T) {
	needsPreemption(t)
	_, db := openMem(t)
	// Writers move one unit between two keys; every view must see a sum of 100.
	must(t, db.Tables.Users.Insert("a", Account{Balance: 100}))
	must(t, db.Tables.Users.Insert("b", Account{Balance: 0}))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				from, to := "a", "b"
				if i%2 == 1 {
					from, to = to, from
				}
				err := db.Update(func(tx *Schema) error {
					f, _ := tx.Users.Get(from)
					g, _ := tx.Users.Get(to)
					if f.Balance == 0 {
						return nil
					}
					f.Balance--
					g.Balance++
					if err := tx.Users.Insert(from, f); err != nil {
						return err
					}
					return tx.Users.Insert(to, g)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range 300 {
				err := db.View(func(s *Schema) error {
					a, _ := s.Users.Get("a")
					b, _ := s.Users.Get("b")
					if a.Balance+b.Balance != 100 {
						return fmt.Errorf("view saw a half-applied transaction: %d + %d", a.Balance, b.Balance)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = db.Tables.Users.Get("a")
			}
		}()
	}
	readers.Wait()
	close(stop)
	wg.Wait()
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	mem, db := openMem(t)
	const writers, each = 4, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				must(t, db.Tables.Posts.Push(fmt.Sprint(w), fmt.Sprint(i)))
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				_ = db.Tables.Posts.Get(fmt.Sprint(w))
				for range db.Tables.Posts.Keys() {
				}
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		got := db.Tables.Posts.Get(fmt.Sprint(w))
		if len(got) != each {
			t.Fatalf("writer %d: %d items", w, len(got))
		}
		for i, v := range got {
			if v != fmt.Sprint(i) {
				t.Fatalf("writer %d: item %d = %s (order lost)", w, i, v)
			}
		}
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestCompactWhileWriting(t *testing.T) {
	mem, db := openMem(t)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				must(t, db.Tables.Users.Insert(fmt.Sprint(w, "-", i%20), Account{Balance: int64(i)}))
			}
		}()
	}
	for range 5 {
		must(t, db.Compact())
	}
	wg.Wait()
	must(t, db.Compact())
	if n := db.Tables.Users.Len(); n != 60 {
		t.Fatalf("Len = %d, want 60", n)
	}
	if got := db.Stats().Compactions; got != 6 {
		t.Fatalf("Compactions = %d", got)
	}
	_, db = checkReplay(t, mem, db)
	db.Close()
}

func TestClosed(t *testing.T) {
	_, db := openMem(t)
	must(t, db.Tables.Owner.Insert("x"))
	must(t, db.Close())
	must(t, db.Close())
	if err := db.Tables.Owner.Insert("y"); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	if err := db.Compact(); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Compact after Close: %v", err)
	}
	if v, _ := db.Tables.Owner.Get(); v != "x" {
		t.Fatal("reads after Close lost the final state")
	}
}

func TestClone(t *testing.T) {
	_, db := openMem(t)
	must(t, db.Tables.Users.Insert("a", Account{Tags: []string{"t"}}))
	c, err := db.Clone()
	must(t, err)
	defer c.Close()
	must(t, c.Tables.Users.Insert("b", Account{}))
	must(t, db.Tables.Users.Remove("a"))
	if db.Tables.Users.Has("b") || !c.Tables.Users.Has("a") {
		t.Fatal("clone shares state with the original")
	}
}

func TestAutoCompaction(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[Schema](mem, core.Options{CompactMinBytes: 64 << 10, CompactRatio: 2})
	must(t, err)
	defer db.Close()
	for i := range 5000 {
		must(t, db.Tables.Users.Insert(fmt.Sprint(i%10), Account{Balance: int64(i)}))
	}
	// Compaction runs in the background: wait until it has run and shrunk
	// the log (WaitFor blocks between polls, so on js/wasm the compactor
	// gets to run).
	compacted := func() bool {
		s := db.Stats()
		return s.Compactions > 0 && s.LogBytes <= 3*(64<<10)
	}
	if !core.WaitFor(t, 10*time.Second, compacted) {
		s := db.Stats()
		t.Fatalf("after 5000 commits: %d automatic compactions, log of %d bytes", s.Compactions, s.LogBytes)
	}
}

func TestStats_LiveBytesTracksCompactedSize(t *testing.T) {
	mem, db := openMem(t)
	s := db.Tables
	for i := range 300 {
		k := fmt.Sprint(i % 40)
		must(t, s.Users.Insert(k, Account{Name: k, Balance: int64(i), Tags: []string{"x"}}))
		must(t, s.Posts.Push(k, fmt.Sprint(i)))
		must(t, s.Tags.Insert(k, i%7))
		must(t, s.Grid.Insert(i%5, k, Point{int32(i), 1}))
		must(t, s.Admins.Push(k))
		must(t, s.Owner.Insert(k))
		if i%3 == 0 {
			must(t, s.Posts.RemoveAt(k, 0))
			_ = s.Tags.Remove(k, i%7)
			must(t, s.Admins.RemoveAt(0))
		}
		if i%50 == 0 {
			must(t, s.Grid.ClearKey(i%5))
			must(t, s.Users.Remove(k))
		}
	}
	// A rolled-back transaction must not move the estimate.
	before := db.Stats().LiveBytes
	_ = db.Update(func(tx *Schema) error {
		must(t, tx.Users.Insert("big", Account{Name: string(make([]byte, 5000))}))
		must(t, tx.Posts.ClearKey("1"))
		must(t, tx.Tags.Clear())
		return errors.New("no")
	})
	if got := db.Stats().LiveBytes; got != before {
		t.Fatalf("rollback moved LiveBytes from %d to %d", before, got)
	}
	check := func(when string, db *core.DB[Schema]) {
		t.Helper()
		est := db.Stats().LiveBytes
		must(t, db.Compact())
		st := db.Stats()
		// After compaction the log is the snapshot (its schema record, chunk
		// headers and end record are a few hundred bytes) plus the new
		// active segment's schema record.
		if diff := st.LogBytes - est; diff < 0 || diff > 600 {
			t.Fatalf("%s: LiveBytes estimated %d, compacted log is %d bytes", when, est, st.LogBytes)
		}
		if st.LiveBytes != est {
			t.Fatalf("%s: compaction changed the estimate from %d to %d", when, est, st.LiveBytes)
		}
	}
	check("live", db)
	must(t, db.Close())
	db, err := core.Open[Schema](mem.Reopen(), core.Options{})
	must(t, err)
	defer db.Close()
	check("after reopen", db)
}

type undoSchema struct {
	Vals core.LookupTable[string, string] // held as values
	Encs core.LookupTable[int, []string]  // held as their encodings
	Log  core.List[string]                // undone by a closure, between the others
	Nums core.LookupTable[int, int]       // a third typed log, interleaved
}

func undoDump(s *undoSchema) string {
	vals := map[string]string{}
	for k, v := range s.Vals.All() {
		vals[k] = v
	}
	encs := map[int][]string{}
	for k, v := range s.Encs.All() {
		encs[k] = v
	}
	nums := map[int]int{}
	for k, v := range s.Nums.All() {
		nums[k] = v
	}
	return fmt.Sprint(vals, encs, s.Log.Slice(), nums)
}

// undoWork makes many changes to few keys of every table, interleaved,
// including removes and a Clear in the middle, then fails as end says.
func undoWork(t *testing.T, s *undoSchema, end func() error) error {
	for i := range 3000 {
		k := i % 3
		must(t, s.Vals.Insert(fmt.Sprint("k", k), fmt.Sprint("v", i)))
		must(t, s.Encs.Insert(k, []string{fmt.Sprint(i), "x"}))
		if i%5 == 0 {
			must(t, s.Log.Push(fmt.Sprint(i)))
		}
		if i%7 == 0 {
			must(t, s.Vals.Remove(fmt.Sprint("k", k)))
			must(t, s.Nums.Insert(i, i))
		}
		if i%11 == 0 && s.Encs.Has(k) {
			must(t, s.Encs.Remove(k))
		}
		if i == 1500 {
			must(t, s.Vals.Clear())
			must(t, s.Nums.Clear())
		}
	}
	return end()
}

func openUndo(t *testing.T) (*core.MemBackend, *core.DB[undoSchema]) {
	t.Helper()
	mem := core.NewMemBackend()
	db, err := core.Open[undoSchema](mem, core.Options{})
	must(t, err)
	must(t, db.Update(func(s *undoSchema) error {
		must(t, s.Vals.Insert("k0", "before"))
		must(t, s.Vals.Insert("other", "kept"))
		must(t, s.Encs.Insert(1, []string{"before"}))
		must(t, s.Log.Push("before"))
		return s.Nums.Insert(-1, -1)
	}))
	return mem, db
}

// A rollback after thousands of changes to the same keys, across tables
// whose undo logs interleave with closures, restores the state and the
// live-bytes estimate exactly, whether fn returns an error or panics.
func TestUpdate_RollbackManyOpsOnSameKeys(t *testing.T) {
	for _, how := range []string{"error", "panic"} {
		t.Run(how, func(t *testing.T) {
			mem, db := openUndo(t)
			defer db.Close()
			want, live := undoDump(db.Tables), db.Stats().LiveBytes
			appends := mem.Stats().Appends
			boom := errors.New("boom")
			func() {
				defer func() {
					if r := recover(); how == "panic" && r != "kaboom" {
						t.Fatalf("recovered %v, want the panic to propagate", r)
					}
				}()
				err := db.Update(func(s *undoSchema) error {
					return undoWork(t, s, func() error {
						if how == "panic" {
							panic("kaboom")
						}
						return boom
					})
				})
				if !errors.Is(err, boom) {
					t.Fatalf("Update returned %v", err)
				}
			}()
			if got := undoDump(db.Tables); got != want {
				t.Fatalf("rollback left changes:\n got %s\nwant %s", got, want)
			}
			if got := db.Stats().LiveBytes; got != live {
				t.Fatalf("LiveBytes %d after the rollback, want %d", got, live)
			}
			if mem.Stats().Appends != appends {
				t.Fatal("a rolled-back transaction was written")
			}
			// The same work committed replays to the same state.
			must(t, db.Update(func(s *undoSchema) error { return undoWork(t, s, func() error { return nil }) }))
			want = undoDump(db.Tables)
			must(t, db.Close())
			db, err := core.Open[undoSchema](mem.Reopen(), core.Options{})
			must(t, err)
			if got := undoDump(db.Tables); got != want {
				t.Fatalf("replay differs:\n got %s\nwant %s", got, want)
			}
			must(t, db.Close())
		})
	}
}

type rawSchema struct {
	T core.LookupTable[int, core.RawValue]
}

// An op that fails inside a transaction undoes only its own changes, also
// when they extend the undo log of the changes made before it, and the
// transaction commits the rest.
func TestTx_FailedOpUndoesOnlyItself(t *testing.T) {
	mem := core.NewMemBackend()
	db, err := core.Open[rawSchema](mem, core.Options{})
	must(t, err)
	str := func(s string) core.RawValue { return core.RawValue(enc(t, s)) }
	dumpRaw := func(s *rawSchema) string {
		m := map[int]string{}
		for k, v := range s.T.All() {
			m[k] = string(v)
		}
		return fmt.Sprint(m)
	}
	var want string
	must(t, db.Update(func(s *rawSchema) error {
		for i := range 10 {
			must(t, s.T.Insert(i%3, str(fmt.Sprint("a", i))))
		}
		want = dumpRaw(s)
		bad := func(yield func(int, core.RawValue) bool) {
			for i := range 50 {
				if !yield(i%5, str(fmt.Sprint("b", i))) {
					return
				}
			}
			yield(7, core.RawValue{0xc1}) // not msgpack
		}
		if err := s.T.InsertMany(bad); err == nil {
			t.Fatal("InsertMany of a bad value succeeded")
		}
		if got := dumpRaw(s); got != want {
			t.Fatalf("after the failed op:\n got %s\nwant %s", got, want)
		}
		must(t, s.T.Insert(9, str("c")))
		want = dumpRaw(s)
		return nil
	}))
	if got := dumpRaw(db.Tables); got != want {
		t.Fatalf("after the commit:\n got %s\nwant %s", got, want)
	}
	must(t, db.Close())
	db, err = core.Open[rawSchema](mem.Reopen(), core.Options{})
	must(t, err)
	defer db.Close()
	if got := dumpRaw(db.Tables); got != want {
		t.Fatalf("after replay:\n got %s\nwant %s", got, want)
	}
}

// An insert that adds a key is logged apart from the other changes
// (lookupUndo.added). Undoing a failed op, or a whole transaction,
// restores the state and LiveBytes exactly, whatever the mix: keys added,
// replaced, removed and added again, inside the failed op and before it.
func TestTx_UndoMixesAddedKeysAndChanges(t *testing.T) {
	str := func(s string) core.RawValue { return core.RawValue(enc(t, s)) }
	dump := func(s *rawSchema) string {
		m := map[int]string{}
		for k, v := range s.T.All() {
			m[k] = string(v)
		}
		return fmt.Sprint(m)
	}
	// run makes the changes, then (if failOp) an op that fails after
	// changes of its own, and ends the transaction with end.
	run := func(failOp bool, end error) (string, int64) {
		db, err := core.Open[rawSchema](core.NewMemBackend(), core.Options{})
		must(t, err)
		defer db.Close()
		must(t, db.Tables.T.Insert(0, str("before")))
		err = db.Update(func(s *rawSchema) error {
			for i := range 10 {
				must(t, s.T.Insert(i%3, str(fmt.Sprint("a", i))))
			}
			must(t, s.T.Remove(1))
			must(t, s.T.Insert(1, str("again")))
			if failOp {
				bad := func(yield func(int, core.RawValue) bool) {
					for i := range 30 {
						if !yield(i%6, str(fmt.Sprint("b", i))) {
							return
						}
					}
					yield(7, core.RawValue{0xc1}) // not msgpack
				}
				if err := s.T.InsertMany(bad); err == nil {
					t.Fatal("InsertMany of a bad value succeeded")
				}
			}
			return end
		})
		if err != end {
			t.Fatalf("Update returned %v, want %v", err, end)
		}
		return dump(db.Tables), db.Stats().LiveBytes
	}
	wantDump, wantLive := run(false, nil)
	if got, live := run(true, nil); got != wantDump || live != wantLive {
		t.Fatalf("after a failed op: %s, LiveBytes %d; want %s, %d", got, live, wantDump, wantLive)
	}
	db, err := core.Open[rawSchema](core.NewMemBackend(), core.Options{})
	must(t, err)
	must(t, db.Tables.T.Insert(0, str("before")))
	wantDump, wantLive = dump(db.Tables), db.Stats().LiveBytes
	must(t, db.Close())
	if got, live := run(true, errors.New("boom")); got != wantDump || live != wantLive {
		t.Fatalf("after a rollback: %s, LiveBytes %d; want %s, %d", got, live, wantDump, wantLive)
	}
}

// A transaction written in many chunks whose Append fails part way (some
// chunks written, one half written) is undone in memory and cut from the
// log: the database goes on, and a crash or reopen keeps none of it.
func TestTx_LargeCommitFailsPartWay(t *testing.T) {
	d := crashtest.New()
	db, err := core.Open[undoSchema](d, core.Options{})
	must(t, err)
	must(t, db.Tables.Vals.Insert("a", "before"))
	want, live, logBytes := undoDump(db.Tables), db.Stats().LiveBytes, db.Stats().LogBytes
	val := strings.Repeat("v", 100)
	appends := d.Count(crashtest.Append)
	d.Fail(crashtest.Append, crashtest.Rule{At: []int{3}, Err: errFaultENOSPC, Partial: true})
	err = db.Update(func(s *undoSchema) error {
		must(t, s.Vals.Insert("a", "changed"))
		for i := range 20_000 { // about 2.5 MB: ten chunks
			must(t, s.Vals.Insert(fmt.Sprint("key", i), val))
		}
		return nil
	})
	if !errors.Is(err, errFaultENOSPC) {
		t.Fatalf("Update with a failed Append: %v", err)
	}
	if n := d.Count(crashtest.Append) - appends; n != 3 || d.Injected(crashtest.Append) != 1 {
		t.Fatalf("%d Appends, want the failure at the third", n)
	}
	if got := undoDump(db.Tables); got != want {
		t.Fatalf("after the failed commit:\n got %.200s\nwant %s", got, want)
	}
	if s := db.Stats(); s.LiveBytes != live || s.LogBytes != logBytes {
		t.Fatalf("LiveBytes %d, LogBytes %d after the failed commit; want %d, %d", s.LiveBytes, s.LogBytes, live, logBytes)
	}
	d.Heal()
	must(t, db.Tables.Vals.Insert("b", "after"))
	want = undoDump(db.Tables)
	must(t, db.Close())
	for _, disk := range []*crashtest.Disk{d.CrashDurable(), d.Reopen()} {
		db, err := core.Open[undoSchema](disk, core.Options{ReadOnly: true})
		must(t, err)
		if got := undoDump(db.Tables); got != want {
			t.Fatalf("after reopen:\n got %.200s\nwant %s", got, want)
		}
		must(t, db.Close())
	}
}
