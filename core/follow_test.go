package core_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// shared lets a follower open the leader's MemBackend: its Close leaves the
// backend open for the leader, as another tab's connection would.
type shared struct{ *core.MemBackend }

func (shared) Close() error { return nil }

// leaderAndFollower opens a leader on a fresh MemBackend with a tap that
// queues every commit, and a read-only follower on the same backend.
func leaderAndFollower(t *testing.T) (leader, follower *core.DB[Schema], shipped func() []core.Committed) {
	t.Helper()
	mem := core.NewMemBackend()
	leader, err := core.Open[Schema](mem, core.Options{})
	must(t, err)
	t.Cleanup(func() { _ = leader.Close() })
	var mu sync.Mutex
	var queue []core.Committed
	leader.Tap(func(c core.Committed) {
		mu.Lock()
		queue = append(queue, c)
		mu.Unlock()
	})
	follower, err = core.Open[Schema](shared{mem}, core.Options{ReadOnly: true})
	must(t, err)
	t.Cleanup(func() { _ = follower.Close() })
	return leader, follower, func() []core.Committed {
		mu.Lock()
		defer mu.Unlock()
		q := queue
		queue = nil
		return q
	}
}

// A follower that applies the leader's shipped commits reads what the
// leader reads, its subscribers hear of each commit once and in order, and
// it ends at the leader's position.
func TestFollow_ApplyCommit_MirrorsLeader(t *testing.T) {
	leader, follower, shipped := leaderAndFollower(t)
	ch := make(chan core.Change, 100)
	cancel := follower.Subscribe(func(c core.Change) { ch <- c })
	defer cancel()

	must(t, leader.Tables.Owner.Insert("a"))
	must(t, leader.Update(func(s *Schema) error {
		must(t, s.Admins.Push("x"))
		return s.Users.Insert("u", Account{Name: "U", Balance: 3})
	}))
	_ = leader.Update(func(s *Schema) error {
		must(t, s.Admins.Push("rolled back"))
		return errors.New("no")
	})
	must(t, leader.Tables.Tags.Insert("t", 7))

	commits := shipped()
	if len(commits) != 3 {
		t.Fatalf("%d commits shipped, want 3", len(commits))
	}
	for _, c := range commits {
		if _, err := follower.ApplyCommit(c.Segment, c.Offset, c.Record); err != nil {
			t.Fatal(err)
		}
	}
	if got := []string{next(t, ch).Tables[0], fmt.Sprint(next(t, ch).Tables), next(t, ch).Tables[0]}; !slices.Equal(got, []string{"Owner", "[Admins users]", "Tags"}) {
		t.Fatalf("follower's changes: %v", got)
	}
	if o, _ := follower.Tables.Owner.Get(); o != "a" {
		t.Fatalf("owner %q", o)
	}
	if u, _ := follower.Tables.Users.Get("u"); u.Balance != 3 {
		t.Fatalf("user %+v", u)
	}
	if follower.Tables.Admins.Len() != 1 || !follower.Tables.Tags.Has("t", 7) {
		t.Fatal("follower misses a commit or has a rolled-back one")
	}
	if leader.Position() != follower.Position() {
		t.Fatalf("positions differ: leader %+v, follower %+v", leader.Position(), follower.Position())
	}
	// Applying any of them again is a duplicate, and changes nothing.
	for _, c := range commits {
		if _, err := follower.ApplyCommit(c.Segment, c.Offset, c.Record); !errors.Is(err, core.ErrDuplicate) {
			t.Fatalf("re-applied commit: %v, want ErrDuplicate", err)
		}
	}
	if follower.Tables.Admins.Len() != 1 {
		t.Fatal("a duplicate was applied")
	}
}

// A missed commit is a gap; CatchUp reads it (and any later one) from the
// backend, after which the shipped commits are duplicates.
func TestFollow_CatchUp_FillsGap(t *testing.T) {
	leader, follower, shipped := leaderAndFollower(t)
	must(t, leader.Tables.Owner.Insert("a"))
	must(t, leader.Tables.Admins.Push("b"))
	commits := shipped()
	if _, err := follower.ApplyCommit(commits[1].Segment, commits[1].Offset, commits[1].Record); !errors.Is(err, core.ErrGap) {
		t.Fatalf("second commit first: %v, want ErrGap", err)
	}
	changes, err := follower.CatchUp()
	must(t, err)
	if len(changes) != 2 || changes[0].Tables[0] != "Owner" || changes[1].Tables[0] != "Admins" {
		t.Fatalf("catch-up changes %+v", changes)
	}
	if _, err := follower.ApplyCommit(commits[1].Segment, commits[1].Offset, commits[1].Record); !errors.Is(err, core.ErrDuplicate) {
		t.Fatalf("after catch-up: %v, want ErrDuplicate", err)
	}
	if changes, err := follower.CatchUp(); err != nil || len(changes) != 0 {
		t.Fatalf("second catch-up: %v %v", changes, err)
	}
	if a, _ := follower.Tables.Admins.At(0); a != "b" {
		t.Fatalf("admins[0] %q", a)
	}
}

