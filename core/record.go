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
//	[6 synced, offset]                           a durability watermark
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
// at all. A large transaction is written as a run of commit-part records,
// each at most CommitPartSize, followed by one commit record with its last
// entries (possibly none). The writer streams it into a backend that can
// cut durable bytes (StreamingBackend, stream.go): once its
// entries pass one chunk (256 KiB), each full chunk is appended as a
// commit-part record while the transaction is still open, and its commit
// record is appended at commit; a transaction past MaxRecordSize is always
// written so. The records of a run are appended one after another under
// the write lock, with nothing between them (no synced record either,
// except before the first part). A run whose transaction rolls back or
// fails is cut from the log before anything else is appended, and the cut
// is synced. Replay applies a run only when it reaches the commit
// record that ends it. A run that no commit record ends is a transaction
// that never committed: at the end of the newest segment it is cut like a
// torn tail; anywhere else (followed by a record that is not its commit) it
// is corruption. One entry must fit in one record.
//
// A log segment holds schema, synced and commit records and receives appends.
// A snapshot segment is written by compaction: a schema record, a synced
// record [6, 0], snapshot records (each at most SnapshotChunkSize, because
// IndexedDB values have a size limit), then one snapshot-end record. A snapshot segment without its end record is
// incomplete and is ignored. The state of the database is the newest complete
// snapshot segment (or, if there is none, the first segment) followed by every
// later log segment.
//
// A synced record says that the bytes of its own segment before offset
// were durable (a Sync covering them had returned) when the record was
// appended; offset never exceeds the record's own position. The writer puts
// one at the head of the first append after a sync moved the durable point
// of the active segment (so at most one per group commit, and none while
// nothing is synced; within a streamed transaction's run it waits for the
// append after the run), and one with offset 0 right after the schema record
// of every segment it starts, snapshot segments included. An offset-0 record
// claims nothing: it marks the log as one whose writer keeps watermarks.
// A writable open whose newest segment ends with records that no synced
// record covers syncs them and then appends one that does, so that what an
// open has read is never again taken for a torn tail.
//
// Reading a segment has three outcomes at each position, decided by scan
// and settle:
//   - a clean end: the rest of the segment is zero (or there is no rest);
//   - a torn tail: damage (a short record, a CRC mismatch, a zero length
//     prefix followed by data, ...) that nothing proves durable. Only the
//     last segment that holds data (the newest, or an older one when every
//     later segment is all zero: a crash right after Create) may end torn.
//     It is cut back to the last whole record when opened for writing,
//     intact records after the damage included, and counted in
//     OpenStats.TornBytes;
//   - corruption: damage in any other segment, or damage at offset D that an
//     intact synced record after it proves durable (its offset is past D).
//     Opening fails with a *CorruptError; nothing is dropped.
//
// Why a watermark: a power loss may persist a segment's dirty pages out of
// order, so that a zero-filled page (preallocation) or stale bytes are
// followed by a later record that did reach the disk. Only a record that
// was written after a sync completed can prove that the damage lies in
// bytes that were durable; without one, the damage is where the crash
// stopped. Under SyncAlways every acknowledged commit is durable, so any
// later group carries a watermark past it; a crash can only damage bytes
// that no watermark covers. A bit flip in durable bytes below the newest
// watermark is still reported as corruption.
//
// Logs written before synced records existed (no intact synced record in any
// live segment) are read by the older rule: damage in the last segment is a
// torn tail only if no intact record of any kind follows it. Every log that
// this version writes holds a durable synced record in a live segment
// (the one after the schema record of a segment created at open and of
// every snapshot, or the one appended at the first open of an older log),
// so it is never read by the older rule.
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
// ("unknown record kind"), and every log without one reads as before. Since
// 2026-12 transactions past 256 KiB stream as commit-part records, so most
// logs of bulk loads hold some.
// The schema version was added within it as well: older readers refuse a
// schema record that carries one ("schema record has 3 elements").
// synced records were added within it (2026-12) so that damage past the
// durable point after a power loss is cut as a torn tail instead of being
// reported as corruption: older readers refuse a log that holds one, and a
// log without one reads exactly as before (see above).
//
// The constants below are part of the format and must never change.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

const (
	recordSchema      = 1
	recordCommit      = 2
	recordSnapshot    = 3
	recordSnapshotEnd = 4
	recordCommitPart  = 5
	recordSynced      = 6

	// recordKindMax is the highest kind this version knows.
	recordKindMax = recordSynced
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
	// written as several (a streamed one, or one larger than
	// MaxRecordSize).
	CommitPartSize = 16 << 20

	// syncedRecordMax is the size of the largest framed synced record:
	// header, fixarray, kind, and a uint64 offset.
	syncedRecordMax = recordHeaderSize + 2 + 9
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

// appendSynced appends a framed synced record [6, offset] to dst, built in
// place (no allocation when dst has room).
func appendSynced(dst []byte, offset int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recordHeaderSize)...)
	dst = appendUint(append(dst, 0x92, recordSynced), uint64(offset))
	frameRecord(dst[start:])
	return dst
}

// syncedRecordLen is the size of the framed synced record [6, offset].
func syncedRecordLen(offset int64) int {
	return recordHeaderSize + 2 + len(appendUint(make([]byte, 0, 9), uint64(offset)))
}

