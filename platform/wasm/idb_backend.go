//go:build js && wasm

package wasm

// The IndexedDB layout.
//
// A database holds one object store, "chunks", with out-of-line keys and no
// indexes. Each record is one chunk of one segment:
//
//	key   [segment, offset]   two numbers; both stay below 2^53
//	value Uint8Array          the chunk's bytes (never a Blob: Safari has Blob bugs)
//
// offset is the byte offset of the chunk within its segment, so it is also
// the chunk's sequence number: a segment's bytes are its chunks concatenated
// in key order, and every chunk starts where the previous one ends. Keeping
// the offset in the key lets OpenIDB learn each segment's size from its last
// chunk alone, and lets ReadSegment prove that no chunk is missing.
//
// Array keys sort element by element, and an array sorts after any number,
// so the chunks of segment s are exactly the keys in
// IDBKeyRange.bound([s], [s, []]).
//
// Writes. Append never touches IndexedDB: it copies the bytes into a
// per-segment buffer in Go memory. Sync flushes the buffered bytes of every
// segment, in segment order, as new chunks in one readwrite transaction and
// waits for its "complete" event: that is the group commit, because every
// commit queued since the last flush rides in the same transaction. Flushes
// and Installs run one at a time (flushMu), so chunks reach IndexedDB in the
// order their bytes were appended, and every state IndexedDB can be left in
// by a crash is a prefix, at flush granularity, of the global append order.
//
// Created segments. A segment that Create made but that has no flushed chunk
// yet lives only in memory: it is listed by Segments and reads as empty, and
// its first flushed chunk is what makes it exist in IndexedDB. No marker
// record is written, because Create runs under core's write lock and must
// not wait on IndexedDB. This is safe because of the ordering above: a
// segment's first chunk is flushed in the same transaction as, or after,
// everything appended before Create, so after a crash a created segment that
// never got a chunk looks exactly like a crash just before Create. (The
// Backend contract asks Create to be durable on return; this backend makes it
// durable at the segment's first successful Sync instead.)
//
// go-indexeddb. Writes, cursors, opening and deleting go through
// github.com/hack-pad/go-indexeddb (v0.3.2). Its
// Database.TransactionWithOptions passes the durability hint as the third
// argument of db.transaction(stores, mode, {durability}), so no syscall/js
// is needed for it. It has no getAll for values, so ReadSegment calls
// getAll and getAllKeys through syscall/js on the same IDBDatabase object
// (the open request's result), with its own request wait (awaitRequests).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"syscall/js"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/hack-pad/go-indexeddb/idb"
)

const (
	// idbVersion is the IndexedDB schema version of the layout above.
	idbVersion = 1

	// chunkStore is the name of the only object store.
	chunkStore = "chunks"

	// maxSafeInteger is 2^53-1, the largest integer a JS number holds
	// exactly. Segment IDs and offsets must not exceed it.
	maxSafeInteger = 1<<53 - 1

	// maxChunkSize bounds one IndexedDB value. A flush of more buffered
	// bytes than this for one segment writes several chunks.
	maxChunkSize = 4 << 20
)

// faultKey is the key an injected fault writes twice (see FailNextWrite).
// Segment -1 is never used by real data.
var faultKey = js.ValueOf([]any{-1, 0})

// Durability is the IndexedDB transaction durability hint used for flushes.
// Install always uses DurabilityStrict.
type Durability int

const (
	// DurabilityStrict asks the browser to report a flush complete only
	// after the data reached persistent storage (an fsync). It survives a
	// power loss or an OS crash. It is the default.
	DurabilityStrict Durability = iota

	// DurabilityRelaxed lets the browser report a flush complete once the
	// data is handed to the operating system. It is much faster; a tab or
	// browser crash loses nothing, but a power loss or an OS crash may lose
	// the last flushes (never part of one: transactions stay atomic).
	DurabilityRelaxed
)

// String returns the IndexedDB name of d: "strict" or "relaxed".
func (d Durability) String() string {
	if d == DurabilityRelaxed {
		return "relaxed"
	}
	return "strict"
}

func (d Durability) idb() idb.TransactionDurability {
	if d == DurabilityRelaxed {
		return idb.DurabilityRelaxed
	}
	return idb.DurabilityStrict
}

