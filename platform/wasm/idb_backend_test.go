//go:build js && wasm

package wasm

// These tests run in a browser: see e2e/setup.sh, then
//
//	GOOS=js GOARCH=wasm go test -exec "$PWD/bin/wasmbrowsertest" ./platform/wasm/

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/backendtest"
	"github.com/hack-pad/go-indexeddb/idb"
)

var dbSeq atomic.Int64

// newDBName returns a database name no other test uses, and deletes that
// database when the test ends.
func newDBName(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("dbrs-test-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano(), dbSeq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeleteIDB(ctx, name); err != nil {
			t.Errorf("DeleteIDB(%q): %v", name, err)
		}
	})
	return name
}

// openIDB opens database name and closes it when the test ends (Close is
// idempotent, so tests may close it first).
func openIDB(t *testing.T, name string, opts IDBOptions) *IDBBackend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := OpenIDB(ctx, name, opts)
	if err != nil {
		t.Fatalf("OpenIDB(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// reopen closes b and opens its database again, as a page reload would.
func reopen(t *testing.T, b *IDBBackend) *IDBBackend {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openIDB(t, b.name, IDBOptions{})
}

func pattern(seed, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte((seed*131+i*7)%251) + 1
	}
	return p
}

func mustAppend(t *testing.T, b core.Backend, id uint64, off int64, p []byte) {
	t.Helper()
	if err := b.Append(id, off, p); err != nil {
		t.Fatalf("Append(%d, %d, %d bytes): %v", id, off, len(p), err)
	}
}

func mustSync(t *testing.T, b core.Backend, id uint64) {
	t.Helper()
	if err := b.Sync(id); err != nil {
		t.Fatalf("Sync(%d): %v", id, err)
	}
}

func mustCreate(t *testing.T, b core.Backend, id uint64) {
	t.Helper()
	if err := b.Create(id); err != nil {
		t.Fatalf("Create(%d): %v", id, err)
	}
}

func checkSegment(t *testing.T, b core.Backend, id uint64, want []byte) {
	t.Helper()
	got, err := b.ReadSegment(id)
	if err != nil {
		t.Fatalf("ReadSegment(%d): %v", id, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ReadSegment(%d) = %d bytes, want %d bytes (equal prefix: %v)", id, len(got), len(want), bytes.HasPrefix(got, want[:min(len(want), len(got))]))
	}
}

func checkSegments(t *testing.T, b core.Backend, want ...uint64) {
	t.Helper()
	got, err := b.Segments()
	if err != nil {
		t.Fatalf("Segments: %v", err)
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("Segments = %v, want %v", got, want)
	}
}

func TestIDBBackend_Conformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) core.Backend {
		return openIDB(t, newDBName(t), IDBOptions{})
	})
}

func TestIDBBackend_Conformance_Relaxed(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) core.Backend {
		return openIDB(t, newDBName(t), IDBOptions{Durability: DurabilityRelaxed})
	})
}