// After a compaction the follower cannot follow from its segment: CatchUp
// says to reopen, and a reopen has the leader's state.
func TestFollow_CatchUp_AfterCompactionMustReopen(t *testing.T) {
	leader, follower, _ := leaderAndFollower(t)
	must(t, leader.Tables.Owner.Insert("a"))
	must(t, leader.Compact())
	must(t, leader.Tables.Admins.Push("b"))
	if _, err := follower.CatchUp(); !errors.Is(err, core.ErrMustReopen) {
		t.Fatalf("catch-up after compaction: %v, want ErrMustReopen", err)
	}
}

// Hostile or damaged commit bytes are refused with an error, never a
// panic, and a refusal of the framing changes nothing.
func TestFollow_ApplyCommit_RefusesBadBytes(t *testing.T) {
	leader, follower, shipped := leaderAndFollower(t)
	must(t, leader.Tables.Owner.Insert("a"))
	c := shipped()[0]
	flipped := slices.Clone(c.Record)
	flipped[len(flipped)-1] ^= 0xff
	pos := follower.Position()
	for name, data := range map[string][]byte{
		"empty":       {},
		"short":       c.Record[:len(c.Record)-1],
		"crc":         flipped,
		"extra":       append(slices.Clone(c.Record), 1, 2, 3),
		"schema kind": schemaRecordOf(t, leader),
	} {
		if _, err := follower.ApplyCommit(pos.Segment, pos.Offset, data); err == nil || errors.Is(err, core.ErrDuplicate) {
			t.Fatalf("%s: %v, want a refusal", name, err)
		}
	}
	if _, ok := follower.Tables.Owner.Get(); ok {
		t.Fatal("a refused commit changed the follower")
	}
	if _, err := follower.ApplyCommit(c.Segment, c.Offset, c.Record); err != nil {
		t.Fatalf("the good commit after refusals: %v", err)
	}
}

// schemaRecordOf returns the first record of the leader's log: a schema
// record, which ApplyCommit must refuse.
func schemaRecordOf(t *testing.T, db *core.DB[Schema]) []byte {
	segs, err := db.Export()
	must(t, err)
	d := segs[0].Data
	n := int(d[0]) | int(d[1])<<8 | int(d[2])<<16 | int(d[3])<<24
	return d[:8+n]
}

// A scratch transaction on a follower sees its own writes and is undone;
// its Commit is refused. A write DB refuses the follower methods.
func TestFollow_TryBeginScratch(t *testing.T) {
	leader, follower, _ := leaderAndFollower(t)
	tx, ok, err := follower.TryBeginScratch()
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	must(t, tx.Tables.Admins.Push("x"))
	if tx.Tables.Admins.Len() != 1 {
		t.Fatal("scratch write not visible inside it")
	}
	if err := tx.Commit(); !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("scratch commit: %v, want ErrReadOnly", err)
	}
	if follower.Tables.Admins.Len() != 0 {
		t.Fatal("scratch write stayed")
	}
	if _, _, err := leader.TryBeginScratch(); !errors.Is(err, core.ErrNotFollower) {
		t.Fatalf("leader scratch: %v", err)
	}
	if _, err := leader.CatchUp(); !errors.Is(err, core.ErrNotFollower) {
		t.Fatalf("leader catch-up: %v", err)
	}
}

// A log that holds a reserved table (dbrs's own) opens with a schema that
// lacks it, without KeepUnknownTables, and keeps it through compaction.
func TestFollow_ReservedTableIsKept(t *testing.T) {
	mem := core.NewMemBackend()
	dyn, err := core.OpenDynamic(mem, []core.TableSpec{{Name: "n", Kind: core.KindSingle}, {Name: core.ReservedTablePrefix + "requests", Kind: core.KindLookupTable}}, core.Options{})
	must(t, err)
	must(t, dyn.Update(func(d *core.Dynamic) error {
		_, err := d.Do(core.ReservedTablePrefix+"requests", "insert", []byte{0x92, 0xa1, 'c', 0x01})
		return err
	}))
	must(t, dyn.Close())
	db, err := core.OpenDynamic(mem.Reopen(), []core.TableSpec{{Name: "n", Kind: core.KindSingle}}, core.Options{})
	must(t, err)
	must(t, db.Compact())
	must(t, db.Close())
}

// FuzzApplyCommit feeds a follower arbitrary commit bytes at its position:
// it must refuse them with an error or apply them, never panic, and a
// follower whose commit was refused half applied must then ask for a
// reopen instead of applying more.
func FuzzApplyCommit(f *testing.F) {
	mem := core.NewMemBackend()
	leader, err := core.Open[Schema](mem, core.Options{})
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	leader.Tap(func(c core.Committed) { seeds = append(seeds, c.Record) })
	must(f, leader.Tables.Owner.Insert("a"))
	must(f, leader.Tables.Users.Insert("u", Account{Name: "U"}))
	must(f, leader.Tables.Tags.Insert("t", 1))
	must(f, leader.Close())
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		follower, err := core.Open[Schema](mem.Reopen(), core.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer follower.Close()
		pos := follower.Position()
		_, err = follower.ApplyCommit(pos.Segment, pos.Offset, data)
		if err != nil && follower.Position() != pos {
			t.Fatalf("a refused commit moved the position from %+v to %+v", pos, follower.Position())
		}
		if err == nil && !pos.Before(follower.Position()) {
			t.Fatal("an applied commit did not move the position")
		}
	})
}