// IDBOptions configures OpenIDB. The zero value is the default.
type IDBOptions struct {
	// Durability is the durability hint of the transactions that Sync
	// issues. The zero value is DurabilityStrict.
	Durability Durability
	// ReadOnly opens for reading only, as a follower tab does
	// (platform/wasm/follower.go): the open creates nothing (a missing
	// database fails with core.ErrNotExist), Create, Append, Truncate and
	// Install fail with core.ErrReadOnly, and every ReadSegment and
	// Segments reads IndexedDB as it is now, which another tab's writer
	// keeps changing.
	ReadOnly bool
}

// IDBStats counts what an IDBBackend did. Tests use it to check group
// commit: many Appends and Syncs, few Flushes.
type IDBStats struct {
	Appends       int   // Append calls
	Syncs         int   // Sync calls
	Flushes       int   // flush transactions started (one per group commit), failed ones included
	FailedFlushes int   // flush transactions that failed
	Chunks        int   // chunks written by successful flushes
	Bytes         int64 // bytes written by successful flushes
	Installs      int   // Install transactions started, failed ones included
	Reads         int   // ReadSegment calls that read IndexedDB

	// FlushTime is the time the successful flushes took, from making the
	// IndexedDB transaction to its complete event: what IndexedDB itself
	// costs the commits (the rest of a commit's latency is dbrs's).
	FlushTime time.Duration

	// Durability is the durability the browser reports for the last write
	// transaction ("strict", "relaxed", or "default" if it ignores the
	// hint).
	Durability string
}

// IDBBackend is a core.Backend that keeps segments in IndexedDB, for
// dbrs.wasm in a browser. The comment at the top of idb_backend.go describes
// the layout in IndexedDB and how writes are grouped.
//
// Append, Create and Truncate never wait on IndexedDB, so core may call them
// while it holds its write lock. Sync, Install, ReadSegment, Segments and
// Close wait for IndexedDB events.
//
// The JS event loop rule: a method that waits for IndexedDB must run on a
// goroutine that is not inside a js.FuncOf callback. The IndexedDB events it
// waits for are delivered by the JS event loop, which cannot run while a
// callback blocks, so such a call deadlocks the page. (go-indexeddb's Await
// has the same rule.) A JS-facing function must start a goroutine and return
// a Promise. For the same reason, no lock that a js.FuncOf callback takes
// (such as the database's read lock, for synchronous reads from JS) may be
// held while one of these methods waits.
//
// An IDBBackend is safe for concurrent use as the Backend contract requires.
type IDBBackend struct {
	name       string
	durability idb.TransactionDurability
	db         *idb.Database // go-indexeddb handle, for writes and cursors
	jsDB       js.Value      // the same IDBDatabase, for getAll (go-indexeddb lacks it)

	// flushMu serializes IndexedDB write transactions: flushes and
	// Installs. It is taken before mu, never while holding mu.
	flushMu sync.Mutex

	mu     sync.Mutex // guards the fields below and every idbSegment
	segs   map[uint64]*idbSegment
	closed bool
	faults []error // injected by FailNextWrite, consumed in order
	stats  IDBStats

	ftx flushTx // the lean write path of flushes (idb_flush.go)

	readOnly bool // IDBOptions.ReadOnly: never writes
}

var _ core.Backend = (*IDBBackend)(nil)

// idbSegment is the in-memory state of one segment. Its logical size is
// flushed + len(inflight) + len(buf).
type idbSegment struct {
	flushed    int64      // bytes in IndexedDB: the sum of the segment's chunks
	inflight   []byte     // bytes taken by the flush in progress; never modified
	flightWait *flushWait // finished when inflight is durable or lost
	buf        []byte     // bytes appended since, not yet taken by a flush
	wait       *flushWait // finished when buf is durable or lost; nil if buf is empty

	// err is set when a flush failed: the segment lost every byte past
	// flushed, and every Sync fails with err until Truncate acknowledges
	// the loss.
	err error
}

// flushWait is what a Sync waits for: the outcome of the flush that takes a
// given run of buffered bytes.
type flushWait struct {
	done chan struct{}
	err  error
}

func newFlushWait() *flushWait { return &flushWait{done: make(chan struct{})} }

func (w *flushWait) finish(err error) {
	w.err = err
	close(w.done)
}