// TestIDBBackend_GroupCommit checks that appends queued before a Sync, and
// Syncs queued behind a running flush, share one IndexedDB transaction.
func TestIDBBackend_GroupCommit(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	mustCreate(t, b, 2)
	var want1, want2 []byte
	for i := range 50 {
		p := pattern(i, 10+i)
		mustAppend(t, b, 1, int64(len(want1)), p)
		want1 = append(want1, p...)
		q := pattern(i+100, 3)
		mustAppend(t, b, 2, int64(len(want2)), q)
		want2 = append(want2, q...)
	}
	if s := b.Stats(); s.Flushes != 0 {
		t.Fatalf("Append touched IndexedDB: %d flushes", s.Flushes)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			if err := b.Sync(uint64(1 + i%2)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Sync: %v", err)
	}
	s := b.Stats()
	if s.Flushes != 1 || s.Chunks != 2 || s.Bytes != int64(len(want1)+len(want2)) {
		t.Fatalf("100 appends and 10 Syncs made %d flushes, %d chunks, %d bytes; want 1 flush, 2 chunks, %d bytes", s.Flushes, s.Chunks, s.Bytes, len(want1)+len(want2))
	}

	// Committers that append while a flush runs: each appends (serialized,
	// as under core's write lock) and then Syncs. The Syncs that queue
	// behind the running flush share the next one.
	var mu sync.Mutex
	const committers = 40
	for i := range committers {
		wg.Go(func() {
			mu.Lock()
			p := pattern(1000+i, 20)
			off := int64(len(want1))
			if err := b.Append(1, off, p); err != nil {
				mu.Unlock()
				t.Errorf("Append: %v", err)
				return
			}
			want1 = append(want1, p...)
			mu.Unlock()
			if err := b.Sync(1); err != nil {
				t.Errorf("Sync: %v", err)
			}
		})
	}
	wg.Wait()
	s2 := b.Stats()
	flushes := s2.Flushes - s.Flushes
	t.Logf("%d concurrent committers: %d flushes", committers, flushes)
	if flushes < 1 || flushes > committers/2 {
		t.Fatalf("%d concurrent committers made %d flushes, want between 1 and %d", committers, flushes, committers/2)
	}
	b = reopen(t, b)
	checkSegment(t, b, 1, want1)
	checkSegment(t, b, 2, want2)
}

// TestIDBBackend_SyncNothingBuffered checks that a Sync with nothing to
// flush does not start a transaction.
func TestIDBBackend_SyncNothingBuffered(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	mustSync(t, b, 1)
	mustAppend(t, b, 1, 0, pattern(1, 10))
	mustSync(t, b, 1)
	mustSync(t, b, 1)
	mustCreate(t, b, 2)
	mustSync(t, b, 2)
	if s := b.Stats(); s.Flushes != 1 || s.Syncs != 4 {
		t.Fatalf("stats %+v, want 1 flush for 4 Syncs", s)
	}
}

// TestIDBBackend_Reopen checks that a new OpenIDB on the same name sees the
// data, knows each segment's size, and refuses to recreate a segment.
func TestIDBBackend_Reopen(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	want := map[uint64][]byte{}
	for _, id := range []uint64{3, 1, 1 << 40} {
		mustCreate(t, b, id)
		for i := range 3 {
			p := pattern(int(id%97)+i, 100*(i+1))
			mustAppend(t, b, id, int64(len(want[id])), p)
			want[id] = append(want[id], p...)
			mustSync(t, b, id)
		}
	}
	// Unsynced bytes: Close flushes them.
	tail := pattern(7, 33)
	mustAppend(t, b, 3, int64(len(want[3])), tail)
	want[3] = append(want[3], tail...)
	mustCreate(t, b, 5) // no chunk: not durable (see "Created segments")

	b = reopen(t, b)
	checkSegments(t, b, 1, 3, 1<<40)
	for id, w := range want {
		checkSegment(t, b, id, w)
	}
	if err := b.Create(3); err == nil {
		t.Fatal("Create(3) after reopen succeeded, want an error")
	}
	if err := b.Append(3, int64(len(want[3]))-1, []byte{1}); err == nil {
		t.Fatal("Append into flushed bytes after reopen succeeded, want an error")
	}
	more := pattern(8, 10)
	mustAppend(t, b, 3, int64(len(want[3])), more)
	want[3] = append(want[3], more...)
	mustSync(t, b, 3)
	b = reopen(t, b)
	checkSegment(t, b, 3, want[3])
}

// TestIDBBackend_TwoConnections checks that a second connection (another
// tab) sees what the first flushed, through Segments and ReadSegment.
func TestIDBBackend_TwoConnections(t *testing.T) {
	name := newDBName(t)
	w := openIDB(t, name, IDBOptions{})
	r := openIDB(t, name, IDBOptions{})
	mustCreate(t, w, 4)
	p := pattern(1, 500)
	mustAppend(t, w, 4, 0, p)
	checkSegments(t, r)
	mustSync(t, w, 4)
	checkSegments(t, r, 4)
	checkSegment(t, r, 4, p)
}

// TestIDBBackend_FlushFailure injects a quota error into a flush. The
// transaction is really aborted by IndexedDB: nothing of it is written, the
// earlier data stays, the failed bytes stay buffered, and the segment
// refuses writes until Truncate.
func TestIDBBackend_FlushFailure(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	mustCreate(t, b, 2)
	a := pattern(1, 100)
	mustAppend(t, b, 1, 0, a)
	mustSync(t, b, 1)

	lost := pattern(2, 50)
	mustAppend(t, b, 1, 100, lost)
	mustAppend(t, b, 2, 0, pattern(3, 70)) // first chunk of 2: lost too
	b.FailNextWrite(ErrQuotaExceeded)
	err := b.Sync(1)
	if err == nil {
		t.Fatal("Sync with an injected quota error succeeded")
	}
	if !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("Sync error %v does not match ErrQuotaExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("error %q does not start with \"dbrs: \"", err)
	}
	if s := b.Stats(); s.Flushes != 2 || s.FailedFlushes != 1 || s.Bytes != 100 {
		t.Fatalf("stats %+v, want 2 flushes, 1 failed, 100 bytes flushed", s)
	}
	// Nothing was written, and nothing appended is lost: the bytes stay
	// buffered for core to cut or to flush again.
	checkSegment(t, b, 1, append(slices.Clone(a), lost...))
	checkSegment(t, b, 2, pattern(3, 70))

	// The segments keep the error until core truncates them.
	for _, id := range []uint64{1, 2} {
		if err := b.Sync(id); !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("Sync(%d) after the failure = %v, want the quota error", id, err)
		}
	}
	if err := b.Append(1, 100, pattern(4, 10)); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("Append after the failure = %v, want the quota error", err)
	}
	if err := b.Truncate(1, 99); err == nil {
		t.Fatal("Truncate below the flushed size succeeded, want an error")
	}
	if err := b.Truncate(1, 100); err != nil {
		t.Fatalf("Truncate(1, 100): %v", err)
	}
	if err := b.Truncate(2, 0); err != nil {
		t.Fatalf("Truncate(2, 0): %v", err)
	}
	c := pattern(5, 30)
	mustAppend(t, b, 1, 100, c)
	mustSync(t, b, 1)
	mustSync(t, b, 2)

	b = reopen(t, b)
	checkSegments(t, b, 1)
	checkSegment(t, b, 1, append(slices.Clone(a), c...))
}

