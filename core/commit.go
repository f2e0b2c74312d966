package core

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"time"
)

// The commit path.
//
// A writer holds e.mu exclusively while it applies its changes to memory
// (recording undo steps), encodes them as one commit record and appends the
// record to the active segment. It then releases e.mu and, under SyncAlways,
// waits in waitDurable. The first waiter to find no sync running becomes the
// syncer: it syncs everything appended so far and wakes every commit that
// sync covered. Commits that arrive during a sync are covered by the next
// one, so N concurrent commits cost far fewer than N syncs. Their records
// are staged rather than appended (stageLocked): the next syncer appends
// them in one call before it syncs, so that they cost one write instead of
// one each, made outside e.mu.
//
// Failure rules (design §4.3):
//   - A failed Append rolls the transaction back, cuts the segment back to
//     where the record started, and returns the error. The database goes on.
//     A failed append of staged records fails like a failed Sync, below.
//   - A failed Sync under SyncAlways fails every commit not yet durable:
//     their changes are undone in memory, newest first, and the segments are
//     cut back to the last durable byte. Until that recovery has run, no new
//     commit is appended (beginLocked runs it first).
//   - Anything that leaves the log in an unknown state (a failed cut, or a
//     failed background sync of already acknowledged commits) poisons the
//     database: every later write returns an error matching ErrPoisoned and
//     the cause, until it is reopened. Memory never silently diverges.

// maxKeptWriteBuffer is the largest write buffer a transaction leaves for
// the next one to reuse.
const maxKeptWriteBuffer = 1 << 20

// pendingCommit is a commit appended to the log but not yet durable.
type pendingCommit struct {
	seg      uint64
	start    int64 // offset of its record in seg
	end      int64 // offset just past its record
	undo     undoSteps
	failing  bool // its sync failed; recovery has not finished (smu)
	finished bool // durable, or failed and recovered (smu)
	err      error
	change   *Change // published once durable, if anyone subscribed
}

// beginLocked starts a write transaction. e.mu is held exclusively.
func (e *engine) beginLocked() (*txn, error) {
	if err := e.writableLocked(); err != nil {
		return nil, err
	}
	e.releaseLargeBuffer()
	e.w.startTx(e.partSize)
	e.txOpen.Store(true)
	t := &txn{w: e.w}
	e.streams(t)
	return t, nil
}

// writableLocked returns why the database cannot take a write, after
// repairing the effects of a failed sync if one is pending.
func (e *engine) writableLocked() error {
	if e.closed {
		return ErrClosed
	}
	if e.opts.ReadOnly {
		return ErrReadOnly
	}
	e.recoverLocked()
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.poison
}

// setPoison makes the database refuse writes. smu must be held.
func (e *engine) setPoisonLocked(cause error) {
	if e.poison == nil {
		e.poison = &poisonError{cause: cause}
	}
}

func (e *engine) autoCommit(table uint32, op func(t *txn) error) error {
	start := time.Now()
	if err := e.lock(); err != nil {
		return err
	}
	t, err := e.beginLocked()
	if err != nil {
		e.mu.Unlock()
		return err
	}
	ok := false
	defer func() {
		if !ok {
			e.rollbackAndUnlock(t)
		}
	}()
	if err := op(t); err != nil {
		return err
	}
	t.touch(table)
	ok = true
	pc, err := e.commitLocked(t)
	e.mu.Unlock()
	if err != nil {
		e.syncCuts()
		return err
	}
	if err := e.waitDurable(pc); err != nil {
		return err
	}
	if pc != nil || e.opts.Sync != SyncAlways {
		e.lastCommitNanos.Store(int64(time.Since(start)))
	}
	return nil
}

// rollbackAndUnlock undoes t and releases the write lock, which e.mu holds.
// An undo step that panics (a custom table's) leaves memory unknown: the
// database is poisoned, the lock released, and the panic goes on.
func (e *engine) rollbackAndUnlock(t *txn) {
	t.closed.Store(true)
	if t.stream != nil {
		defer e.syncCuts() // runs last, once e.mu is released
		e.cutStreamLocked(t, errRolledBackParts)
	}
	defer e.mu.Unlock()
	defer e.txOpen.Store(false)
	defer func() {
		if r := recover(); r != nil {
			e.smu.Lock()
			e.setPoisonLocked(fmt.Errorf("dbrs: an undo step panicked: %v", r))
			e.smu.Unlock()
			panic(r)
		}
	}()
	t.rollback()
}