func (w *flushWait) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// OpenIDB opens (creating it if needed) the IndexedDB database name and
// returns a backend on it. It reads the size of every segment, one chunk
// per segment, so that appends can continue where the data ends.
//
// Several backends may open the same database (for example in several
// tabs), but only one may write: core's single-writer rule, enforced in the
// browser with Web Locks by the caller.
func OpenIDB(ctx context.Context, name string, opts IDBOptions) (*IDBBackend, error) {
	factory, err := idbFactory("open", name)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		if err := mustExist(name); err != nil {
			return nil, err
		}
	}
	req, err := factory.Open(ctx, name, idbVersion, func(db *idb.Database, oldVersion, _ uint) error {
		if oldVersion < 1 {
			_, err := db.CreateObjectStore(chunkStore, idb.ObjectStoreOptions{})
			return err
		}
		return nil
	})
	if err != nil {
		return nil, wrapIDBError("open", name, err)
	}
	db, err := req.Await(ctx)
	if err != nil {
		return nil, wrapIDBError("open", name, err)
	}
	jsDB, err := req.Request.Result()
	if err != nil {
		_ = db.Close()
		return nil, wrapIDBError("open", name, err)
	}
	stores, err := db.ObjectStoreNames()
	if err != nil || !slices.Contains(stores, chunkStore) {
		_ = db.Close()
		return nil, &IDBError{Op: "open", DB: name, Err: fmt.Errorf("%w: no %q object store (stores: %v, err: %v)", ErrCorruptStore, chunkStore, stores, err)}
	}
	b := &IDBBackend{
		name:       name,
		durability: opts.Durability.idb(),
		db:         db,
		jsDB:       jsDB,
		segs:       map[uint64]*idbSegment{},
		readOnly:   opts.ReadOnly,
	}
	sizes, err := b.scanSizes(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	b.initFlushTx()
	for id, size := range sizes {
		b.segs[id] = &idbSegment{flushed: size}
	}
	return b, nil
}

// DeleteIDB deletes the IndexedDB database name and all its data. It waits
// until the browser reports the deletion, or until ctx ends. The browser
// delays the deletion while another connection to the database stays open
// ("blocked"); connections opened by go-indexeddb, including an open
// IDBBackend's, close themselves when asked, after which that backend fails
// with ErrInvalidState. Deleting a database that does not exist succeeds.
func DeleteIDB(ctx context.Context, name string) error {
	factory, err := idbFactory("delete", name)
	if err != nil {
		return err
	}
	req, err := factory.DeleteDatabase(name)
	if err != nil {
		return wrapIDBError("delete", name, err)
	}
	return wrapIDBError("delete", name, req.Await(ctx))
}

func idbFactory(op, name string) (*idb.Factory, error) {
	g := js.Global().Get("indexedDB")
	if !g.Truthy() {
		return nil, &IDBError{Op: op, DB: name, Err: ErrUnavailable}
	}
	f, err := idb.WrapFactory(g)
	if err != nil {
		return nil, wrapIDBError(op, name, err)
	}
	return f, nil
}

// scanSizes returns the size of every segment in IndexedDB. It walks a
// cursor backwards and jumps from the last chunk of a segment to the last
// chunk of the one before, so it visits one record per segment.
func (b *IDBBackend) scanSizes(ctx context.Context) (map[uint64]int64, error) {
	txn, err := b.db.Transaction(idb.TransactionReadOnly, chunkStore)
	if err != nil {
		return nil, wrapIDBError("open", b.name, err)
	}
	store, err := txn.ObjectStore(chunkStore)
	if err != nil {
		return nil, wrapIDBError("open", b.name, err)
	}
	creq, err := store.OpenCursor(idb.CursorPrevious)
	if err != nil {
		return nil, wrapIDBError("open", b.name, err)
	}
	sizes := map[uint64]int64{}
	err = creq.Iter(ctx, func(c *idb.CursorWithValue) error {
		key, err := c.Key()
		if err != nil {
			return err
		}
		seg, off, err := parseKey(key)
		if err != nil {
			return err
		}
		val, err := c.Value()
		if err != nil {
			return err
		}
		n, err := chunkLen(val)
		if err != nil {
			return fmt.Errorf("segment %d offset %d: %w", seg, off, err)
		}
		if off+n > maxSafeInteger {
			return fmt.Errorf("%w: segment %d is larger than 2^53 bytes", ErrCorruptStore, seg)
		}
		sizes[seg] = off + n
		// In the "prev" direction, continue(k) moves to the greatest key
		// <= k; [seg] sorts before every [seg, offset].
		return c.ContinueKey(js.ValueOf([]any{float64(seg)}))
	})
	if err != nil {
		return nil, wrapIDBError("open", b.name, err)
	}
	return sizes, nil
}

