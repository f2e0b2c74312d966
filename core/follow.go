package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Following another opener's log.
//
// One opener of a log writes (the leader); others may open it read-only and
// follow it (followers): the browser's tabs do this (platform/wasm). The
// leader taps its durable commits (Tap) and ships each one's framed
// records, with their position in the log, to the followers, which apply
// them (ApplyCommit). A follower that misses a commit finds a gap between
// the position it has reached (Position) and the one it is given; it then
// reads what it missed from the backend (CatchUp), or, when the log has
// moved on to other segments (a compaction), reopens.
//
// Invariants:
//   - A position is the end of the last whole record applied: the active
//     segment and the byte offset in it. Positions only grow, in
//     (segment, offset) order, and a commit lies wholly in one segment.
//   - ApplyCommit and CatchUp apply a commit whole or report an error; they
//     never apply a commit twice (a commit that ends at or before the
//     position is a duplicate) and never skip one (a commit that starts past
//     the position is a gap). Subscriptions fire once per applied commit,
//     in log order, as on the leader.
//   - Records are checked as replay checks them (framing, CRC, kinds,
//     entries). Framing and CRC are checked before anything is applied. An
//     entry that its table refuses can leave the commit half applied: the
//     database then refuses further ApplyCommit and CatchUp with
//     ErrMustReopen, and the caller reopens it from the backend.

// ReservedTablePrefix starts the names of tables that dbrs itself keeps in
// a log (the browser's tabs keep which forwarded requests each tab has had
// applied). A log may hold such a table although the schema lacks it: it is
// kept as opaque data, whatever Options.KeepUnknownTables says.
const ReservedTablePrefix = "__dbrs."

// isReservedTable reports whether name is a table dbrs keeps for itself.
func isReservedTable(name string) bool { return strings.HasPrefix(name, ReservedTablePrefix) }

// Position is a point in the log: the end of the last whole record in
// Segment.
type Position struct {
	Segment uint64
	Offset  int64
}

