package core

import (
	"fmt"
	"slices"
)

// Compaction.
//
// Under the write lock, only long enough to start a segment: the active
// segment N is sealed and N+2 becomes active (Backend.Create guarantees N is
// durable before anything in N+2). Then, with no lock held, the sealed
// segments are replayed into fresh table states, which therefore hold
// exactly the state as of the end of N, and those states are written as
// snapshot segment N+1: a schema record, a synced record [6, 0] (it marks
// the log as watermarked, record.go), snapshot records of at most
// SnapshotChunkSize, and a snapshot-end record. Backend.Install makes N+1
// durable and removes the sealed segments. State = N+1, N+2, ...; a crash
// at any point leaves either the old segments or the complete snapshot
// authoritative (see record.go).

func (e *engine) compact() error {
	e.compactMu.Lock()
	defer e.compactMu.Unlock()

	e.mu.Lock()
	if err := e.writableLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	sealed := slices.Clone(e.segs)
	oldActive := e.active
	snapID := oldActive + 1
	if err := e.startSegmentLocked(oldActive + 2); err != nil {
		e.mu.Unlock()
		return err
	}
	stale := slices.Clone(e.stale)
	tables := slices.Clone(e.tables)
	schema := e.schemaRecord()
	e.mu.Unlock()

	// Every commit in the sealed segments must be durable (or failed and
	// cut) before they are read.
	e.drainPending()
	if err := e.b.Sync(oldActive); err != nil {
		e.poisonIfAcknowledged(err)
		return fmt.Errorf("dbrs: compaction: sync segment %d: %w", oldActive, err)
	}
	e.mu.RLock()
	poisoned := e.poisonErr()
	e.mu.RUnlock()
	if poisoned != nil {
		return poisoned
	}

	r := newReplayer(e)
	r.borrow = true
	r.fresh = map[uint32]tableState{}
	for _, t := range tables {
		st, err := t.fresh()
		if err != nil {
			return err
		}
		r.fresh[t.id] = st
	}
	for _, id := range sealed {
		si, err := readSegment(e.b, id)
		if err != nil {
			return fmt.Errorf("dbrs: compaction: %w", err)
		}
		if err := r.segment(si); err != nil {
			return fmt.Errorf("dbrs: compaction: %w", err)
		}
	}
	states := make([]tableState, len(tables))
	for i, t := range tables {
		states[i] = r.fresh[t.id]
	}
	chunks, size, err := snapshot(schema, tables, states)
	if err != nil {
		return err
	}
	var leftover []uint64
	if err := e.b.Install(snapID, chunks, append(sealed, stale...)); err != nil {
		// Install may fail after the snapshot became durable (removing an old
		// segment, say). Then the snapshot is the base whatever else failed,
		// and what it could not remove is removed next time.
		ids, lerr := e.b.Segments()
		if lerr != nil || !slices.Contains(ids, snapID) {
			return fmt.Errorf("dbrs: compaction: install segment %d: %w", snapID, err)
		}
		for _, id := range append(sealed, stale...) {
			if slices.Contains(ids, id) {
				leftover = append(leftover, id)
			}
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range sealed {
		e.logBytes -= e.segSize[id]
		delete(e.segSize, id)
	}
	e.segs = append([]uint64{snapID}, e.segs[len(sealed):]...)
	e.segSize[snapID] = size
	e.logBytes += size
	e.snapSize = size
	e.stale = slices.DeleteFunc(e.stale, func(id uint64) bool { return slices.Contains(stale, id) })
	e.stale = append(e.stale, leftover...)
	e.records += int64(len(chunks)-1) - r.records // every chunk is a record; one is synced
	e.compactions.Add(1)
	return nil
}

// poisonIfAcknowledged poisons the database after a failed sync when
// commits are acknowledged before they are synced (SyncInterval,
// SyncNever): those may now be lost, and a later sync that succeeds would
// not bring them back (as syncAll does for the background sync).
func (e *engine) poisonIfAcknowledged(err error) {
	if e.opts.Sync == SyncAlways {
		return
	}
	e.smu.Lock()
	e.setPoisonLocked(err)
	e.smu.Unlock()
}

func (e *engine) poisonErr() error {
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.poison
}

// snapshot encodes states (one per table, in tables order) as the records
// of a snapshot segment, after the given schema record, and returns them as
// chunks of whole records.
func snapshot(schema []byte, tables []*tableInfo, states []tableState) (chunks [][]byte, size int64, err error) {
	mark := appendSynced(nil, 0) // a snapshot segment marks the log as watermarked (record.go)
	chunks = append(chunks, schema, mark)
	size = int64(len(schema) + len(mark))
	var records, entries int
	w := newEntryWriter()
	w.stored = true
	w.chunkSize = SnapshotChunkSize
	w.flush = func(pairs []byte, n int) error {
		rec, err := buildRecord(recordSnapshot, pairs, n)
		if err != nil {
			return err
		}
		chunks = append(chunks, rec)
		size += int64(len(rec))
		records++
		entries += n
		return nil
	}
	var counts []int // tableID, entries, ...
	for i, t := range tables {
		before := entries + w.n
		if err := states[i].compact(w, t.id); err != nil {
			return nil, 0, fmt.Errorf("dbrs: compaction: table %q: %w", t.name, err)
		}
		if n := entries + w.n - before; n > 0 {
			counts = append(counts, int(t.id), n)
		}
	}
	if err := w.takeChunk(); err != nil {
		return nil, 0, err
	}
	end := appendUint(appendArrayLen(nil, 4), recordSnapshotEnd)
	end = appendInt(appendInt(end, int64(records)), int64(entries))
	if counts == nil {
		end = append(end, 0xc0) // msgpack nil, as older versions wrote an empty list
	} else {
		end = appendArrayLen(end, len(counts))
		for _, c := range counts {
			end = appendInt(end, int64(c))
		}
	}
	endRec := appendRecord(nil, end)
	chunks = append(chunks, endRec)
	size += int64(len(endRec))
	return chunks, size, nil
}

// snapshotLive encodes the live table states under the read lock.
func (e *engine) snapshotLive() ([][]byte, int64, error) {
	e.rlock()
	defer e.mu.RUnlock()
	states := make([]tableState, len(e.tables))
	for i, t := range e.tables {
		states[i] = t.state
	}
	return snapshot(e.schemaRecord(), e.tables, states)
}

// opaqueFactory makes states for a table found in the log but not in the
// schema. Built-in kinds get the dynamic (raw msgpack) state, which
// compacts normally; other kinds keep their entries verbatim.
func opaqueFactory(kind string) func() (tableState, error) {
	if d, err := newDynamic([]TableSpec{{Name: "opaque", Kind: kind}}); err == nil {
		return d.fields[0].newState
	}
	return func() (tableState, error) { return &opaqueState{k: kind}, nil }
}

// opaqueState keeps every entry of a table of unknown kind, in order.
type opaqueState struct {
	k       string
	entries [][]byte
}

func (s *opaqueState) kind() string { return s.k }

func (s *opaqueState) liveBytes() int64 { return 0 }

func (s *opaqueState) replay(d *entryReader, _ int) error {
	raw, err := d.DecodeRaw()
	if err != nil {
		return err
	}
	s.entries = append(s.entries, raw)
	return nil
}

func (s *opaqueState) compact(w *entryWriter, id uint32) error {
	for _, en := range s.entries {
		if err := w.raw(id, en); err != nil {
			return err
		}
	}
	return nil
}