// Stats returns the counters so far.
func (b *IDBBackend) Stats() IDBStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// FailNextWrite makes the next IndexedDB write transaction of b (a flush by
// Sync or Close, or an Install) fail with an error that wraps err. Several
// calls queue several failures. It exists for tests: a real
// QuotaExceededError is hard to produce in a headless browser, so pass
// ErrQuotaExceeded (or ErrAbort, ErrUnknown) to see how core handles one.
//
// The failure is real as far as IndexedDB goes: the transaction is started
// and gets all its writes, then one more request fails on purpose
// (a duplicate add), so IndexedDB itself aborts the transaction and rolls
// back every write in it. The backend then handles the failure exactly as it
// handles a quota error. (It does not call transaction.abort(): go-indexeddb's
// Transaction.Await reports a transaction aborted that way as a success,
// because its error is null.)
func (b *IDBBackend) FailNextWrite(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = append(b.faults, err)
}

// takeFault pops the next injected fault. b.mu must be held.
func (b *IDBBackend) takeFault() error {
	if len(b.faults) == 0 {
		return nil
	}
	err := b.faults[0]
	b.faults = b.faults[1:]
	return err
}

// segment returns segment id. b.mu must be held.
func (b *IDBBackend) segment(id uint64) (*idbSegment, error) {
	if b.closed {
		return nil, core.ErrClosed
	}
	s, ok := b.segs[id]
	if !ok {
		return nil, fmt.Errorf("dbrs: IndexedDB backend %q: segment %d does not exist", b.name, id)
	}
	return s, nil
}

// Synced implements core.SyncedSizer: the bytes of segment id that are in
// IndexedDB. A flush takes every buffered byte, so it may cover commits that
// core had not asked it to; after a failed flush core keeps those.
func (b *IDBBackend) Synced(id uint64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.segs[id]; ok {
		return s.flushed
	}
	return 0
}