// commitLocked closes t and appends its record. e.mu is held exclusively
// and stays held. It returns the pending commit to wait for, or nil when
// there is nothing to wait for (an empty transaction, or a sync mode that
// acknowledges on append).
func (e *engine) commitLocked(t *txn) (*pendingCommit, error) {
	t.closed.Store(true)
	defer e.txOpen.Store(false)
	if t.w.count() == 0 {
		return nil, nil
	}
	t.w.spill = nil
	mark := int64(-1)
	if t.stream == nil { // nothing may come between parts and their commit
		mark = e.wm.due(e.active)
	}
	pieces, records, err := t.w.records(e.recordLimit, e.partSize, mark)
	// The pieces alias the write buffer, which the next transaction
	// reuses: backends do not keep what they are given past Append.
	if err == nil && t.stream != nil && t.stream.err != nil {
		err = &writeError{cause: t.stream.err}
	}
	if err != nil {
		t.rollback()
		e.cutStreamLocked(t, err) // the caller runs syncCuts
		return nil, err
	}
	// The transaction's records span [start, end): its streamed parts,
	// then what is appended now, from at.
	at := e.segSize[e.active]
	start, end := at, at
	parts := 0
	if t.stream != nil {
		start, parts = t.stream.start, t.stream.records
	}
	if e.stageLocked(pieces, at) {
		for _, p := range pieces {
			end += int64(len(p))
		}
	} else {
		for _, p := range pieces {
			if err = e.b.Append(e.active, end, p); err != nil {
				break
			}
			end += int64(len(p))
		}
	}
	var rec []byte // the records, for the followers (who never see a streamed transaction)
	if err == nil && e.tapping() {
		rec = make([]byte, 0, end-at)
		for _, p := range pieces {
			rec = append(rec, p...)
		}
	}
	e.releaseLargeBuffer() // the pieces are no longer needed
	if err != nil {
		t.rollback()
		e.cutLocked(map[uint64]int64{e.active: start}, err)
		return nil, &writeError{cause: err} // the caller runs syncCuts
	}
	e.grewLocked(e.active, end-at)
	if mark >= 0 {
		e.wm.written = mark
	}
	e.records += int64(records + parts)
	e.commits.Add(1)
	e.seq++
	var change *Change
	if tap := e.tapping(); tap || e.hasSubscribers() {
		c := e.changeOf(e.seq, t.touched)
		if tap {
			c.shipped = &Committed{Change: c, Segment: e.active, Offset: start, End: end, Record: rec}
		}
		change = &c
	}
	e.maybeKickCompaction()
	if e.opts.Sync != SyncAlways {
		e.dirty.Store(true)
		if change != nil {
			e.publish(*change) // durable as the mode promises: now
		}
		return nil, nil
	}
	pc := &pendingCommit{seg: e.active, start: start, end: end, undo: t.undo, change: change}
	e.smu.Lock()
	if len(e.failed) > 0 {
		// A sync failed after this transaction began; its bytes follow the
		// failed ones, so it fails with them (the pending recovery takes it).
		pc.failing, pc.err = true, e.failed[0].err
		e.failed = append(e.failed, pc)
	} else {
		e.pending = append(e.pending, pc)
	}
	e.smu.Unlock()
	return pc, nil
}

// stagedRun is a stretch of commit records staged for the next syncer to
// append, at off in segment seg.
type stagedRun struct {
	seg uint64
	off int64
	b   []byte
}

