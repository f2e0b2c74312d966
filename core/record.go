package core

// The log format.
//
// A database is an ordered set of segments, numbered by a uint64 ID that only
// grows. A segment is a byte sequence of records, optionally followed by a
// zero-filled tail (native segments are preallocated):
//
//	+----------------+----------------+---------------------+
//	| length (4B LE) | CRC-32C (4B LE)| payload (length B)  |
//	+----------------+----------------+---------------------+
//
// The CRC is CRC-32C (Castagnoli) of the payload alone. length is never zero
// for a real record, so a zero length prefix marks the clean end of the data;
// everything after it must be zero. length is bounded by MaxRecordSize, so a
// hostile prefix never makes the reader allocate more than that.
//
// The payload is a msgpack array whose first element is the record kind:
//
//	[1 schema,   [[tableID, name, kind], ...]]   table directory
//	[1 schema,   [[tableID, name, kind], ...], version]
//	[2 commit,   tableID, entry, tableID, entry, ...]
//	[3 snapshot, tableID, entry, tableID, entry, ...]
//	[4 snapshot-end, records, entries, [tableID, count, ...]]
//	[5 commit-part, tableID, entry, tableID, entry, ...]
//
// An entry is itself a msgpack array [op, args...] whose meaning is defined by
// the table kind (see each table's file). tableID is a uint that stays fixed
// for the life of the database; names are what bind tables to the schema, so
// the IDs never depend on field order.
//
// Every segment opens with a schema record that lists every table known when
// the segment was started; another schema record is appended when an open adds
// tables. A commit record is the unit of atomicity: it holds every entry of one
// transaction (or of one auto-committed operation) and is applied whole or not
// at all. A transaction too large for one record (past MaxRecordSize) is
// written as a run of commit-part records, each at most CommitPartSize,
// followed by one commit record with its last entries; all of them are
// appended at once. Replay applies a run only when it reaches the commit
// record that ends it. A run that no commit record ends is a transaction
// that never committed: at the end of the newest segment it is cut like a
// torn tail; anywhere else (followed by a record that is not its commit) it
// is corruption. One entry must fit in one record.
//
// A log segment holds schema and commit records and receives appends. A
// snapshot segment is written by compaction: a schema record, snapshot records
// (each at most SnapshotChunkSize, because IndexedDB values have a size limit),
// then one snapshot-end record. A snapshot segment without its end record is
// incomplete and is ignored. The state of the database is the newest complete
// snapshot segment (or, if there is none, the first segment) followed by every
// later log segment.
//
// Reading a segment has three outcomes at each position, decided by scan:
//   - a clean end: the rest of the segment is zero (or there is no rest);
//   - a torn tail: the final record is short or its CRC does not match, and no
//     valid record follows. Only the newest segment may end torn; it is cut
//     back to the last whole record when opened for writing;
//   - corruption: a damaged record that valid data follows, or any damage in an
//     older segment. Opening fails with a *CorruptError; nothing is dropped.
//
// The schema version (Options.Version, a uint) is the optional third element
// of every schema record; a record without one is version 0, so logs
// written before versions existed read as version 0, and version 0 is still
// written without it. Every schema record of a live log carries the same
// version: an upgrade (migrate.go) never appends to the old log; it
// writes the upgraded tables as a snapshot segment whose schema record holds
// the new version, and installs it as compaction does, so that the old log
// (old version) stays authoritative until the new one is complete.
//
// The snapshot-end record counts the snapshot records and entries before it
// (a mismatch is corruption) and, optionally, the entries of each table, so
// that replay can size a table's memory once instead of growing it.
//
// Version history: version 1 (this one) is the first format. The per-table
// counts of snapshot-end were added within it: readers accept the record
// with or without them. commit-part records were added within it too, for
// transactions of any size: older readers refuse a log that holds one
// ("unknown record kind"), and every log without one reads as before.
// The schema version was added within it as well: older readers refuse a
// schema record that carries one ("schema record has 3 elements").
//
// The constants below are part of the format and must never change.

import (
	"encoding/binary"
	"hash/crc32"
)

const (
	recordSchema      = 1
	recordCommit      = 2
	recordSnapshot    = 3
	recordSnapshotEnd = 4
	recordCommitPart  = 5
)