// Segments implements core.Backend. It lists the segments that have chunks
// in IndexedDB (a key cursor that visits one key per segment), plus the
// segments this backend knows in memory: created ones with no chunk yet.
// Reading IndexedDB, and not only memory, lets a reader in another tab see
// the segments the writer made.
func (b *IDBBackend) Segments() ([]uint64, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, core.ErrClosed
	}
	ids := make([]uint64, 0, len(b.segs))
	for id := range b.segs {
		if !b.readOnly {
			ids = append(ids, id)
		}
	}
	b.mu.Unlock()

	txn, err := b.db.Transaction(idb.TransactionReadOnly, chunkStore)
	if err != nil {
		return nil, wrapIDBError("segments", b.name, err)
	}
	store, err := txn.ObjectStore(chunkStore)
	if err != nil {
		return nil, wrapIDBError("segments", b.name, err)
	}
	creq, err := store.OpenKeyCursor(idb.CursorNext)
	if err != nil {
		return nil, wrapIDBError("segments", b.name, err)
	}
	err = creq.Iter(context.Background(), func(c *idb.Cursor) error {
		key, err := c.Key()
		if err != nil {
			return err
		}
		seg, _, err := parseKey(key)
		if err != nil {
			return err
		}
		ids = append(ids, seg)
		// [seg, []] sorts after every [seg, offset] and before [seg+1, 0].
		return c.ContinueKey(js.ValueOf([]any{float64(seg), []any{}}))
	})
	if err != nil {
		return nil, wrapIDBError("segments", b.name, err)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Create implements core.Backend. It registers the segment in memory and
// does not wait on IndexedDB; see "Created segments" at the top of this
// file for why that is safe and when the segment becomes durable.
func (b *IDBBackend) Create(id uint64) error {
	if id > maxSafeInteger {
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment ID %d exceeds 2^53-1", b.name, id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return core.ErrClosed
	}
	if b.readOnly {
		return core.ErrReadOnly
	}
	if _, ok := b.segs[id]; ok {
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment %d exists", b.name, id)
	}
	b.segs[id] = &idbSegment{}
	return nil
}

// Append implements core.Backend. It copies p into the segment's buffer and
// never waits on IndexedDB. off must lie within the unflushed bytes: bytes
// already flushed (or being flushed) cannot be overwritten.
func (b *IDBBackend) Append(id uint64, off int64, p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.readOnly {
		return core.ErrReadOnly
	}
	s, err := b.segment(id)
	if err != nil {
		return err
	}
	if s.err != nil {
		return s.err
	}
	base := s.flushed + int64(len(s.inflight))
	end := base + int64(len(s.buf))
	switch {
	case off > end:
		return fmt.Errorf("dbrs: IndexedDB backend %q: append at %d past the end %d of segment %d", b.name, off, end, id)
	case off < base:
		return fmt.Errorf("dbrs: IndexedDB backend %q: append at %d into the %d flushed bytes of segment %d", b.name, off, base, id)
	case off+int64(len(p)) > maxSafeInteger:
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment %d would exceed 2^53-1 bytes", b.name, id)
	}
	s.buf = append(s.buf[:off-base], p...)
	if s.wait == nil && len(s.buf) > 0 {
		s.wait = newFlushWait()
	}
	b.stats.Appends++
	return nil
}

// Sync implements core.Backend. It returns at once when segment id has no
// unflushed bytes. Otherwise it waits for the flush that takes them: the one
// in progress, or the next one, which it runs itself if no other Sync did.
// A failed flush fails every Sync whose bytes it held, and every later Sync
// of the segments it held until Truncate (see Truncate).
func (b *IDBBackend) Sync(id uint64) error {
	b.mu.Lock()
	b.stats.Syncs++
	s, err := b.segment(id)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if s.err != nil {
		b.mu.Unlock()
		return s.err
	}
	var w *flushWait
	switch {
	case len(s.buf) > 0:
		w = s.wait
	case s.inflight != nil:
		w = s.flightWait
	}
	b.mu.Unlock()
	if w == nil {
		// Nothing to flush. Yield anyway: js/wasm has no preemption, and a
		// caller that loops on Sync must not starve the other goroutines.
		runtime.Gosched()
		return nil
	}

	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	if !w.finished() {
		// w's bytes are still buffered, and no flush runs (we hold
		// flushMu): the flush below takes them and finishes w.
		if err := b.flush(); err != nil && !w.finished() {
			return err
		}
	}
	<-w.done
	return w.err
}

// flush writes every buffered byte of every segment, in segment order, as
// new chunks in one readwrite transaction and waits for it. b.flushMu must
// be held. With nothing buffered it returns nil without touching IndexedDB.
//
// If the transaction fails, IndexedDB wrote none of it. The bytes it held
// go back in front of the buffer, ahead of those appended while it ran, so
// nothing core appended is lost: core cuts the failed commits with
// Truncate, and what stays (a segment's schema record, commits already
// acknowledged) is flushed by the next Sync. Each such segment keeps the
// error until Truncate. The flushed sizes stay exact.
func (b *IDBBackend) flush() error {
	type part struct {
		id   uint64
		seg  *idbSegment
		off  int64
		data []byte
	}
	b.mu.Lock()
	var ids []uint64
	for id, s := range b.segs {
		if len(s.buf) > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		b.mu.Unlock()
		return nil
	}
	slices.Sort(ids) // not SortFunc on parts: a sort instantiation is 19 KB of wasm code
	parts := make([]part, len(ids))
	for i, id := range ids {
		s := b.segs[id]
		s.inflight, s.buf = s.buf, nil
		s.flightWait, s.wait = s.wait, nil
		parts[i] = part{id: id, seg: s, off: s.flushed, data: s.inflight}
	}
	fault := b.takeFault()
	b.stats.Flushes++
	b.mu.Unlock()

	var chunks []flushChunk
	for _, p := range parts {
		for off, data := p.off, p.data; len(data) > 0; {
			c := data[:min(len(data), maxChunkSize)]
			chunks = append(chunks, flushChunk{seg: p.id, off: off, data: c})
			off += int64(len(c))
			data = data[len(c):]
		}
	}
	err := b.writeChunks(chunks, fault)

	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.stats.FailedFlushes++
	} else {
		b.stats.Chunks += len(chunks)
	}
	for _, p := range parts {
		s := p.seg
		w := s.flightWait
		s.inflight, s.flightWait = nil, nil
		if err == nil {
			s.flushed += int64(len(p.data))
			b.stats.Bytes += int64(len(p.data))
			w.finish(nil)
			continue
		}
		s.err = fmt.Errorf("dbrs: IndexedDB backend %q: a flush of segment %d failed; Truncate it (to %d or more) to write again: %w", b.name, p.id, s.flushed, err)
		if s.wait != nil {
			s.wait.finish(s.err)
			s.wait = nil
		}
		s.buf = append(p.data, s.buf...)
		w.finish(err)
	}
	return err
}

