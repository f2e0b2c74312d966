package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

type streamSchema struct{ T LookupTable[int, string] }

// streamValue is about 1 KiB, so that a few hundred inserts fill a chunk.
func streamValue(i int) string { return fmt.Sprintf("%d %s", i, strings.Repeat("s", 1000)) }

// streamN inserts fill several chunks.
const streamN = 4 * txChunkSize / 1000

// insertEach inserts keys [from, to), one op each, calling after (if set)
// after each.
func insertEach(s *streamSchema, from, to int, after func(i int)) error {
	for i := from; i < to; i++ {
		if err := s.T.Insert(i, streamValue(i)); err != nil {
			return err
		}
		if after != nil {
			after(i)
		}
	}
	return nil
}

// checkKeys fails t unless db holds exactly keys [0, n) with their values.
func checkKeys(t *testing.T, what string, db *DB[streamSchema], n int) {
	t.Helper()
	if got := db.Tables.T.Len(); got != n {
		t.Fatalf("%s: %d keys, want %d", what, got, n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if n == 0 {
			break
		}
		if v, _ := db.Tables.T.Get(i); v != streamValue(i) {
			t.Fatalf("%s: key %d has the wrong value", what, i)
		}
	}
}

// A large transaction appends its full chunks while it runs, and holds
// none of them in memory past the op that wrote them.
func TestStream_AppendsWhileOpen(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[streamSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	before := len(segmentBytes(t, mem, db.e.active))
	mustOK(t, db.Update(func(s *streamSchema) error {
		err := insertEach(s, 0, streamN, func(int) {
			if n := len(db.e.w.kept); n > 0 {
				t.Fatalf("%d chunks held after an op returned, want 0", n)
			}
		})
		if n := len(segmentBytes(t, mem, db.e.active)) - before; n < 3*txChunkSize {
			t.Fatalf("%d bytes in the log before the commit, want at least 3 chunks", n)
		}
		return err
	}))
	checkKeys(t, "after the commit", db, streamN)
	mustOK(t, db.Close())
	db, err = Open[streamSchema](mem.Reopen(), Options{CompactRatio: -1})
	mustOK(t, err)
	checkKeys(t, "reopened", db, streamN)
}

// openStreamDisk opens a database on a crashtest.Disk with keys [0, base)
// committed.
func openStreamDisk(t *testing.T, f *crashtest.Disk, base int) *DB[streamSchema] {
	t.Helper()
	db, err := Open[streamSchema](f, Options{CompactRatio: -1})
	mustOK(t, err)
	t.Cleanup(func() { db.Close() })
	mustOK(t, db.Update(func(s *streamSchema) error { return insertEach(s, 0, base, nil) }))
	return db
}

// openCrashed opens what a power loss (or, durable, a killed process)
// would leave of f now, and checks it holds keys [0, n).
func openCrashed(t *testing.T, what string, f *crashtest.Disk, rng *rand.Rand, n int) {
	t.Helper()
	for _, c := range []*crashtest.Disk{f.Crash(rng), f.Crash(rng), f.Reopen()} {
		db, err := Open[streamSchema](c, Options{CompactRatio: -1})
		if err != nil {
			t.Fatalf("%s: open after a crash: %v", what, err)
		}
		checkKeys(t, what+", after a crash", db, n)
		// A commit after what the crash left reopens with it.
		mustOK(t, db.Tables.T.Insert(n, streamValue(n)))
		mustOK(t, db.Close())
		db, err = Open[streamSchema](c.Reopen(), Options{CompactRatio: -1})
		if err != nil {
			t.Fatalf("%s: reopen after a crash and a commit: %v", what, err)
		}
		checkKeys(t, what+", after a crash and a commit", db, n+1)
		db.Close()
	}
}

// A crash at any point of a streamed transaction before its commit leaves
// none of it; once it committed, all of it. A rolled-back one leaves
// nothing, and later commits are not joined to its parts.
func TestStream_CrashAtEveryPart(t *testing.T) {
	const base = 10
	rng := rand.New(rand.NewPCG(1, 2))
	for _, end := range []string{"commit", "rollback"} {
		t.Run(end, func(t *testing.T) {
			f := crashtest.New()
			db := openStreamDisk(t, f, base)
			appends := f.Count(crashtest.Append)
			crashes := 0
			tx, err := db.Begin()
			mustOK(t, err)
			defer tx.Rollback() // a failure must not leave Close waiting
			mustOK(t, insertEach(tx.Tables, base, base+streamN, func(int) {
				if n := f.Count(crashtest.Append); n > appends {
					appends = n
					crashes++
					openCrashed(t, fmt.Sprintf("part %d", crashes), f, rng, base)
				}
			}))
			if crashes < 3 {
				t.Fatalf("%d parts appended while the transaction ran; the test needs more", crashes)
			}
			if end == "rollback" {
				tx.Rollback()
				checkKeys(t, "after the rollback", db, base)
				openCrashed(t, "after the rollback", f, rng, base)
				return
			}
			mustOK(t, tx.Commit())
			checkKeys(t, "after the commit", db, base+streamN)
			openCrashed(t, "after the commit", f, rng, base+streamN)
		})
	}
}

// A part whose append fails does not fail the op: the commit fails, with
// the append's error, leaves nothing in memory or the log, and the
// database goes on.
func TestStream_FailedPartAppend(t *testing.T) {
	for _, partial := range []bool{false, true} {
		t.Run(fmt.Sprintf("partial=%v", partial), func(t *testing.T) {
			const base = 10
			f := crashtest.New()
			db := openStreamDisk(t, f, base)
			f.Fail(crashtest.Append, crashtest.Rule{At: []int{2}, Err: errFaultENOSPC, Partial: partial})
			err := db.Update(func(s *streamSchema) error { return insertEach(s, base, base+streamN, nil) })
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Update whose second part failed to append: %v, want an error matching ENOSPC", err)
			}
			if f.Injected(crashtest.Append) != 1 {
				t.Fatal("no append failed; the test needs one")
			}
			checkKeys(t, "after the failed commit", db, base)
			f.Heal()
			mustOK(t, db.Update(func(s *streamSchema) error { return insertEach(s, base, base+streamN, nil) }))
			checkKeys(t, "after a later commit", db, base+streamN)
			openCrashed(t, "after a later commit", f, rand.New(rand.NewPCG(3, 4)), base+streamN)
		})
	}
}

// A rollback whose cut of the parts fails poisons the database; a reopen
// holds none of the transaction.
func TestStream_RollbackCutFails(t *testing.T) {
	const base = 10
	f := crashtest.New()
	db := openStreamDisk(t, f, base)
	boom := errors.New("boom")
	f.Fail(crashtest.Truncate, crashtest.Rule{From: 1, Err: errFaultEIO})
	err := db.Update(func(s *streamSchema) error {
		mustOK(t, insertEach(s, base, base+streamN, nil))
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v", err)
	}
	checkKeys(t, "after the rollback", db, base)
	if err := db.Tables.T.Insert(0, "x"); !errors.Is(err, ErrPoisoned) {
		t.Fatalf("a write after a failed cut: %v, want ErrPoisoned", err)
	}
	f.Heal()
	openCrashed(t, "after the failed cut", f, rand.New(rand.NewPCG(5, 6)), base)
}

var errFaultENOSPC = fmt.Errorf("fault: injected: %w", syscall.ENOSPC)
var errFaultEIO = fmt.Errorf("fault: injected: %w", syscall.EIO)

// While a commit's records are staged for the next syncer, a streaming
// transaction keeps its chunks in memory, and appends them once the staged
// records are in the log: appends stay in log order.
func TestStream_WaitsForStagedRecords(t *testing.T) {
	const base = 10
	f := crashtest.New()
	db := openStreamDisk(t, f, base)
	entered, release := make(chan struct{}), make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock()
	var first atomic.Bool
	f.SetBeforeSync(func(uint64) {
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	})
	errA := make(chan error, 1)
	go func() { errA <- db.Tables.T.Insert(-1, "a") }()
	<-entered // -1 is appended and its sync is running
	waitB, err := func() (func() error, error) {
		tx, err := db.Begin()
		mustOK(t, err)
		if err := tx.Tables.T.Insert(-2, "b"); err != nil {
			tx.Rollback()
			return nil, err
		}
		return tx.CommitAsync() // staged: a sync is running
	}()
	mustOK(t, err)
	errB := make(chan error, 1)
	go func() { errB <- waitB() }()
	tx, err := db.Begin()
	mustOK(t, err)
	defer tx.Rollback() // a failure must not leave Close waiting
	appends := f.Count(crashtest.Append)
	mustOK(t, insertEach(tx.Tables, base, base+streamN/2, nil))
	if n := f.Count(crashtest.Append); n != appends {
		t.Fatalf("%d appends while records were staged, want 0", n-appends)
	}
	if len(db.e.w.kept) < 2 {
		t.Fatalf("%d chunks held while records were staged; the test needs more", len(db.e.w.kept))
	}
	unblock()
	mustOK(t, <-errA)
	mustOK(t, <-errB) // its syncer appended the staged records
	mustOK(t, insertEach(tx.Tables, base+streamN/2, base+streamN, nil))
	if n := len(db.e.w.kept); n != 0 {
		t.Fatalf("%d chunks held once the staged records were appended, want 0", n)
	}
	mustOK(t, tx.Commit())
	mustOK(t, db.Close())
	db, err = Open[streamSchema](f.Reopen(), Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	if v, _ := db.Tables.T.Get(-1); v != "a" {
		t.Fatal("the first commit is lost")
	}
	if v, _ := db.Tables.T.Get(-2); v != "b" {
		t.Fatal("the staged commit is lost")
	}
	if got := db.Tables.T.Len(); got != base+streamN+2 {
		t.Fatalf("%d keys, want %d", got, base+streamN+2)
	}
}

// A sync that completes while a streamed transaction is open puts no
// synced record between its parts and its commit record (replay would
// refuse the run): the watermark waits for the next append.
func TestStream_SyncDuringTransaction(t *testing.T) {
	const base = 10
	f := crashtest.New()
	db := openStreamDisk(t, f, base)
	tx, err := db.Begin()
	mustOK(t, err)
	mustOK(t, tx.Tables.T.Insert(-1, "a"))
	waitA, err := tx.CommitAsync() // appended, not yet synced
	mustOK(t, err)
	tx, err = db.Begin()
	mustOK(t, err)
	defer tx.Rollback() // a failure must not leave Close waiting
	appends := f.Count(crashtest.Append)
	half := base + streamN/2
	mustOK(t, insertEach(tx.Tables, base, half, nil))
	if f.Count(crashtest.Append) == appends {
		t.Fatal("no part appended; the test needs some")
	}
	mustOK(t, waitA()) // a sync while the transaction is open
	mustOK(t, insertEach(tx.Tables, half, base+streamN, nil))
	mustOK(t, tx.Commit())
	mustOK(t, db.Tables.T.Insert(-2, "b")) // carries the watermark
	mustOK(t, db.Close())
	db, err = Open[streamSchema](f.Reopen(), Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	if got := db.Tables.T.Len(); got != base+streamN+2 {
		t.Fatalf("%d keys, want %d", got, base+streamN+2)
	}
	data, err := f.Reopen().ReadSegment(db.e.active)
	mustOK(t, err)
	recs := scan(db.e.active, data).records
	last := -1
	for i, r := range recs {
		if recordKind(r.payload) == recordCommitPart {
			last = i
		}
	}
	if last < 0 || last+2 >= len(recs) || recordKind(recs[last+1].payload) != recordCommit ||
		recordKind(recs[last+2].payload) != recordSynced {
		t.Fatal("the run is not followed by its commit record, then the synced record that waited for it")
	}
}

// A backend that does not say it can cut durable bytes (StreamingBackend)
// gets a large transaction's records at commit only.
func TestStream_OnlyIntoStreamingBackends(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[streamSchema](struct{ Backend }{mem}, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	before := len(segmentBytes(t, mem, db.e.active))
	mustOK(t, db.Update(func(s *streamSchema) error {
		mustOK(t, insertEach(s, 0, streamN, nil))
		if n := len(segmentBytes(t, mem, db.e.active)); n != before {
			t.Fatalf("%d bytes appended before the commit, want 0", n-before)
		}
		return nil
	}))
	checkKeys(t, "after the commit", db, streamN)
}

// An auto-committed op streams as it goes (no rewind can reach what it
// wrote: it fails whole), and when it fails part way its parts are cut.
func TestStream_FailedAutoCommitOp(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[chunkSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	mustOK(t, db.Tables.T.InsertMany(rangeOf(0, 10)))
	log := segmentBytes(t, mem, db.e.active)
	streamed := 0
	bad := func(yield func(int, RawValue) bool) {
		for i, v := range rangeOf(10, 10+streamN) {
			if !yield(i, v) {
				return
			}
		}
		streamed = len(segmentBytes(t, mem, db.e.active)) - len(log)
		yield(-1, RawValue{0xc1}) // not msgpack
	}
	if err := db.Tables.T.InsertMany(bad); err == nil {
		t.Fatal("InsertMany of a bad value succeeded")
	}
	if streamed < 3*txChunkSize {
		t.Fatalf("%d bytes streamed before the op failed; the test needs at least 3 chunks", streamed)
	}
	if got := segmentBytes(t, mem, db.e.active); string(got) != string(log) {
		t.Fatalf("the log holds %d bytes after the failed op, want the %d it held before", len(got), len(log))
	}
	if n := db.Tables.T.Len(); n != 10 {
		t.Fatalf("%d keys after the failed op, want 10", n)
	}
	mustOK(t, db.Tables.T.InsertMany(rangeOf(10, 20)))
	mustOK(t, db.Close())
	db, err = Open[chunkSchema](mem.Reopen(), Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	if n := db.Tables.T.Len(); n != 20 {
		t.Fatalf("%d keys after a reopen, want 20", n)
	}
}