// TestIDBBackend_FlushFailureDuringFlight fails a flush while more bytes are
// appended behind it: the Sync waiting for those fails too (they follow the
// failed ones), and both runs stay buffered in order until Truncate.
func TestIDBBackend_FlushFailureDuringFlight(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	a := pattern(1, 100)
	mustAppend(t, b, 1, 0, a)
	mustSync(t, b, 1)

	mustAppend(t, b, 1, 100, pattern(2, 10))
	b.FailNextWrite(ErrUnknown)
	first := make(chan error, 1)
	go func() { first <- b.Sync(1) }()
	// Let the goroutine start its flush: it runs until it waits on
	// IndexedDB (js/wasm runs one goroutine at a time).
	for b.Stats().Flushes < 2 {
		runtime.Gosched()
	}
	mustAppend(t, b, 1, 110, pattern(3, 10))
	second := b.Sync(1)
	if err := <-first; !errors.Is(err, ErrUnknown) {
		t.Fatalf("first Sync = %v, want ErrUnknown", err)
	}
	if !errors.Is(second, ErrUnknown) {
		t.Fatalf("second Sync = %v, want ErrUnknown (its bytes followed the lost ones)", second)
	}
	if s := b.Stats(); s.Flushes != 2 {
		t.Fatalf("%d flushes, want 2: the bytes behind the failed flush must not be written", s.Flushes)
	}
	// Both runs stay buffered, in order, until core cuts them.
	checkSegment(t, b, 1, slices.Concat(a, pattern(2, 10), pattern(3, 10)))
	if err := b.Truncate(1, 100); err != nil {
		t.Fatalf("Truncate: %v", err)
	}
	b = reopen(t, b)
	checkSegment(t, b, 1, a)
}