// write runs one readwrite transaction: fill issues its requests, then write
// waits for the transaction to complete. fault, if not nil, makes IndexedDB
// abort the transaction (see FailNextWrite), and write then returns fault.
// It must not be called with b.mu held.
func (b *IDBBackend) write(op string, d idb.TransactionDurability, fault error, fill func(*idb.ObjectStore) error) error {
	// Everything from here to Await runs without blocking, so the
	// transaction cannot auto-commit before all requests are issued: the
	// JS event loop only runs when every goroutine is blocked.
	txn, err := b.db.TransactionWithOptions(idb.TransactionOptions{Mode: idb.TransactionReadWrite, Durability: d}, chunkStore)
	if err != nil {
		return wrapIDBError(op, b.name, err)
	}
	durability, _ := txn.Durability()
	store, err := txn.ObjectStore(chunkStore)
	if err == nil {
		err = fill(store)
	}
	if err == nil && fault != nil {
		// A put then an add of the same key: the add fails with a
		// ConstraintError, and IndexedDB aborts the transaction.
		v := js.Global().Get("Uint8Array").New(0)
		if _, err = store.PutKey(faultKey, v); err == nil {
			_, err = store.AddKey(faultKey, v)
		}
	}
	if err != nil {
		_ = txn.Abort()
		return wrapIDBError(op, b.name, err)
	}
	err = txn.Await(context.Background())
	b.mu.Lock()
	b.stats.Durability = durability.String()
	b.mu.Unlock()
	if err != nil && fault != nil {
		return injectedError(op, b.name, fault)
	}
	return wrapIDBError(op, b.name, err)
}

// injectedError is the error of a transaction failed by FailNextWrite.
func injectedError(op, db string, fault error) error {
	e := &IDBError{Op: op, DB: db, Message: "injected by FailNextWrite", Err: fault}
	for _, m := range domExceptionErrors {
		if errors.Is(fault, m.err) {
			e.Name = m.name
			break
		}
	}
	return e
}

// putChunks issues puts for data at offset off of segment seg, in chunks of
// at most maxChunkSize, and returns how many.
func putChunks(store *idb.ObjectStore, seg uint64, off int64, data []byte) (int, error) {
	n := 0
	u8 := js.Global().Get("Uint8Array")
	for len(data) > 0 {
		c := data[:min(len(data), maxChunkSize)]
		v := u8.New(len(c))
		js.CopyBytesToJS(v, c)
		if _, err := store.PutKey(chunkKey(seg, off), v); err != nil {
			return n, err
		}
		n++
		off += int64(len(c))
		data = data[len(c):]
	}
	return n, nil
}

func chunkKey(seg uint64, off int64) js.Value {
	return js.ValueOf([]any{float64(seg), float64(off)})
}

// segmentRange returns the key range of every chunk of seg.
func segmentRange(seg uint64) js.Value {
	return js.Global().Get("IDBKeyRange").Call("bound",
		js.ValueOf([]any{float64(seg)}),
		js.ValueOf([]any{float64(seg), []any{}}))
}

// parseKey checks that key is [segment, offset] and returns both.
func parseKey(key js.Value) (seg uint64, off int64, err error) {
	bad := func() (uint64, int64, error) {
		return 0, 0, fmt.Errorf("%w: key %s is not [segment, offset]", ErrCorruptStore, js.Global().Get("JSON").Call("stringify", key).String())
	}
	if !js.Global().Get("Array").Call("isArray", key).Bool() || key.Length() != 2 {
		return bad()
	}
	s, o := key.Index(0), key.Index(1)
	if s.Type() != js.TypeNumber || o.Type() != js.TypeNumber {
		return bad()
	}
	sf, of := s.Float(), o.Float()
	if sf < 0 || of < 0 || sf > maxSafeInteger || of > maxSafeInteger || sf != float64(uint64(sf)) || of != float64(int64(of)) {
		return bad()
	}
	return uint64(sf), int64(of), nil
}

// chunkLen returns the length of a chunk value, which must be a Uint8Array.
func chunkLen(v js.Value) (int64, error) {
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return 0, fmt.Errorf("%w: a chunk value is a %s, not a Uint8Array", ErrCorruptStore, v.Type())
	}
	return int64(v.Length()), nil
}

