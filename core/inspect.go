package core

import (
	"fmt"
	"slices"
)

// Reading a log without its schema, for tools such as the dbrs command:
// walk its records, list the tables it holds, and write the state as one
// snapshot segment.

// The kinds of record in a log (see the format in record.go), as
// LogRecord.Kind reports them.
const (
	RecordSchema      = recordSchema      // [1, [[tableID, name, kind], ...]] or [1, [...], version]
	RecordCommit      = recordCommit      // [2, tableID, entry, ...]: one transaction
	RecordSnapshot    = recordSnapshot    // [3, tableID, entry, ...]: compaction output
	RecordSnapshotEnd = recordSnapshotEnd // [4, records, entries, ...]: a snapshot counts only with it
	RecordCommitPart  = recordCommitPart  // [5, tableID, entry, ...]: the first records of a large transaction
	RecordSynced      = recordSynced      // [6, offset]: the segment was durable up to offset when this was written
)

// LogRecord is one intact record of a log, as WalkLog finds it.
type LogRecord struct {
	Segment uint64
	Offset  int64 // of the record's header within its segment
	Size    int64 // of the record, header included
	Kind    int   // RecordSchema, RecordCommit, RecordSnapshot, RecordSnapshotEnd, RecordCommitPart or RecordSynced
	// Payload is the record's msgpack array [kind, ...]. It aliases the
	// segment's bytes, which WalkLog never reuses, so it may be kept.
	Payload []byte
}

// WalkLog calls fn for every intact record of the live log in b, in log
// order, without needing the schema: the same segments Open replays (the
// newest complete snapshot and every later segment), up to the first
// damage. It writes nothing. The report is the one Verify gives for the same
// bytes: records, bytes, a torn tail and the first damage; damage is
// reported there, not as an error. WalkLog returns an error when b fails,
// or the first error fn returns (and then stops).
func WalkLog(b Backend, fn func(LogRecord) error) (LogReport, error) {
	rep, _, err := walkLive(b, func(seg uint64, r rawRecord, kind int) error {
		return fn(LogRecord{Segment: seg, Offset: r.offset, Size: int64(recordHeaderSize + len(r.payload)), Kind: kind, Payload: r.payload})
	})
	return rep, err
}

// LogTables returns the tables that the schema records of the live log in b
// define, in table ID order, as WalkLog reads them. Kinds are as recorded:
// the built-in kinds (KindSingle, ...) or the kind name of a custom table.
// A schema record that cannot be decoded is an error matching ErrBadEntry;
// damage to the log is not an error here (see Verify).
func LogTables(b Backend) ([]TableSpec, error) {
	type table struct {
		id uint32
		TableSpec
	}
	var tables []table
	_, err := WalkLog(b, func(r LogRecord) error {
		if r.Kind != RecordSchema {
			return nil
		}
		bad := func(err error) error {
			return &EntryError{Segment: r.Segment, Offset: r.Offset, Err: fmt.Errorf("schema record: %w", err)}
		}
		d := &entryReader{b: r.Payload}
		if n, err := d.DecodeArrayLen(); err != nil || (n != 2 && n != 3) {
			return bad(fmt.Errorf("not a [kind, tables] or [kind, tables, version] array"))
		}
		if _, err := d.DecodeInt(); err != nil {
			return bad(err)
		}
		n, err := d.DecodeArrayLen()
		if err != nil {
			return bad(err)
		}
		for range n {
			t, err := readSchemaEntry(d)
			if err != nil {
				return bad(err)
			}
			if !slices.ContainsFunc(tables, func(x table) bool { return x.id == t.ID || x.Name == t.Name }) {
				tables = append(tables, table{t.ID, TableSpec{Name: t.Name, Kind: t.Kind}})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tables, func(a, b table) int { return int(a.id) - int(b.id) })
	specs := make([]TableSpec, len(tables))
	for i, t := range tables {
		specs[i] = t.TableSpec
	}
	return specs, nil
}

// SnapshotSegment returns the current state of every table as the bytes of
// one snapshot segment: a schema record, a synced record, snapshot records
// and a snapshot-end record, exactly what compaction writes. Storage holding only
// this segment (under any ID) opens with the same state: it is a
// single-file backup that native folders and the browser's importLog
// accept. Tables of the log that the schema lacks (kept by
// Options.KeepUnknownTables) are included. The state is what readers see,
// which may include a commit whose sync is still in progress.
func (db *DB[S]) SnapshotSegment() ([]byte, error) {
	e := db.e
	e.rlock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	chunks, size, err := e.snapshotLive()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}