// stageLocked reports whether the records of a commit that begin at start
// in the active segment need no Append now. While a sync is running or
// records are already staged (a commit appended on its own then would wait
// for the next sync anyway), it copies them into e.staged for the next
// syncer to append with the others in one call; staged records always
// follow every appended one, so the backend sees appends in log order.
// While failed commits wait for recovery it drops them: the commit fails
// with those (commitLocked), recovery cuts the log back to before them, and
// their own records may follow staged ones that were never appended. e.mu
// is held.
func (e *engine) stageLocked(pieces [][]byte, start int64) bool {
	if e.opts.Sync != SyncAlways {
		return false
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	if len(e.failed) > 0 {
		return true
	}
	if !e.syncing && len(e.staged) == 0 {
		return false
	}
	n := len(e.staged)
	if n == 0 || e.staged[n-1].seg != e.active || e.staged[n-1].off+int64(len(e.staged[n-1].b)) != start {
		e.staged = append(e.staged, stagedRun{seg: e.active, off: start})
		n++
	}
	r := &e.staged[n-1]
	for _, p := range pieces {
		r.b = append(r.b, p...)
	}
	return true
}

// releaseLargeBuffer drops the chunks of a large transaction, and a write
// buffer grown past maxKeptWriteBuffer: after a bulk load, a buffer kept
// until the next transaction would hold as much memory as the data. e.mu
// is held.
func (e *engine) releaseLargeBuffer() {
	e.w.dropKept()
	if e.w.buf.Cap() > maxKeptWriteBuffer {
		e.w.buf = bytes.Buffer{}
	}
}

func (e *engine) grewLocked(seg uint64, n int64) {
	e.segSize[seg] += n
	e.logBytes += n
}

// waitDurable blocks until pc is durable or has failed. A nil pc is durable.
// yieldBeforeSync is false in wasm, where goroutines run only while JS
// has called into Go: a yield there can let the call return to JS with the
// syncer runnable but stopped until some later event, and the commits it
// would sync wait for that event (the browser's wake-up, dbrs_run in
// platform/wasm, runs Go until the settler has run, not until it blocks).
// Writers never run in parallel there anyway.
const yieldBeforeSync = runtime.GOARCH != "wasm"

func (e *engine) waitDurable(pc *pendingCommit) error {
	if pc == nil {
		return nil
	}
	e.smu.Lock()
	for !pc.finished {
		if e.syncing || e.recovering {
			e.scond.Wait()
			continue
		}
		if pc.failing {
			// Its sync failed and nobody is undoing it: do it now, unless
			// that needs the write lock from an open transaction.
			if !e.recoverOrDefer() {
				break
			}
			continue
		}
		e.syncing = true
		if yieldBeforeSync {
			// Writers woken by the last sync are about to append their
			// next commits: let them run first, so that this sync covers
			// them too instead of leaving them a sync of their own
			// (larger groups, fewer syncs). With no other goroutine
			// runnable, this returns at once.
			e.smu.Unlock()
			runtime.Gosched()
			e.smu.Lock()
		}
		batch := len(e.pending)
		var segs []uint64
		for _, p := range e.pending {
			if len(segs) == 0 || segs[len(segs)-1] != p.seg {
				segs = append(segs, p.seg)
			}
		}
		staged := e.staged
		e.staged = nil
		e.smu.Unlock()
		var err error
		for _, r := range staged {
			if err = e.b.Append(r.seg, r.off, r.b); err != nil {
				break
			}
		}
		for _, s := range segs {
			if err != nil {
				break
			}
			err = e.b.Sync(s)
		}
		e.smu.Lock()
		e.syncing = false
		e.syncs.Add(1)
		if err == nil {
			if batch > 0 {
				last := e.pending[batch-1] // log order: the furthest
				e.wm.advance(last.seg, last.end)
			}
			for _, p := range e.pending[:batch] {
				p.finished = true
				if p.change != nil {
					e.publish(*p.change)
				}
			}
			e.pending = slices.Delete(e.pending, 0, batch)
			e.scond.Broadcast()
			continue
		}
		// Commits the backend made durable anyway succeed; if one this sync
		// covered was not, it and every later one fail. They are undone and cut by
		// this goroutine; their callers hear of it only once the cut is
		// durable (recoverOrDefer).
		kept := 0
		if sz, ok := e.b.(SyncedSizer); ok {
			for _, p := range e.pending {
				if p.end > sz.Synced(p.seg) {
					break
				}
				p.finished = true
				if p.change != nil {
					e.publish(*p.change)
				}
				kept++
			}
		}
		if kept >= batch {
			// Every commit this sync covered is durable. Those appended
			// after it was called were not covered, so its failure says
			// nothing about them: they wait for the next sync.
			e.pending = slices.Delete(e.pending, 0, kept)
			e.scond.Broadcast()
			continue
		}
		werr := &writeError{cause: err}
		for _, p := range e.pending[kept:] {
			p.failing, p.err = true, werr
		}
		e.failed = append(e.failed, e.pending[kept:]...)
		e.pending = nil
		e.staged = nil // their records: recovery cuts the log back to the first
		e.scond.Broadcast()
		if !e.recoverOrDefer() {
			break
		}
	}
	err := pc.err
	e.smu.Unlock()
	return err
}

// recoverOrDefer undoes and cuts the commits whose sync failed, makes the
// cut durable, and only then tells their callers (they wait on scond). It
// needs the write lock. When a write transaction holds it, the holder may
// be the very goroutine that waits here (CommitAsync, then Begin, then
// wait), so it does not wait for the lock: it leaves the work to that
// transaction (its begin or commit runs the recovery, and the commit fails
// too, since its record follows the failed ones) and reports false, and
// the caller returns the failure at once, before the cut is durable (a
// crash may then keep a commit that was reported failed; it was never
// acknowledged). e.smu is held, and is released while it works.
func (e *engine) recoverOrDefer() bool {
	e.recovering = true
	e.smu.Unlock()
	locked := true
	if e.txOpen.Load() {
		locked = e.mu.TryLock()
	} else {
		e.mu.Lock() // readers and compaction hold it only briefly
	}
	if locked {
		e.recoverLocked()
		e.mu.Unlock()
		e.syncCuts()
	}
	e.smu.Lock()
	e.recovering = false
	e.scond.Broadcast()
	return locked
}

// recoverLocked undoes the commits whose sync failed and cuts them from
// the log. e.mu is held exclusively.
func (e *engine) recoverLocked() {
	e.smu.Lock()
	failed := e.failed
	e.failed = nil
	e.smu.Unlock()
	if len(failed) == 0 {
		return
	}
	cut := map[uint64]int64{}
	for i := len(failed) - 1; i >= 0; i-- {
		pc := failed[i]
		pc.undo.run()
		cut[pc.seg] = pc.start
		e.records--
		e.commits.Add(-1)
	}
	e.cutLocked(cut, failed[0].err)
	e.smu.Lock()
	e.recovered = append(e.recovered, failed...)
	e.smu.Unlock()
}

// cutLocked truncates each segment in cut to the given size, so that
// failed commits do not stay in the log. e.mu is held. The truncation is
// made durable by syncCuts, which the caller runs after releasing e.mu
// (a sync may wait on the JS event loop, which must never happen under
// e.mu). If a cut fails, the log's contents are unknown and the database
// is poisoned.
func (e *engine) cutLocked(cut map[uint64]int64, cause error) {
	segs := make([]uint64, 0, len(cut))
	for s := range cut {
		segs = append(segs, s)
	}
	slices.Sort(segs)
	for _, s := range segs {
		size := cut[s]
		if err := e.b.Truncate(s, size); err != nil {
			e.smu.Lock()
			e.setPoisonLocked(cause)
			e.smu.Unlock()
			return
		}
		if old, ok := e.segSize[s]; ok && old > size {
			e.logBytes -= old - size
			e.segSize[s] = size
		}
		if s == e.active {
			e.wm.written = -1 // the cut may have taken the last synced record
		}
	}
	e.smu.Lock()
	e.cutSyncs = append(e.cutSyncs, segs...)
	e.smu.Unlock()
}

// syncCuts makes the truncations of cutLocked durable, then finishes the
// recovered commits, whose callers learn of the failure only now. If the
// cut cannot be made durable, the database is poisoned and they get that
// error. e.mu must not be held.
func (e *engine) syncCuts() {
	e.smu.Lock()
	segs, done := e.cutSyncs, e.recovered
	e.cutSyncs, e.recovered = nil, nil
	e.smu.Unlock()
	var err error
	for _, s := range segs {
		if err = e.b.Sync(s); err != nil {
			break
		}
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	if err != nil {
		e.setPoisonLocked(err)
	}
	for _, pc := range done {
		if e.poison != nil {
			pc.err = e.poison
		}
		pc.failing, pc.finished = false, true
	}
	e.scond.Broadcast()
}

// syncAll makes everything appended durable, for SyncInterval, SyncNever
// and Close. A failure poisons the database: those commits were already
// acknowledged, so they cannot be undone. A compaction may seal and remove
// the segment meanwhile; its snapshot made that segment's bytes durable, so
// the sync moves on to the new active segment.
func (e *engine) syncAll() error {
	if !e.dirty.Swap(false) {
		return nil
	}
	for {
		e.mu.RLock()
		active, size := e.active, e.segSize[e.active]
		e.mu.RUnlock()
		err := e.b.Sync(active)
		if err == nil {
			e.wm.advance(active, size)
			e.syncs.Add(1)
			return nil
		}
		e.mu.RLock()
		moved := e.active != active && !slices.Contains(e.segs, active)
		e.mu.RUnlock()
		if moved {
			continue
		}
		e.smu.Lock()
		e.setPoisonLocked(err)
		e.smu.Unlock()
		return err
	}
}

// drainPending waits until every commit appended so far is durable, or has
// failed and been undone and cut from the log.
func (e *engine) drainPending() {
	e.smu.Lock()
	var last *pendingCommit
	for _, l := range [][]*pendingCommit{e.pending, e.failed, e.recovered} {
		if n := len(l); n > 0 {
			last = l[n-1]
			break
		}
	}
	e.smu.Unlock()
	_ = e.waitDurable(last)
}

func (e *engine) startBackground() {
	if e.opts.ReadOnly {
		return
	}
	if e.opts.Sync == SyncInterval {
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			tick := time.NewTicker(e.opts.SyncInterval)
			defer tick.Stop()
			for {
				select {
				case <-e.stop:
					return
				case <-tick.C:
					_ = e.syncAll()
				}
			}
		}()
	}
	if e.opts.CompactRatio > 0 {
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			for {
				select {
				case <-e.stop:
					return
				case <-e.compactKick:
					err := e.compact()
					msg := ""
					if err != nil {
						msg = err.Error()
					}
					e.lastCompactErr.Store(&msg)
				}
			}
		}()
	}
}