// Truncate implements core.Backend. It only drops buffered bytes, so it
// never waits on IndexedDB: cutting into flushed bytes, or into bytes a
// flush is writing, is an error (core only truncates to the durable end).
// A successful Truncate also clears the error a failed flush left on the
// segment: it is how core acknowledges the lost bytes.
func (b *IDBBackend) Truncate(id uint64, size int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.readOnly {
		return core.ErrReadOnly
	}
	s, err := b.segment(id)
	if err != nil {
		return err
	}
	base := s.flushed + int64(len(s.inflight))
	switch {
	case size < s.flushed:
		return fmt.Errorf("dbrs: IndexedDB backend %q: cannot truncate segment %d to %d: %d bytes are flushed", b.name, id, size, s.flushed)
	case size < base:
		return fmt.Errorf("dbrs: IndexedDB backend %q: cannot truncate segment %d to %d: bytes up to %d are being flushed", b.name, id, size, base)
	}
	if keep := size - base; keep < int64(len(s.buf)) {
		s.buf = s.buf[:keep]
		if keep == 0 && s.wait != nil {
			// The bytes a Sync would wait for are gone by core's request.
			s.wait.finish(nil)
			s.wait = nil
		}
	}
	s.err = nil
	return nil
}

// Install implements core.Backend. It writes the chunks of segment id and
// deletes every chunk of the removed segments in one readwrite transaction
// with strict durability, so after a crash id is absent or complete, and
// the removals happen with it or not at all. Removed segments lose their
// buffered bytes; a Sync waiting for them fails.
func (b *IDBBackend) Install(id uint64, chunks [][]byte, remove []uint64) error {
	if b.readOnly {
		return core.ErrReadOnly
	}
	if id > maxSafeInteger {
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment ID %d exceeds 2^53-1", b.name, id)
	}
	var total int64
	for _, c := range chunks {
		total += int64(len(c))
	}
	if total > maxSafeInteger {
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment %d would exceed 2^53-1 bytes", b.name, id)
	}

	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return core.ErrClosed
	}
	if _, ok := b.segs[id]; ok {
		b.mu.Unlock()
		return fmt.Errorf("dbrs: IndexedDB backend %q: segment %d exists", b.name, id)
	}
	fault := b.takeFault()
	b.stats.Installs++
	b.mu.Unlock()

	err := b.write("install", idb.DurabilityStrict, fault, func(store *idb.ObjectStore) error {
		var off int64
		for _, c := range chunks {
			if _, err := putChunks(store, id, off, c); err != nil {
				return err
			}
			off += int64(len(c))
		}
		for _, r := range remove {
			if r == id {
				continue
			}
			if _, err := store.Delete(segmentRange(r)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range remove {
		s, ok := b.segs[r]
		if !ok || r == id {
			continue
		}
		if s.wait != nil {
			s.wait.finish(fmt.Errorf("dbrs: IndexedDB backend %q: segment %d was removed by Install before its bytes were flushed", b.name, r))
		}
		delete(b.segs, r)
	}
	b.segs[id] = &idbSegment{flushed: total}
	return nil
}

// ReadSegment implements core.Backend. It reads the segment's chunks with
// one getAll and one getAllKeys in a readonly transaction, checks that they
// tile the segment, and appends the bytes not yet flushed. A segment known
// to have no flushed byte is read from memory alone.
func (b *IDBBackend) ReadSegment(id uint64) ([]byte, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, core.ErrClosed
	}
	s, known := b.segs[id]
	known = known && !b.readOnly // another tab writes: IndexedDB is the truth
	var (
		flushed  int64
		inflight []byte // aliases s.inflight, which nobody modifies
		buf      []byte
	)
	if known {
		flushed, inflight, buf = s.flushed, s.inflight, slices.Clone(s.buf)
		if flushed == 0 && inflight == nil {
			b.mu.Unlock()
			if buf == nil {
				buf = []byte{}
			}
			return buf, nil
		}
	}
	b.stats.Reads++
	// Start the read while holding mu, so that it is ordered with the
	// flushes as the snapshot above is: IndexedDB runs a readonly
	// transaction after every readwrite one created before it, and before
	// every one created after it.
	var keysReq, valsReq js.Value
	err := jsTry(func() {
		txn := b.jsDB.Call("transaction", chunkStore, "readonly")
		store := txn.Call("objectStore", chunkStore)
		r := segmentRange(id)
		keysReq = store.Call("getAllKeys", r)
		valsReq = store.Call("getAll", r)
	})
	b.mu.Unlock()
	if err != nil {
		return nil, wrapIDBError("read", b.name, err)
	}
	res, err := awaitRequests("read", b.name, keysReq, valsReq)
	if err != nil {
		return nil, err
	}
	keys, vals := res[0], res[1]
	n := keys.Length()
	if vals.Length() != n {
		return nil, &IDBError{Op: "read", DB: b.name, Err: fmt.Errorf("%w: segment %d has %d keys but %d values", ErrCorruptStore, id, n, vals.Length())}
	}
	if n == 0 && !known {
		return nil, fmt.Errorf("dbrs: IndexedDB backend %q: segment %d does not exist", b.name, id)
	}
	var stored int64
	lens := make([]int64, n)
	chunks := make([]js.Value, n)
	for i := range n {
		seg, off, err := parseKey(keys.Index(i))
		if err == nil && (seg != id || off != stored) {
			err = fmt.Errorf("%w: segment %d: chunk at offset %d, want %d (a chunk is missing)", ErrCorruptStore, id, off, stored)
		}
		if err == nil {
			chunks[i] = vals.Index(i)
			lens[i], err = chunkLen(chunks[i])
		}
		if err != nil {
			return nil, &IDBError{Op: "read", DB: b.name, Err: err}
		}
		stored += lens[i]
	}
	var tail [][]byte
	switch {
	case !known:
	case stored == flushed:
		tail = [][]byte{inflight, buf}
	case inflight != nil && stored == flushed+int64(len(inflight)):
		tail = [][]byte{buf} // the flush in progress committed before the read
	default:
		return nil, &IDBError{Op: "read", DB: b.name, Err: fmt.Errorf("%w: segment %d holds %d bytes, want %d (written by another connection?)", ErrCorruptStore, id, stored, flushed)}
	}
	size := stored
	for _, t := range tail {
		size += int64(len(t))
	}
	data := make([]byte, size)
	var off int64
	for i := range n {
		js.CopyBytesToGo(data[off:off+lens[i]], chunks[i])
		off += lens[i]
	}
	for _, t := range tail {
		off += int64(copy(data[off:], t))
	}
	return data, nil
}

// awaitRequests waits until every IDBRequest in reqs has fired "success" or
// "error", and returns their results. Each request fires exactly one of
// them, even when its transaction aborts, so it waits for all before it
// releases the callbacks. It must not run inside a js.FuncOf callback.
func awaitRequests(op, db string, reqs ...js.Value) ([]js.Value, error) {
	type outcome struct {
		i   int
		ok  bool
		val js.Value
	}
	ch := make(chan outcome, len(reqs))
	type listener struct {
		req, event js.Value
		fn         js.Func
	}
	var ls []listener
	for i, r := range reqs {
		for _, ok := range []bool{true, false} {
			event := "error"
			if ok {
				event = "success"
			}
			fn := js.FuncOf(func(js.Value, []js.Value) any {
				if ok {
					ch <- outcome{i: i, ok: true, val: r.Get("result")}
				} else {
					ch <- outcome{i: i, val: r.Get("error")}
				}
				return nil
			})
			r.Call("addEventListener", event, fn)
			ls = append(ls, listener{req: r, event: js.ValueOf(event), fn: fn})
		}
	}
	out := make([]js.Value, len(reqs))
	var first error
	for range reqs {
		o := <-ch
		if o.ok {
			out[o.i] = o.val
		} else if first == nil {
			first = jsDOMExceptionError(op, db, o.val)
		}
	}
	for _, l := range ls {
		l.req.Call("removeEventListener", l.event, l.fn)
		l.fn.Release()
	}
	return out, first
}

// jsTry runs f and returns, as an error, a JS exception it throws.
func jsTry(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			je, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = je
		}
	}()
	f()
	return nil
}

// Close implements core.Backend. It flushes the bytes still buffered (so a
// clean shutdown keeps them, as an OS file keeps unsynced writes when its
// process exits), then closes the connection. It returns the flush error,
// if any. A second Close does nothing.
func (b *IDBBackend) Close() error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	err := b.flush()
	b.releaseFlushTx()
	if cerr := b.db.Close(); err == nil {
		err = wrapIDBError("close", b.name, cerr)
	}
	return err
}
