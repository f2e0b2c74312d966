package core

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

// record > MaxRecordSize: compaction fails forever with ErrTooLarge.
func TestCompact_RecordNearMaxRecordSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB value")
	}
	type S struct {
		L List[string]
	}
	db, err := Open[S](NewMemBackend(), Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Repeat("x", 1000)
	for i := 0; i < 1000; i++ { // ~1 MiB, below the chunk size
		if err := db.Tables.L.Push(small); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("y", MaxRecordSize-64) // fits one commit record
	if err := db.Tables.L.Push(big); err != nil {
		t.Fatalf("push big: %v", err)
	}
	if err := db.Compact(); err != nil {
		t.Fatalf("Compact: %v", err)
	}
}

// A commit whose sync failed, left in e.failed because its own waiter has
// not run yet (another commit of the batch was kept), is read into the
// snapshot by a compaction that started just before the failure: the commit
// is reported as "failed and rolled back" and undone in memory, yet it is in
// the durable snapshot and comes back on reopen.
func TestCompact_DoesNotResurrectFailedCommit(t *testing.T) {
	type S struct {
		T LookupTable[string, int]
	}
	disk := crashtest.New()
	db, err := Open[S](crashtest.Sizer{Disk: disk}, Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := db.e

	// B then C are appended (CommitAsync); neither is synced yet.
	txB, _ := db.Begin()
	txB.Tables.T.Insert("B", 1)
	waitB, err := txB.CommitAsync()
	if err != nil {
		t.Fatal(err)
	}
	txC, _ := db.Begin()
	txC.Tables.T.Insert("C", 1)
	waitC, err := txC.CommitAsync()
	if err != nil {
		t.Fatal(err)
	}
	// B's record ends where C's starts.
	e.smu.Lock()
	bEnd := e.pending[0].end // in the active segment, which the failed sync syncs first
	e.smu.Unlock()

	// While compaction switches segments (after its writableLocked), B's
	// waiter syncs: the sync fails but B is durable, C is not.
	// (Create runs under the write lock, so B's waiter runs beside it, as
	// it would in a program.)
	var once sync.Once
	errB := make(chan error, 1)
	disk.SetOnCreate(func(id uint64) {
		once.Do(func() {
			disk.Fail(crashtest.Sync, crashtest.Rule{At: []int{1}, Err: errors.New("injected sync failure"), DurableTo: bEnd})
			go func() { errB <- waitB() }()
		})
	})
	if err := db.Compact(); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	errC := waitC()
	if err := <-errB; err != nil {
		t.Errorf("B, durable despite the failed sync: %v", err)
	}
	if errC == nil {
		t.Fatal("C's sync failed, but its commit succeeded")
	}
	if _, inMem := db.Tables.T.Get("C"); inMem {
		t.Error("C is in memory after its commit failed")
	}
	if err := db.Tables.T.Insert("D", 1); err != nil {
		t.Errorf("next write: %v", err)
	}
	db.Close()

	db2, err := Open[S](disk.Reopen(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, inLog := db2.Tables.T.Get("C"); inLog {
		t.Errorf("C was reported failed (%v) but is in the log after reopen", errC)
	}
	if _, inLog := db2.Tables.T.Get("B"); !inLog {
		t.Error("B was acknowledged but is not in the log after reopen")
	}
}

type blobState struct{ items [][]byte }

func (b *blobState) Kind() string { return "blob" }
func (b *blobState) Apply(entry []byte) (func(), error) {
	b.items = append(b.items, bytes.Clone(entry))
	return func() { b.items = b.items[:len(b.items)-1] }, nil
}
func (b *blobState) Compact(emit func([]byte) error) error {
	for _, it := range b.items {
		if err := emit(it); err != nil {
			return err
		}
	}
	return nil
}

// waitCompactorIdle waits until the background compactor has no kick
// queued and no compaction running, so that Stats().Compactions counts every
// compaction asked for so far. (A kick just taken off the channel, whose
// compaction has not yet locked compactMu, looks idle for an instant; the
// condition must hold on two polls in a row.)
func waitCompactorIdle(t *testing.T, e *engine) {
	t.Helper()
	idle := func() bool {
		if len(e.compactKick) > 0 || !e.compactMu.TryLock() {
			return false
		}
		e.compactMu.Unlock()
		return true
	}
	seen := false
	if !waitFor(t, 10*time.Second, func() bool {
		was := seen
		seen = idle()
		return was && seen
	}) {
		t.Fatal("the background compactor did not go idle")
	}
}

// Custom (and opaque) tables count 0 live bytes, so once the log passes
// CompactMinBytes every commit triggers a full rewrite of the database.
func TestCompact_CustomTableNoCompactionStorm(t *testing.T) {
	type S struct {
		B Custom[blobState, *blobState]
	}
	db, err := Open[S](NewMemBackend(), Options{Sync: SyncNever, CompactMinBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val, _ := msgpack.Marshal(bytes.Repeat([]byte("z"), 1000))
	for i := 0; i < 100; i++ { // ~100 KiB of state
		if err := db.Tables.B.Apply(val); err != nil {
			t.Fatal(err)
		}
	}
	// The log passed CompactMinBytes: the compactor must run once (else
	// the count below would pass trivially), then go idle.
	if !waitFor(t, 10*time.Second, func() bool { return db.Stats().Compactions > 0 }) {
		t.Fatal("the background compactor never ran after the log passed CompactMinBytes")
	}
	waitCompactorIdle(t, db.e)
	before := db.Stats().Compactions
	for i := 0; i < 50; i++ { // 50 more KiB: 50% growth
		db.Tables.B.Apply(val)
		// Not synchronisation: let a compaction this commit kicked off
		// run before the next commit, so that each commit can start its
		// own (a storm) instead of the kicks merging into one.
		time.Sleep(2 * time.Millisecond)
	}
	waitCompactorIdle(t, db.e)
	n := db.Stats().Compactions - before
	if n > 5 {
		t.Errorf("%d full compactions for 50 small commits (log grew by 50%%); LiveBytes=%d LogBytes=%d", n, db.Stats().LiveBytes, db.Stats().LogBytes)
	}
}
