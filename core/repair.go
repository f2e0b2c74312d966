package core

import (
	"errors"
	"fmt"
)

// LogReport describes a log as Verify or Repair found it.
type LogReport struct {
	Segments  int           // live segments: the newest complete snapshot and later
	Records   int64         // intact records in them, up to any damage (synced records are not counted)
	Bytes     int64         // bytes of those records
	TornBytes int64         // bytes of a torn tail at the end of the newest segment
	Corrupt   *CorruptError // the first damage found, nil if none
	// What Repair removed: the segment holding the damage was cut at its
	// offset and every later segment emptied (CutBytes counts the bytes
	// that were past the cut, preallocated zeros included).
	CutBytes    int64
	CutSegments []uint64
}

// Verify reads the log in b without writing and reports its records and
// its first damage, if any, without needing the schema: it checks framing,
// CRCs and that each payload is one well-formed msgpack record. A log that
// Verify passes may still hold entries a given schema cannot decode
// (ErrBadEntry). Verify returns an error only when b fails.
func Verify(b Backend) (LogReport, error) {
	rep, _, err := verify(b)
	return rep, err
}

type liveSegment struct {
	id   uint64
	size int64 // bytes read
}

// snapshotState reports whether a segment's records make it a snapshot
// segment, and whether that snapshot is complete (has its end record).
func snapshotState(records []rawRecord) (snapshot, complete bool) {
	for _, r := range records {
		switch recordKind(r.payload) {
		case recordSnapshot:
			snapshot = true
		case recordSnapshotEnd:
			snapshot, complete = true, true
		}
	}
	return snapshot, complete
}

// walkLive calls fn for every intact record of the live segments (readLog),
// in log order, up to the first damage, which it returns with the report:
// framing and CRCs that are not a torn tail (record.go), a payload that is
// not one msgpack record of a known kind, and commit-part records not
// followed by their commit (a run of them ending the last segment is a torn
// tail). It returns an error only when b or fn fails.
func walkLive(b Backend, fn func(seg uint64, r rawRecord, kind int) error) (LogReport, []liveSegment, error) {
	var rep LogReport
	live, _, _, err := readLog(b, false)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			rep.Corrupt = ce
			return rep, nil, nil
		}
		return rep, nil, err
	}
	segs := make([]liveSegment, len(live))
	for i, s := range live {
		segs[i] = liveSegment{id: s.id, size: int64(len(s.data))}
	}
	rep.Segments = len(live)
	for _, s := range live {
		res := s.scan
		for j, r := range res.records {
			kind := recordKind(r.payload)
			if kind == recordCommitPart && j+1 < len(res.records) {
				if k := recordKind(res.records[j+1].payload); k != recordCommitPart && k != recordCommit {
					rep.Corrupt = &CorruptError{Segment: s.id, Offset: r.offset, Reason: "a transaction's commit-part records are not followed by their commit record"}
					return rep, segs, nil
				}
			}
			if n, cerr := checkMsgpack(r.payload); cerr != nil || n != len(r.payload) || kind < recordSchema || kind > recordKindMax {
				rep.Corrupt = &CorruptError{Segment: s.id, Offset: r.offset, Reason: "intact record with a malformed payload"}
				return rep, segs, nil
			}
			if fn != nil {
				if err := fn(s.id, r, kind); err != nil {
					return rep, segs, err
				}
			}
			if kind != recordSynced {
				rep.Records++
			}
			rep.Bytes += int64(recordHeaderSize + len(r.payload))
		}
		rep.TornBytes += res.torn
		var ce *CorruptError
		if errors.As(s.err, &ce) {
			rep.Corrupt = ce
			return rep, segs, nil
		}
	}
	return rep, segs, nil
}

func verify(b Backend) (LogReport, []liveSegment, error) { return walkLive(b, nil) }

// Repair makes a damaged log in b open again by keeping its longest intact
// prefix: the segment holding the first damage is cut at the damaged
// record, and every later segment is emptied, because later commits may
// depend on what was lost. Everything cut is reported. A log without
// damage is left as it is. Repair needs exclusive use of b (no open DB);
// it is the explicit, destructive answer to ErrCorrupt.
func Repair(b Backend) (LogReport, error) {
	rep, segs, err := verify(b)
	if err != nil || rep.Corrupt == nil {
		return rep, err
	}
	// Cutting the base snapshot would make it incomplete, and Open would
	// then fall back to leftovers older than it: empty those too.
	var older []liveSegment
	if rep.Corrupt.Segment == segs[0].id {
		ids, err := b.Segments()
		if err != nil {
			return rep, err
		}
		for _, id := range ids {
			if id < segs[0].id {
				older = append(older, liveSegment{id: id, size: -1})
			}
		}
	}
	cutting := false
	for _, s := range append(older, segs...) {
		var size int64
		switch {
		case s.size < 0: // an older leftover
		case s.id == rep.Corrupt.Segment:
			cutting, size = true, rep.Corrupt.Offset
		case !cutting:
			continue
		}
		if err := b.Truncate(s.id, size); err != nil {
			return rep, fmt.Errorf("dbrs: repair: cut segment %d: %w", s.id, err)
		}
		if err := b.Sync(s.id); err != nil {
			return rep, fmt.Errorf("dbrs: repair: sync segment %d: %w", s.id, err)
		}
		if s.size >= 0 {
			rep.CutBytes += s.size - size
		}
		rep.CutSegments = append(rep.CutSegments, s.id)
	}
	return rep, nil
}