// Before reports whether p comes before q in the log.
func (p Position) Before(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// Committed is a durable commit as a leader ships it to its followers.
type Committed struct {
	Change
	// Segment and Offset are where its first record starts; End is just
	// past its last record.
	Segment     uint64
	Offset, End int64
	// Record holds its framed records (commit-part records, if any, then
	// the commit record), as they lie in the log.
	Record []byte
}

var (
	// ErrGap is returned by ApplyCommit for a commit that starts past the
	// follower's position: commits between them were missed (CatchUp reads
	// them).
	ErrGap = errors.New("dbrs: the commit does not follow the position reached: commits were missed")
	// ErrDuplicate is returned by ApplyCommit for a commit that ends at or
	// before the follower's position: it was applied already.
	ErrDuplicate = errors.New("dbrs: the commit was applied already")
	// ErrMustReopen is returned by CatchUp when the log moved to segments
	// the follower cannot follow from its position (a compaction replaced
	// them), and by ApplyCommit and CatchUp after a commit was refused half
	// applied. Reopening the database from the backend brings it up to date.
	ErrMustReopen = errors.New("dbrs: the follower must reopen the database to follow the log")
	// ErrNotFollower is returned by the follower methods on a database
	// opened for writing.
	ErrNotFollower = errors.New("dbrs: following needs a database opened read-only")
)

// followState is the engine's part in following (leader and follower).
type followState struct {
	tap    func(Committed) // called at durability, under smu or mu; never blocks
	broken error           // a commit was refused half applied (e.mu)
}

// Tap calls fn with every commit of this database as it becomes durable, in
// log order, with its records and position, for followers (see
// ApplyCommit). fn runs while the commit machinery holds its locks: it must
// only queue what it is given (it may keep Record) and return. nil stops
// the tap. Commits made before Tap are not delivered.
func (db *DB[S]) Tap(fn func(Committed)) {
	e := db.e
	e.mu.Lock()
	e.smu.Lock()
	e.follow.tap = fn
	e.smu.Unlock()
	e.mu.Unlock()
}

// tapping reports whether commits must keep their records. e.mu is held.
func (e *engine) tapping() bool {
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.follow.tap != nil
}

// Position returns the end of the log as this database has it in memory:
// for a leader, every commit appended (durable or not); for a follower,
// every commit applied.
func (db *DB[S]) Position() Position {
	e := db.e
	e.mu.RLock()
	defer e.mu.RUnlock()
	return Position{Segment: e.active, Offset: e.segSize[e.active]}
}

// ApplyCommit applies, to a database opened read-only, a commit that the
// log's writer made durable: data holds its framed records as they lie in
// segment seg from offset off. It returns the Change that the database's
// subscribers are then given. It returns ErrDuplicate for a commit already
// applied, ErrGap for one that does not start at the position reached, a
// *CorruptError or *EntryError for records that replay would refuse, and
// ErrMustReopen after such a refusal left a commit half applied. It never
// panics on bad input.
func (db *DB[S]) ApplyCommit(seg uint64, off int64, data []byte) (Change, error) {
	e := db.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.followableLocked(); err != nil {
		return Change{}, err
	}
	pos := Position{e.active, e.segSize[e.active]}
	end := Position{seg, off + int64(len(data))}
	switch {
	case off < 0 || len(data) == 0:
		return Change{}, &CorruptError{Segment: seg, Offset: off, Reason: "empty commit or negative offset"}
	case !pos.Before(end):
		return Change{}, ErrDuplicate
	case seg != pos.Segment || off != pos.Offset:
		return Change{}, fmt.Errorf("%w (at segment %d offset %d, given segment %d offset %d)", ErrGap, pos.Segment, pos.Offset, seg, off)
	}
	res := scan(seg, data)
	if res.damage != nil { // shipped bytes are whole: any damage is corruption
		return Change{}, shiftCorrupt(res.damage, off)
	}
	if res.end != int64(len(data)) || len(res.records) == 0 {
		return Change{}, &CorruptError{Segment: seg, Offset: off + res.end, Reason: "commit bytes end with something that is not a whole record"}
	}
	for i, r := range res.records {
		want := recordCommitPart
		switch {
		case i == len(res.records)-1:
			want = recordCommit
		case i == 0 && recordKind(r.payload) == recordSynced:
			continue // the leader's watermark, at the head of its append (record.go)
		}
		if recordKind(r.payload) != want {
			return Change{}, &CorruptError{Segment: seg, Offset: off + r.offset, Reason: "a shipped commit must be an optional synced record, then commit-part records ending with one commit record"}
		}
	}
	return e.applyRecordsLocked(seg, off, res.records)
}

// applyRecordsLocked applies records (offsets relative to base) of segment
// seg and returns the change of the commit they form. e.mu is held.
func (e *engine) applyRecordsLocked(seg uint64, base int64, records []rawRecord) (Change, error) {
	r := newReplayer(e)
	var ids []uint32
	var size int64
	for _, rec := range records {
		rec.offset += base
		if k := recordKind(rec.payload); k == recordCommit || k == recordCommitPart {
			ids = appendTableIDs(ids, rec.payload)
		}
		if _, err := r.record(seg, rec); err != nil {
			e.follow.broken = err
			return Change{}, err
		}
		size += recordHeaderSize + int64(len(rec.payload))
	}
	e.grewLocked(seg, size)
	e.records += int64(len(records))
	e.commits.Add(1)
	e.seq++
	c := e.changeOf(e.seq, ids)
	e.publish(c)
	return c, nil
}

// appendTableIDs adds to ids the table IDs of a commit record's pairs.
// Malformed records are left to replay to report.
func appendTableIDs(ids []uint32, payload []byte) []uint32 {
	d := &entryReader{b: payload}
	n, err := d.DecodeArrayLen()
	if err != nil || n < 1 {
		return ids
	}
	if _, err := d.DecodeInt(); err != nil {
		return ids
	}
	for range (n - 1) / 2 {
		id, err := d.DecodeUint(1<<32 - 1)
		if err != nil {
			return ids
		}
		if _, err := d.skip(); err != nil {
			return ids
		}
		if !slices.Contains(ids, uint32(id)) {
			ids = append(ids, uint32(id))
		}
	}
	return ids
}

// followableLocked returns why this database cannot apply a leader's
// commits. e.mu is held.
func (e *engine) followableLocked() error {
	switch {
	case e.closed:
		return ErrClosed
	case !e.opts.ReadOnly:
		return ErrNotFollower
	case e.follow.broken != nil:
		return fmt.Errorf("%w: %v", ErrMustReopen, e.follow.broken)
	}
	return nil
}

// shiftCorrupt moves the offset of a CorruptError from data-relative to
// segment-relative.
func shiftCorrupt(err error, off int64) error {
	var ce *CorruptError
	if errors.As(err, &ce) {
		c := *ce
		c.Offset += off
		return &c
	}
	return err
}

// CatchUp reads, from the backend, the records of the active segment past
// the position reached and applies them, in order (schema records bind
// tables; each commit is applied whole and gives one Change). It returns
// the changes, in log order. It returns ErrMustReopen when the backend
// holds segments newer than the active one or no longer holds the active
// one (a compaction moved the log on), or when what it holds does not
// continue the bytes applied so far; a *CorruptError or *EntryError for
// records replay would refuse.
func (db *DB[S]) CatchUp() ([]Change, error) {
	e := db.e
	e.mu.RLock()
	err := e.followableLocked()
	seg := e.active
	e.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	ids, err := e.b.Segments()
	if err != nil {
		return nil, fmt.Errorf("dbrs: catch up: list segments: %w", err)
	}
	if !slices.Contains(ids, seg) || ids[len(ids)-1] != seg {
		return nil, fmt.Errorf("%w: the log moved from segment %d to %v", ErrMustReopen, seg, ids)
	}
	data, err := e.b.ReadSegment(seg)
	if err != nil {
		return nil, fmt.Errorf("dbrs: catch up: read segment %d: %w", seg, err)
	}
	res := scan(seg, data)
	if err := res.settle(data, true, true); err != nil {
		return nil, err
	}
	if err := cutUncommitted(seg, &res, true); err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.followableLocked(); err != nil {
		return nil, err
	}
	if e.active != seg {
		return nil, fmt.Errorf("%w: segment changed while catching up", ErrMustReopen)
	}
	pos := e.segSize[seg]
	i := slices.IndexFunc(res.records, func(r rawRecord) bool { return r.offset >= pos })
	switch {
	case i < 0 && res.end == pos:
		return nil, nil
	case i < 0 || res.records[i].offset != pos:
		return nil, fmt.Errorf("%w: segment %d holds no record at offset %d, where this follower stands", ErrMustReopen, seg, pos)
	}
	var changes []Change
	var run []rawRecord
	for _, rec := range res.records[i:] {
		switch recordKind(rec.payload) {
		case recordCommitPart:
			run = append(run, rec)
			continue
		case recordCommit:
			run = append(run, rec)
			c, err := e.applyRecordsLocked(seg, 0, run)
			if err != nil {
				return changes, err
			}
			changes = append(changes, c)
		default: // a schema record (another opener added tables)
			if len(run) > 0 {
				return changes, &CorruptError{Segment: seg, Offset: run[0].offset, Reason: "a transaction's commit-part records are not followed by their commit record"}
			}
			r := newReplayer(e)
			if _, err := r.record(seg, rec); err != nil {
				e.follow.broken = err
				return changes, err
			}
			e.bindSchemaTables()
			e.grewLocked(seg, recordHeaderSize+int64(len(rec.payload)))
			e.records++
		}
		run = run[:0]
	}
	return changes, nil
}

// TryBeginScratch begins, on a database opened read-only, a transaction that
// can only be rolled back: its ops apply to memory (so that reads in it
// see its writes, and a bad op fails as it would on the writer) and its
// Commit fails with ErrReadOnly and undoes them. A follower runs a
// transaction's callback in one to learn its ops, which the writer then
// runs. It does not wait: when the lock is held (by CatchUp or
// ApplyCommit on a goroutine) it returns ok false and does nothing.
func (db *DB[S]) TryBeginScratch() (tx *Tx[S], ok bool, err error) {
	e := db.e
	if !e.mu.TryLock() {
		return nil, false, nil
	}
	if err := e.followableLocked(); err != nil && !errors.Is(err, ErrMustReopen) {
		e.mu.Unlock()
		return nil, true, err
	}
	e.releaseLargeBuffer()
	e.w.startTx(e.partSize)
	e.txOpen.Store(true)
	t := &txn{w: e.w}
	return &Tx[S]{Tables: db.instance(t), db: db, t: t}, true, nil
}
