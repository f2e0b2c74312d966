package core

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

// A large transaction does not leave its write buffer behind once it has
// committed: what stays for the next one is at most maxKeptWriteBuffer.
func TestCommit_ReleasesLargeWriteBuffer(t *testing.T) {
	type S struct{ T LookupTable[int, string] }
	db, err := Open[S](NewMemBackend(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := strings.Repeat("x", 1000)
	if err := db.Update(func(s *S) error {
		for i := range 3000 {
			if err := s.T.Insert(i, big); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := db.e.w.buf.Cap(); c > maxKeptWriteBuffer {
		t.Fatalf("write buffer kept at %d bytes after a 3 MB commit", c)
	}
}

// panicUndo is a custom table whose undo panics.
type panicUndo struct{ n int }

func (p *panicUndo) Kind() string { return "test.panic-undo" }
func (p *panicUndo) Apply([]byte) (func(), error) {
	p.n++
	return func() { panic("undo failed") }, nil
}
func (p *panicUndo) Compact(func([]byte) error) error { return nil }

// A panicking undo step must not leave the write lock held, and leaves
// the database refusing writes.
func TestTx_Rollback_PanickingUndoReleasesLock(t *testing.T) {
	type S struct {
		P Custom[panicUndo, *panicUndo]
		K LookupTable[string, int]
	}
	db, err := Open[S](NewMemBackend(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	func() {
		defer func() { _ = recover() }()
		_ = db.Update(func(tx *S) error {
			if err := tx.P.Apply([]byte{0x01}); err != nil {
				return err
			}
			return errors.New("abort")
		})
	}()
	done := make(chan error, 1)
	go func() { done <- db.Tables.K.Insert("next", 1) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPoisoned) {
			t.Fatalf("write after a panicking undo = %v, want ErrPoisoned (memory is unknown)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next write blocks: the write lock was never released")
	}
}

// When a sync fails, only the first waiter to run recoverLocked syncs
// the cut; every other failed waiter returns "rolled back" at once, before
// the truncation is durable. A crash then brings its commit back.
func TestCommitAsync_FailureReportedAfterCutDurable(t *testing.T) {
	type S struct{ T LookupTable[string, int] }
	disk := crashtest.New()
	db, err := Open[S](disk, Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The group sync fails (after writing the pages: they are durable);
	// the cut's sync is slow.
	disk.Fail(crashtest.Sync, crashtest.Rule{At: []int{1}, Err: errors.New("injected EIO"), Durable: true})
	release := make(chan struct{})
	var syncs atomic.Int32
	disk.SetBeforeSync(func(uint64) {
		if syncs.Add(1) == 2 {
			<-release
		}
	})

	tx1, _ := db.Begin()
	tx1.Tables.T.Insert("one", 1)
	w1, _ := tx1.CommitAsync()
	tx2, _ := db.Begin()
	tx2.Tables.T.Insert("two", 2)
	w2, _ := tx2.CommitAsync()

	type res struct {
		key string
		err error
	}
	out := make(chan res, 2)
	go func() { out <- res{"one", w1()} }()
	go func() { out <- res{"two", w2()} }()
	// While the cut's sync is held, no waiter may hear that its commit
	// was rolled back: a power loss now could still bring it back.
	select {
	case r := <-out:
		img := disk.CrashDurable()
		db2, err := Open[S](img, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := db2.Tables.T.Get(r.key); ok && r.err != nil {
			t.Errorf("commit %q was reported failed and rolled back, but is present after a crash", r.key)
		}
		t.Errorf("commit %q returned (%v) before the cut was durable", r.key, r.err)
	case <-time.After(time.Second):
	}
	close(release)
	for range 2 {
		if r := <-out; r.err == nil {
			t.Errorf("commit %q succeeded although its sync failed", r.key)
		}
	}
	img := disk.CrashDurable()
	db2, err := Open[S](img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := db2.Tables.T.Len(); n != 0 {
		t.Errorf("%d failed commits are in the log after a crash", n)
	}
}