// maybeKickCompaction asks the background compactor to run when the log
// has outgrown the live data. e.mu is held.
func (e *engine) maybeKickCompaction() {
	// Custom and opaque tables count as 0 live bytes; the last snapshot's
	// size stands in for them, so such a table cannot trigger a compaction
	// at every commit.
	live := max(e.liveBytesLocked(), e.snapSize)
	if e.opts.CompactRatio <= 0 || e.logBytes < e.opts.CompactMinBytes ||
		float64(e.logBytes) < e.opts.CompactRatio*float64(live) {
		return
	}
	select {
	case e.compactKick <- struct{}{}:
	default:
	}
}

// liveBytesLocked estimates the size of a fully compacted log: the bytes
// of the entries that would rebuild every built-in table (custom tables and
// opaque ones count as 0). e.mu is held.
func (e *engine) liveBytesLocked() int64 {
	var n int64
	for _, t := range e.tables {
		n += t.state.liveBytes()
	}
	return n
}

func (e *engine) close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		e.bg.Wait()
		e.compactMu.Lock()
		defer e.compactMu.Unlock()
		e.mu.Lock()
		wasClosed := e.closed
		e.closed = true
		e.mu.Unlock()
		if wasClosed {
			return
		}
		e.drainPending()
		var err error
		if !e.opts.ReadOnly {
			err = e.syncAll()
		}
		if cerr := e.b.Close(); err == nil {
			err = cerr
		}
		e.closeErr = err
		e.closeSubscriptions()
	})
	return e.closeErr
}
