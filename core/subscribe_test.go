package core_test

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

// next waits for the next change, or fails after a deadline.
func next(t *testing.T, ch <-chan core.Change) core.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change delivered in 10s")
	}
	return core.Change{}
}

// A subscription gets every durable commit once, in order, with the tables
// it wrote; a rolled-back transaction and a failed op deliver nothing.
func TestSubscribe_DeliversDurableCommitsInOrder(t *testing.T) {
	for _, mode := range []core.SyncMode{core.SyncAlways, core.SyncNever} {
		db, err := core.Open[Schema](core.NewMemBackend(), core.Options{Sync: mode})
		must(t, err)
		ch := make(chan core.Change, 100)
		cancel := db.Subscribe(func(c core.Change) { ch <- c })
		must(t, db.Tables.Owner.Insert("a"))
		_ = db.Update(func(s *Schema) error {
			must(t, s.Admins.Push("x"))
			return errors.New("roll back")
		})
		if err := db.Tables.Users.Remove("nobody"); !errors.Is(err, core.ErrNotFound) {
			t.Fatal(err)
		}
		must(t, db.Update(func(s *Schema) error {
			must(t, s.Users.Insert("u", Account{Name: "U"}))
			must(t, s.Admins.Push("y"))
			return s.Users.Insert("v", Account{Name: "V"})
		}))
		first, second := next(t, ch), next(t, ch)
		if !reflect.DeepEqual(first, core.Change{Seq: 1, Tables: []string{"Owner"}}) {
			t.Errorf("mode %v: first change %+v", mode, first)
		}
		if !reflect.DeepEqual(second, core.Change{Seq: 2, Tables: []string{"Admins", "users"}}) {
			t.Errorf("mode %v: second change %+v", mode, second)
		}
		cancel()
		must(t, db.Tables.Owner.Insert("b"))
		select {
		case c := <-ch:
			t.Errorf("mode %v: change %+v after cancel", mode, c)
		default:
		}
		must(t, db.Close())
	}
}

// Writers do not wait for a slow subscriber, and Close delivers what was
// queued, then ends the subscription's goroutine.
func TestSubscribe_SlowSubscriberAndClose(t *testing.T) {
	db, err := core.Open[Schema](core.NewMemBackend(), core.Options{})
	must(t, err)
	release := make(chan struct{})
	var got []uint64
	done := make(chan struct{})
	db.Subscribe(func(c core.Change) {
		<-release
		got = append(got, c.Seq)
		if c.Seq == 50 {
			close(done)
		}
	})
	for range 50 { // would block forever if writers waited for the subscriber
		must(t, db.Tables.Owner.Insert("x"))
	}
	goroutines := runtime.NumGoroutine()
	close(release)
	must(t, db.Close())
	select {
	case <-done:
	default:
		t.Fatalf("Close returned before delivering the queue: got %d changes", len(got))
	}
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("delivered out of order: %v", got)
		}
	}
	if n := runtime.NumGoroutine(); n >= goroutines {
		t.Errorf("goroutines: %d before Close, %d after; the subscription's should have ended", goroutines, n)
	}
	// Subscribing to a closed database delivers nothing and does not leak.
	db.Subscribe(func(core.Change) { t.Error("delivered after Close") })()
}

// A commit whose sync fails is never delivered; the next durable one is,
// with its own sequence number.
func TestSubscribe_FailedCommitIsNotDelivered(t *testing.T) {
	fb := crashtest.New()
	db, err := core.Open[Schema](fb, core.Options{})
	must(t, err)
	defer db.Close()
	ch := make(chan core.Change, 10)
	db.Subscribe(func(c core.Change) { ch <- c })
	fb.Fail(crashtest.Sync, crashtest.Rule{At: []int{1}, Err: errors.New("disk gone")})
	if err := db.Tables.Owner.Insert("lost"); err == nil {
		t.Fatal("the commit whose sync failed succeeded")
	}
	fb.Heal()
	must(t, db.Tables.Owner.Insert("kept"))
	if c := next(t, ch); c.Seq != 2 || !reflect.DeepEqual(c.Tables, []string{"Owner"}) {
		t.Fatalf("first delivered change %+v, want the second commit", c)
	}
	select {
	case c := <-ch:
		t.Fatalf("extra change %+v", c)
	default:
	}
}