// TestIDBBackend_InstallAtomic fails an Install, then lets one succeed.
func TestIDBBackend_InstallAtomic(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	old := map[uint64][]byte{1: pattern(1, 300), 2: pattern(2, 400)}
	for id, p := range old {
		mustCreate(t, b, id)
		mustAppend(t, b, id, 0, p)
	}
	mustSync(t, b, 1)
	mustCreate(t, b, 4)
	active := pattern(4, 20)
	mustAppend(t, b, 4, 0, active)
	mustSync(t, b, 4)

	chunks := [][]byte{pattern(5, 1000), pattern(6, 1), {}, pattern(7, 5<<20)}
	want := bytes.Join(chunks, nil)
	b.FailNextWrite(ErrAbort)
	if err := b.Install(3, chunks, []uint64{1, 2}); !errors.Is(err, ErrAbort) {
		t.Fatalf("Install with an injected abort = %v, want ErrAbort", err)
	}
	checkSegments(t, b, 1, 2, 4)
	b = reopen(t, b)
	checkSegments(t, b, 1, 2, 4)
	for id, p := range old {
		checkSegment(t, b, id, p)
	}

	if err := b.Install(3, chunks, []uint64{1, 2}); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if s := b.Stats(); s.Installs != 1 || s.Durability != "strict" {
		t.Fatalf("stats %+v, want 1 install with strict durability", s)
	}
	checkSegments(t, b, 3, 4)
	checkSegment(t, b, 3, want)
	b = reopen(t, b)
	checkSegments(t, b, 3, 4)
	checkSegment(t, b, 3, want)
	checkSegment(t, b, 4, active)
	if err := b.Install(3, nil, nil); err == nil {
		t.Fatal("Install over segment 3 succeeded, want an error")
	}
}

// TestIDBBackend_LargeFlush checks that a flush splits a large buffer into
// chunks of at most maxChunkSize, and that they read back whole.
func TestIDBBackend_LargeFlush(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	p := pattern(1, 2*maxChunkSize+12345)
	mustAppend(t, b, 1, 0, p)
	mustSync(t, b, 1)
	if s := b.Stats(); s.Flushes != 1 || s.Chunks != 3 {
		t.Fatalf("stats %+v, want 1 flush of 3 chunks", s)
	}
	b = reopen(t, b)
	checkSegment(t, b, 1, p)
}

// TestIDBBackend_Truncate checks that Truncate only drops buffered bytes.
func TestIDBBackend_Truncate(t *testing.T) {
	b := openIDB(t, newDBName(t), IDBOptions{})
	mustCreate(t, b, 1)
	p := pattern(1, 100)
	mustAppend(t, b, 1, 0, p[:60])
	mustSync(t, b, 1)
	mustAppend(t, b, 1, 60, p[60:])
	if err := b.Truncate(1, 59); err == nil {
		t.Fatal("Truncate into flushed bytes succeeded, want an error")
	}
	if err := b.Truncate(1, 80); err != nil {
		t.Fatalf("Truncate(1, 80): %v", err)
	}
	if err := b.Truncate(1, 60); err != nil {
		t.Fatalf("Truncate(1, 60): %v", err)
	}
	mustSync(t, b, 1)
	if s := b.Stats(); s.Flushes != 1 {
		t.Fatalf("%d flushes, want 1: truncated bytes must not be flushed", s.Flushes)
	}
	checkSegment(t, b, 1, p[:60])
}

