package core_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

// withinDeadline runs fn on its own goroutine and fails the test if it has
// not returned within a generous deadline: a re-entrant call that is not
// detected hangs forever, and the test must say so instead of hanging too.
// It ends the test binary with a panic on a goroutine of its own rather than
// calling t.Fatal, because the test's cleanup (Close) would wait for the
// same lock.
func withinDeadline(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	select {
	case p := <-done:
		if p != nil {
			panic(p)
		}
	case <-time.After(30 * time.Second):
		go panic(what + ": still waiting after 30s (a deadlock dbrs did not report)")
		select {}
	}
}

// idleGoroutine keeps one more goroutine alive for the test, as an HTTP
// server would, so that Go's own "all goroutines are asleep" check can
// never report the deadlock in dbrs's place.
func idleGoroutine(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }()
	t.Cleanup(func() { close(stop) })
}

func TestReentrant_CallsInsideUpdateReturnErrReentrant(t *testing.T) {
	idleGoroutine(t)
	for _, tc := range []struct {
		name string
		call func(db *core.DB[Schema]) error
	}{
		{"write through db.Tables", func(db *core.DB[Schema]) error { return db.Tables.Owner.Insert("x") }},
		{"Update", func(db *core.DB[Schema]) error {
			return db.Update(func(*Schema) error { return nil })
		}},
		{"Begin", func(db *core.DB[Schema]) error { _, err := db.Begin(); return err }},
		{"Close", func(db *core.DB[Schema]) error { return db.Close() }},
		{"Compact", func(db *core.DB[Schema]) error { return db.Compact() }},
		{"Export", func(db *core.DB[Schema]) error { _, err := db.Export(); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, db := openMem(t)
			must(t, db.Tables.Owner.Insert("before"))
			var inner error
			withinDeadline(t, tc.name+" inside Update", func() {
				err := db.Update(func(tx *Schema) error {
					must(t, tx.Owner.Insert("during"))
					inner = tc.call(db)
					return inner
				})
				if !errors.Is(err, core.ErrReentrant) {
					t.Errorf("Update returned %v, want ErrReentrant", err)
				}
			})
			if !errors.Is(inner, core.ErrReentrant) {
				t.Fatalf("%s inside Update: %v, want ErrReentrant", tc.name, inner)
			}
			// The Update rolled back and released the lock: the database
			// is whole and usable.
			if v, _ := db.Tables.Owner.Get(); v != "before" {
				t.Fatalf("owner = %q after the rolled-back Update, want before", v)
			}
			must(t, db.Tables.Owner.Insert("after"))
			must(t, db.Close())
		})
	}
}

func TestReentrant_ReadThroughDBTablesInsideUpdatePanics(t *testing.T) {
	idleGoroutine(t)
	_, db := openMem(t)
	must(t, db.Tables.Owner.Insert("before"))
	var recovered any
	withinDeadline(t, "read inside Update", func() {
		defer func() { recovered = recover() }()
		_ = db.Update(func(tx *Schema) error {
			db.Tables.Owner.Get()
			return nil
		})
	})
	if err, ok := recovered.(error); !ok || !errors.Is(err, core.ErrReentrant) {
		t.Fatalf("read through db.Tables inside Update: recovered %v, want a panic with ErrReentrant", recovered)
	}
	must(t, db.Tables.Owner.Insert("after"))
	must(t, db.Close())
}

func TestReentrant_WriteInsideViewReturnsErrReentrant(t *testing.T) {
	idleGoroutine(t)
	_, db := openMem(t)
	var inner error
	withinDeadline(t, "write inside View", func() {
		must(t, db.View(func(s *Schema) error {
			inner = db.Tables.Owner.Insert("x")
			return nil
		}))
	})
	if !errors.Is(inner, core.ErrReentrant) {
		t.Fatalf("write through db.Tables inside View: %v, want ErrReentrant", inner)
	}
	must(t, db.Tables.Owner.Insert("after"))
	must(t, db.Close())
}

// A callback of one database that waits for another database, held by a
// callback on another goroutine, is not re-entrant: it waits, then
// succeeds.
func TestReentrant_WaitingForAnotherGoroutinesCallbackIsNotReentrant(t *testing.T) {
	_, db1 := openMem(t)
	_, db2 := openMem(t)
	holding := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		must(t, db1.Update(func(tx *Schema) error {
			close(holding)
			<-release
			return tx.Owner.Insert("first")
		}))
	}()
	<-holding
	var inner error
	withinDeadline(t, "db2's callback writing to db1", func() {
		must(t, db2.Update(func(tx *Schema) error {
			// Let the holder go once this goroutine waits for db1's
			// lock: its TryLock failed, and the slow path chose to wait.
			waits := core.LockWaits(db1)
			go func() {
				if !core.WaitFor(t, 20*time.Second, func() bool { return core.LockWaits(db1) > waits }) {
					t.Error("the write to db1 never waited for its lock")
				}
				close(release)
			}()
			inner = db1.Tables.Owner.Insert("second")
			return nil
		}))
	})
	wg.Wait()
	if inner != nil {
		t.Fatalf("write to db1 from db2's callback: %v, want it to wait and succeed", inner)
	}
	if v, _ := db1.Tables.Owner.Get(); v != "second" {
		t.Fatalf("db1 owner = %q, want second (written after the first Update)", v)
	}
	must(t, db1.Close())
	must(t, db2.Close())
}

// Many goroutines contending for one database, through Update, View,
// auto-commits and reads, never get ErrReentrant.
func TestReentrant_ContentionIsNotReentrant(t *testing.T) {
	_, db := openMem(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var err error
				switch (g + i) % 4 {
				case 0:
					err = db.Update(func(tx *Schema) error { return tx.Admins.Push("u") })
				case 1:
					err = db.View(func(s *Schema) error { s.Admins.Len(); return nil })
				case 2:
					err = db.Tables.Admins.Push("a")
				default:
					db.Tables.Admins.Len()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	must(t, db.Close())
}