// parseSynced returns the offset of a synced record's payload, and false if
// the payload is not exactly [6, uint].
func parseSynced(payload []byte) (int64, bool) {
	if len(payload) < 3 || payload[0] != 0x92 || payload[1] != recordSynced {
		return 0, false
	}
	d := entryReader{b: payload[2:]}
	off, err := d.DecodeUint(1<<63 - 1)
	if err != nil || !d.done() {
		return 0, false
	}
	return int64(off), true
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
	// damage is the first damaged record, nil if the segment ends cleanly.
	// settle decides whether it is a torn tail or corruption.
	damage *CorruptError
	marked bool // an intact synced record precedes the damage
}

// scan splits a segment into records, up to its clean end or its first
// damage, which it describes without judging it (see settle).
func scan(segment uint64, data []byte) scanResult {
	var res scanResult
	off := 0
	for off < len(data) {
		reason := ""
		rest := data[off:]
		switch {
		case len(rest) < recordHeaderSize:
			if allZero(rest) {
				return res
			}
			reason = "short record header"
		default:
			n := binary.LittleEndian.Uint32(rest[0:4])
			sum := binary.LittleEndian.Uint32(rest[4:8])
			switch {
			case n == 0:
				if allZero(rest) {
					return res
				}
				reason = "zero length prefix followed by data"
			case n > MaxRecordSize:
				reason = "length prefix exceeds MaxRecordSize"
			case int(n) > len(rest)-recordHeaderSize:
				reason = "record extends past the end of the segment"
			case crc32.Checksum(rest[recordHeaderSize:recordHeaderSize+int(n)], castagnoli) != sum:
				reason = "CRC mismatch"
			default:
				payload := rest[recordHeaderSize : recordHeaderSize+int(n) : recordHeaderSize+int(n)]
				res.records = append(res.records, rawRecord{offset: int64(off), payload: payload})
				if !res.marked && recordKind(payload) == recordSynced {
					res.marked = true
				}
				off += recordHeaderSize + int(n)
				res.end = int64(off)
				continue
			}
		}
		res.damage = &CorruptError{Segment: segment, Offset: int64(off), Reason: reason}
		return res
	}
	return res
}

// settle decides what the damage scan found in data is (record.go's rules):
// nil for a clean end or a torn tail (then res.torn holds the bytes to
// cut), or the *CorruptError. tail says the segment is the last one that
// holds data; watermarked that the log keeps synced records (some live
// segment holds one).
func (res *scanResult) settle(data []byte, tail, watermarked bool) error {
	if res.damage == nil {
		return nil
	}
	d := int(res.damage.Offset)
	proof, seen := syncedAfter(data, d)
	switch {
	case !tail:
		return res.damage
	case proof:
		res.damage.Reason += ", below a later synced watermark"
		return res.damage
	case watermarked || res.marked || seen:
	case validRecordAfter(data, d+1):
		return res.damage
	}
	res.torn = int64(len(data) - d)
	return nil
}

// syncedAfter looks for intact synced records after the damage at d. proof
// reports one whose offset lies past d (and not past its own position):
// the damage is in bytes that were durable. seen reports any intact synced
// record. Candidates are tiny, so the search is linear in the bytes after
// d. A synced record forged inside a value, with a CRC to match, can only
// make Open report corruption (conservative), never drop data.
func syncedAfter(data []byte, d int) (proof, seen bool) {
	for p := d + 1; p+recordHeaderSize+3 <= len(data); p++ {
		n := int(binary.LittleEndian.Uint32(data[p : p+4]))
		if n < 3 || n > syncedRecordMax-recordHeaderSize || p+recordHeaderSize+n > len(data) {
			continue
		}
		payload := data[p+recordHeaderSize : p+recordHeaderSize+n]
		if payload[0] != 0x92 || payload[1] != recordSynced {
			continue
		}
		w, ok := parseSynced(payload)
		if !ok || crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(data[p+4:p+8]) {
			continue
		}
		seen = true
		if w > int64(d) && w <= int64(p) {
			return true, true
		}
	}
	return false, seen
}

// validRecordAfter reports whether an intact record starts anywhere at or
// after from. In a log without synced records it is the proof that damage
// before it is corruption, not a tail torn by a crash. A candidate must
// start like a record ([kind, ...] with a known kind) and be one well-formed
// msgpack value of the declared length before its CRC is computed. The CRC
// work is bounded (validScanBudget): past it the search answers true, so a
// crafted tail makes Open report corruption (conservative) instead of
// taking hours.
func validRecordAfter(data []byte, from int) bool {
	budget := validScanBudget
	for p := from; p+recordHeaderSize < len(data); p++ {
		n := binary.LittleEndian.Uint32(data[p : p+4])
		if n == 0 || n > MaxRecordSize || int(n) > len(data)-p-recordHeaderSize {
			continue
		}
		payload := data[p+recordHeaderSize : p+recordHeaderSize+int(n)]
		if k := recordKind(payload); k < recordSchema || k > recordKindMax {
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

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroBlock))
		if !bytes.Equal(b[:n], zeroBlock[:n]) { // memequal: words at a time, not bytes
			return false
		}
		b = b[n:]
	}
	return true
}

var zeroBlock [4096]byte

// TrimSegment returns data without what follows its last whole record: a
// zero-filled tail, and, when newest, a torn tail (judged by the segment's
// own synced records, see record.go). A segment whose damage is corruption
// (or, not newest, any damage) is returned whole, so that opening it still
// reports the damage. Importers use it to store a native segment file in a
// backend that cannot cut bytes in place.
func TrimSegment(data []byte, newest bool) []byte {
	res := scan(0, data)
	if err := res.settle(data, newest, res.marked); err != nil {
		return data
	}
	return data[:res.end]
}
