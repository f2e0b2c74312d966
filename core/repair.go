package core

import (
	"errors"
	"fmt"
	"slices"
)

// LogReport describes a log as Verify or Repair found it.
type LogReport struct {
	Segments  int           // live segments: the newest complete snapshot and later
	Records   int64         // intact records in them, up to any damage
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

func verify(b Backend) (LogReport, []liveSegment, error) {
	var rep LogReport
	ids, err := b.Segments()
	if err != nil {
		return rep, nil, err
	}
	// The same choice of segments as Open: back to the newest complete
	// snapshot, skipping incomplete ones.
	var live []uint64
	read := map[uint64][]byte{}
	for i := len(ids) - 1; i >= 0; i-- {
		data, err := b.ReadSegment(ids[i])
		if err != nil {
			return rep, nil, err
		}
		read[ids[i]] = data
		res, _ := scan(ids[i], data, i == len(ids)-1)
		snapshot, complete := false, false
		for _, r := range res.records {
			switch recordKind(r.payload) {
			case recordSnapshot:
				snapshot = true
			case recordSnapshotEnd:
				snapshot, complete = true, true
			}
		}
		if snapshot && !complete {
			if err := incompleteSnapshot(&segmentInfo{id: ids[i], scan: res}, ids[:i]); err != nil {
				var ce *CorruptError
				errors.As(err, &ce)
				rep.Corrupt = ce
				return rep, nil, nil
			}
			continue
		}
		live = append(live, ids[i])
		if complete {
			break
		}
	}
	slices.Reverse(live)
	segs := make([]liveSegment, len(live))
	datas := make([][]byte, len(live))
	for i, id := range live {
		data := read[id]
		segs[i], datas[i] = liveSegment{id: id, size: int64(len(data))}, data
	}
	rep.Segments = len(live)
	for i, id := range live {
		data := datas[i]
		res, err := scan(id, data, i == len(live)-1)
		if err == nil {
			err = cutUncommitted(id, &res, i == len(live)-1)
		}
		for j, r := range res.records {
			if recordKind(r.payload) == recordCommitPart && j+1 < len(res.records) {
				if k := recordKind(res.records[j+1].payload); k != recordCommitPart && k != recordCommit {
					rep.Corrupt = &CorruptError{Segment: id, Offset: r.offset, Reason: "a transaction's commit-part records are not followed by their commit record"}
					return rep, segs, nil
				}
			}
			if n, cerr := checkMsgpack(r.payload); cerr != nil || n != len(r.payload) || recordKind(r.payload) < recordSchema || recordKind(r.payload) > recordCommitPart {
				rep.Corrupt = &CorruptError{Segment: id, Offset: r.offset, Reason: "intact record with a malformed payload"}
				return rep, segs, nil
			}
			rep.Records++
			rep.Bytes += int64(recordHeaderSize + len(r.payload))
		}
		rep.TornBytes = res.torn
		var ce *CorruptError
		if errors.As(err, &ce) {
			rep.Corrupt = ce
			return rep, segs, nil
		}
	}
	return rep, segs, nil
}

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
