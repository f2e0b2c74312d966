package core

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// imgBackend keeps a "disk image" per segment: what a crash leaves. A
// successful Sync copies the data to the image; a failed Sync may have
// written the pages anyway (the image gets them too); a Truncate reaches the
// image only with the next successful Sync (Backend contract).
type imgBackend struct {
	*MemBackend
	mu      sync.Mutex
	img     map[uint64][]byte
	syncs   int
	failAt  int // 1-based Sync call that fails
	blockAt int // 1-based Sync call that blocks until release
	release chan struct{}
}

func (b *imgBackend) Sync(id uint64) error {
	b.mu.Lock()
	b.syncs++
	n := b.syncs
	b.mu.Unlock()
	if n == b.blockAt {
		<-b.release
	}
	data, err := b.MemBackend.ReadSegment(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.img[id] = data
	b.mu.Unlock()
	if n == b.failAt {
		return errors.New("injected EIO")
	}
	return b.MemBackend.Sync(id)
}

func (b *imgBackend) Create(id uint64) error {
	if err := b.MemBackend.Create(id); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for sid := range b.img {
		d, _ := b.MemBackend.ReadSegment(sid)
		b.img[sid] = d
	}
	b.img[id] = nil
	return nil
}

func (b *imgBackend) crash() *MemBackend {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := NewMemBackend()
	for id, d := range b.img {
		m.segments[id] = &memSegment{data: slices.Clone(d), synced: len(d)}
	}
	return m
}

// R8: when a sync fails, only the first waiter to run recoverLocked syncs
// the cut; every other failed waiter returns "rolled back" at once, before
// the truncation is durable. A crash then brings its commit back.
func TestRegressFailedCommitReportedBeforeCutDurable(t *testing.T) {
	type S struct{ T LookupTable[string, int] }
	mem := NewMemBackend()
	b := &imgBackend{MemBackend: mem, img: map[uint64][]byte{}, release: make(chan struct{})}
	db, err := Open[S](b, Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	base := b.syncs
	b.failAt, b.blockAt = base+1, base+2 // group sync fails; the cut's sync is slow
	b.mu.Unlock()

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
		img := b.crash()
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
	close(b.release)
	for range 2 {
		if r := <-out; r.err == nil {
			t.Errorf("commit %q succeeded although its sync failed", r.key)
		}
	}
	img := b.crash()
	db2, err := Open[S](img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := db2.Tables.T.Len(); n != 0 {
		t.Errorf("%d failed commits are in the log after a crash", n)
	}
}
