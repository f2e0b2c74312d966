package core

import "errors"

// Streaming a large transaction.
//
// A write transaction's pairs are cut into chunks (entry.go). Once a chunk
// is full and no rewind can reach it (it lies before the op that is
// running), the transaction appends it to the active segment at once, as a
// commit-part record, and reuses its buffer: a transaction of any size then
// holds at most a few chunks of encoded pairs, not all of them until its
// commit. Its commit record, appended at commit, ends the run of parts and
// commits them (record.go).
//
// Invariants:
//   - The parts of an open transaction are the last bytes of the active
//     segment, in order: the transaction holds e.mu exclusively, so no other
//     commit is appended and no segment is started meanwhile, and a part is
//     appended only when no staged records wait for a syncer (stageLocked);
//     staged records are added under e.mu, so none appear while it runs.
//   - No synced record comes between a transaction's parts or before its
//     commit record (replay requires a commit-part run to be followed by its
//     commit record): only the first part may carry the synced mark.
//   - A transaction that does not commit leaves no part in the log: a
//     rollback, a failed append and a failed commit cut the segment back to
//     where its first part began (cutLocked) before releasing the write
//     lock, and then make the cut durable (syncCuts), as the recovery from
//     a failed sync does. If the cut fails, the database is poisoned. A
//     crash before the commit record, or before the cut is durable, can
//     leave of the run only bytes past everything appended since: a run of
//     parts at the end of the newest segment, which open cuts as
//     uncommitted (cutUncommitted), or damage no watermark covers, a torn
//     tail.
//   - A transaction whose records a follower needs (Tap) does not stream:
//     its commit ships every record it wrote. Nor does one on a backend
//     that cannot cut durable bytes (StreamingBackend): a sync of earlier
//     commits may make its parts durable before it rolls back.

// spiller takes a transaction's full chunks to the log while it is open.
type spiller interface {
	// spillChunks appends chunks, in order, as commit-part records, or
	// reports false, having appended nothing, when they must wait in
	// memory (a later call, or the commit, writes them).
	spillChunks(chunks []txChunk) bool
}

// txStream is the part of an open transaction already in the log. A
// transaction has one from its first part on (txn.stream, nil before, so
// that the many small transactions do not carry it).
type txStream struct {
	start   int64 // where the first part begins, in the active segment
	records int   // parts appended
	err     error // an append failed: the transaction cannot commit
}

// streams makes t stream its full chunks into the log. e.mu is held
// exclusively, which Tap holds too when it sets the tap: it is read
// without smu, which commits wait on.
func (e *engine) streams(t *txn) {
	if e.streaming && e.follow.tap == nil {
		t.e = e
		t.w.spill = t
	}
}

// spillChunks appends chunks as commit-part records (spiller). e.mu is
// held exclusively.
func (t *txn) spillChunks(chunks []txChunk) bool {
	e := t.e
	if t.stream != nil && t.stream.err != nil {
		return true // the commit fails; what the chunks hold is not needed
	}
	if e.opts.Sync == SyncAlways {
		e.smu.Lock()
		wait := len(e.failed) > 0 || len(e.staged) > 0
		e.smu.Unlock()
		if wait {
			return false
		}
	}
	mark := int64(-1)
	if t.stream == nil {
		t.stream = &txStream{start: e.segSize[e.active]}
		mark = e.wm.due(e.active)
	}
	p := len(commitPrefix)
	for _, c := range chunks {
		pieces, err := frameChunks(t.w.pieces[:0], []txChunk{c}, recordCommitPart, len(c.b)-p, c.n, mark)
		if err == nil {
			err = e.b.Append(e.active, e.segSize[e.active], pieces[0])
		}
		if err != nil {
			t.stream.err = err
			return true
		}
		e.grewLocked(e.active, int64(len(pieces[0])))
		if mark >= 0 {
			e.wm.written, mark = mark, -1
		}
		t.stream.records++
	}
	return true
}

// cutStreamLocked cuts the parts t appended from the log, when it does not
// commit; the caller runs syncCuts once e.mu is released. e.mu is held.
func (e *engine) cutStreamLocked(t *txn, cause error) {
	if t.stream != nil {
		e.cutLocked(map[uint64]int64{e.active: t.stream.start}, cause)
	}
}

// errRolledBackParts is the cause of the poison when a rolled-back
// transaction's parts cannot be cut from the log.
var errRolledBackParts = errors.New("dbrs: the records of a rolled-back transaction could not be cut from the log")