func TestIDBBackend_Durability(t *testing.T) {
	for _, tc := range []struct {
		opts IDBOptions
		want string
	}{
		{IDBOptions{}, "strict"},
		{IDBOptions{Durability: DurabilityRelaxed}, "relaxed"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			b := openIDB(t, newDBName(t), tc.opts)
			mustCreate(t, b, 1)
			mustAppend(t, b, 1, 0, pattern(1, 10))
			mustSync(t, b, 1)
			if got := b.Stats().Durability; got != tc.want {
				t.Fatalf("flush transaction durability = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIDBBackend_Errors(t *testing.T) {
	err := wrapIDBError("flush", "x", idb.NewDOMException("QuotaExceededError"))
	if !errors.Is(err, ErrQuotaExceeded) || !errors.Is(err, idb.NewDOMException("QuotaExceededError")) {
		t.Fatalf("%v does not match ErrQuotaExceeded and the DOMException", err)
	}
	if errors.Is(err, ErrAbort) {
		t.Fatalf("%v matches ErrAbort", err)
	}
	if !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("error %q does not start with \"dbrs: \"", err)
	}
}

func TestDeleteIDB(t *testing.T) {
	name := newDBName(t)
	b := openIDB(t, name, IDBOptions{})
	mustCreate(t, b, 1)
	mustAppend(t, b, 1, 0, pattern(1, 10))
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := DeleteIDB(ctx, name); err != nil {
		t.Fatalf("DeleteIDB: %v", err)
	}
	b = openIDB(t, name, IDBOptions{})
	checkSegments(t, b)
}

// BenchmarkIDBBackend_AppendSync measures one commit: an append of a
// 100-byte record and the Sync that makes it durable (one IndexedDB
// transaction each, since nothing else is queued).
func BenchmarkIDBBackend_AppendSync(b *testing.B) {
	for _, d := range []Durability{DurabilityStrict, DurabilityRelaxed} {
		b.Run(d.String(), func(b *testing.B) {
			name := fmt.Sprintf("dbrs-bench-%s-%d", d, time.Now().UnixNano())
			ctx := context.Background()
			be, err := OpenIDB(ctx, name, IDBOptions{Durability: d})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				_ = be.Close()
				_ = DeleteIDB(ctx, name)
			}()
			if err := be.Create(1); err != nil {
				b.Fatal(err)
			}
			p := pattern(1, 100)
			var off int64
			for b.Loop() {
				if err := be.Append(1, off, p); err != nil {
					b.Fatal(err)
				}
				off += int64(len(p))
				if err := be.Sync(1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type coreSchema struct {
	Users core.LookupTable[string, int64]
}

func openCoreDB(t *testing.T, name string) (*core.DB[coreSchema], *IDBBackend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := OpenIDB(ctx, name, IDBOptions{})
	if err != nil {
		t.Fatalf("OpenIDB: %v", err)
	}
	db, err := core.Open[coreSchema](b, core.Options{CompactRatio: -1})
	if err != nil {
		_ = b.Close()
		t.Fatalf("core.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, b
}

// TestIDBBackend_CoreDB runs a core database on the backend: concurrent
// commits share flushes, a quota error fails one commit and rolls it back,
// and compaction and reopening keep the data.
func TestIDBBackend_CoreDB(t *testing.T) {
	name := newDBName(t)
	db, b := openCoreDB(t, name)
	users := db.Tables.Users

	var wg sync.WaitGroup
	const writers = 30
	for i := range writers {
		wg.Go(func() {
			if err := users.Insert(fmt.Sprintf("u%02d", i), int64(i)); err != nil {
				t.Errorf("Insert: %v", err)
			}
		})
	}
	wg.Wait()
	s := b.Stats()
	t.Logf("%d concurrent commits: %d flushes", writers, s.Flushes)
	if s.Flushes >= writers {
		t.Errorf("%d concurrent commits made %d flushes: no group commit", writers, s.Flushes)
	}

	b.FailNextWrite(ErrQuotaExceeded)
	err := users.Insert("quota", 1)
	if !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("Insert with an injected quota error = %v, want ErrQuotaExceeded", err)
	}
	if _, ok := users.Get("quota"); ok {
		t.Fatal("the failed Insert is visible in memory")
	}
	if err := users.Insert("after", 2); err != nil {
		t.Fatalf("Insert after a failed commit: %v", err)
	}
	if err := db.Compact(); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if err := users.Insert("post-compact", 3); err != nil {
		t.Fatalf("Insert after Compact: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, _ = openCoreDB(t, name)
	users = db.Tables.Users
	if n := users.Len(); n != writers+2 {
		t.Fatalf("after reopen: %d users, want %d", n, writers+2)
	}
	for _, k := range []string{"u00", "u29", "after", "post-compact"} {
		if _, ok := users.Get(k); !ok {
			t.Fatalf("after reopen: %q missing", k)
		}
	}
	if _, ok := users.Get("quota"); ok {
		t.Fatal("after reopen: the failed Insert is present")
	}
}