const (
	// recordHeaderSize is the length prefix plus the CRC.
	recordHeaderSize = 8

	// MaxRecordSize bounds a record's payload. A commit larger than this
	// fails with ErrTooLarge; a length prefix larger than this is damage.
	MaxRecordSize = 64 << 20

	// SnapshotChunkSize is the payload size after which compaction starts a
	// new snapshot record.
	SnapshotChunkSize = 1 << 20

	// CommitPartSize bounds the payload of each record of a transaction
	// written as several (one larger than MaxRecordSize).
	CommitPartSize = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends one framed record holding payload to dst.
func appendRecord(dst, payload []byte) []byte {
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(payload, castagnoli))
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// frameRecord writes the header for the payload at buf[recordHeaderSize:]
// into buf[:recordHeaderSize], so a record can be built in place.
func frameRecord(buf []byte) {
	payload := buf[recordHeaderSize:]
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:8], crc32.Checksum(payload, castagnoli))
}

// rawRecord is one intact record found by scan.
type rawRecord struct {
	offset  int64
	payload []byte // aliases the segment data
}

// scanResult is what scan found in one segment.
type scanResult struct {
	records []rawRecord
	end     int64 // offset just past the last whole record: the logical end
	torn    int64 // bytes after end that are not zero (a torn tail), 0 if clean
}

// scan splits a segment into records. newest says whether the segment may end
// in a torn tail; in any other segment a damaged record is corruption.
func scan(segment uint64, data []byte, newest bool) (scanResult, error) {
	var res scanResult
	off := 0
	for off < len(data) {
		reason := ""
		rest := data[off:]
		switch {
		case len(rest) < recordHeaderSize:
			if allZero(rest) {
				return res, nil
			}
			reason = "short record header"
		default:
			n := binary.LittleEndian.Uint32(rest[0:4])
			sum := binary.LittleEndian.Uint32(rest[4:8])
			switch {
			case n == 0:
				if allZero(rest) {
					return res, nil
				}
				reason = "zero length prefix followed by data"
			case n > MaxRecordSize:
				reason = "length prefix exceeds MaxRecordSize"
			case int(n) > len(rest)-recordHeaderSize:
				reason = "record extends past the end of the segment"
			case crc32.Checksum(rest[recordHeaderSize:recordHeaderSize+int(n)], castagnoli) != sum:
				reason = "CRC mismatch"
			default:
				res.records = append(res.records, rawRecord{
					offset:  int64(off),
					payload: rest[recordHeaderSize : recordHeaderSize+int(n) : recordHeaderSize+int(n)],
				})
				off += recordHeaderSize + int(n)
				res.end = int64(off)
				continue
			}
		}
		// Damage at off: a torn tail only if this is the newest segment and
		// nothing valid follows.
		if !newest || validRecordAfter(data, off+1) {
			return res, &CorruptError{Segment: segment, Offset: int64(off), Reason: reason}
		}
		res.torn = int64(len(data) - off)
		return res, nil
	}
	return res, nil
}

// validRecordAfter reports whether an intact record starts anywhere at or
// after from. It is the proof that damage before it is corruption, not a tail
// torn by a crash. A candidate must start like a record ([kind, ...] with a
// known kind) and be one well-formed msgpack value of the declared length
// before its CRC is computed. The CRC work is bounded
// (validScanBudget): past it the search answers true, so a crafted tail
// makes Open report corruption (conservative) instead of taking hours.
func validRecordAfter(data []byte, from int) bool {
	budget := validScanBudget
	for p := from; p+recordHeaderSize < len(data); p++ {
		n := binary.LittleEndian.Uint32(data[p : p+4])
		if n == 0 || n > MaxRecordSize || int(n) > len(data)-p-recordHeaderSize {
			continue
		}
		payload := data[p+recordHeaderSize : p+recordHeaderSize+int(n)]
		if k := recordKind(payload); k < recordSchema || k > recordCommitPart {
			continue
		}
		if budget -= len(payload); budget < 0 {
			return true
		}
		if l, err := checkMsgpack(payload); err != nil || l != len(payload) {
			continue
		}
		if crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(data[p+4:p+8]) {
			return true
		}
	}
	return false
}

// validScanBudget bounds the bytes validRecordAfter examines in one search.
const validScanBudget = 256 << 20

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// TrimSegment returns data without what follows its last whole record: a
// zero-filled tail, and, when newest, a torn tail. A segment whose damage
// valid data follows (or, not newest, any damage) is returned whole, so
// that opening it still reports the damage. Importers use it to store a
// native segment file in a backend that cannot cut bytes in place.
func TrimSegment(data []byte, newest bool) []byte {
	res, err := scan(0, data, newest)
	if err != nil {
		return data
	}
	return data[:res.end]
}
