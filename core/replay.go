package core

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"time"
)

// Opening a database: find the newest complete snapshot segment, replay it
// and every later segment into the table states, cut a torn tail off the
// newest segment, and make sure the active segment's schema record lists
// every table. See record.go for the rules this follows.

// segmentInfo is one segment as read at open.
type segmentInfo struct {
	id       uint64
	data     []byte
	scan     scanResult
	snapshot bool  // holds snapshot records
	complete bool  // ends with snapshot-end
	tail     bool  // no later segment holds data: it may end torn
	err      error // its damage, when that is corruption (settle)

	// inserts, when not nil, waits for and returns the insert counts of
	// the segment's records as framed (countInsertsAsync), taken while
	// scan checked their CRCs; replay then does not count them itself.
	inserts func() map[uint32]int
}

// recordKind peeks at the kind of a record payload without decoding it.
func recordKind(payload []byte) int {
	switch {
	case len(payload) >= 2 && payload[0]&0xf0 == 0x90:
		return int(payload[1])
	case len(payload) >= 4 && payload[0] == 0xdc:
		return int(payload[3])
	case len(payload) >= 6 && payload[0] == 0xdd:
		return int(payload[5])
	}
	return -1
}

// readSegment reads a segment that is not the last to hold data (a sealed
// one, for compaction): any damage in it is corruption.
func readSegment(b Backend, id uint64) (*segmentInfo, error) {
	data, err := b.ReadSegment(id)
	if err != nil {
		return nil, fmt.Errorf("dbrs: read segment %d: %w", id, err)
	}
	res := scan(id, data)
	if err := res.settle(data, false, true); err != nil {
		return nil, err
	}
	if err := cutUncommitted(id, &res, false); err != nil {
		return nil, err
	}
	si := &segmentInfo{id: id, data: data, scan: res}
	si.snapshot, si.complete = snapshotState(res.records)
	return si, nil
}

// readLog reads the segments that Open replays, oldest first: the newest
// complete snapshot (or the first segment) and every later one, skipping
// an incomplete snapshot while the segments it replaces remain (an
// incomplete snapshot whose sources are gone is the error it returns, a
// *CorruptError). stale lists the segments that state no longer needs.
// Each segment's damage is settled by record.go's rules: the last segment
// that holds data may end torn; an error found in a segment is left in its
// err, with the records before the damage, so that Verify can report them.
// watermarked says whether some live segment holds a synced record.
//
// With count set (an open, which replays what it reads), each segment's
// inserts are counted while it is scanned (segmentInfo.inserts).
func readLog(b Backend, count bool) (live []*segmentInfo, stale []uint64, watermarked bool, err error) {
	ids, err := b.Segments()
	if err != nil {
		return nil, nil, false, fmt.Errorf("dbrs: list segments: %w", err)
	}
	tail := true // no segment after this one holds a non-zero byte
	for i := len(ids) - 1; i >= 0; i-- {
		data, err := b.ReadSegment(ids[i])
		if err != nil {
			return nil, nil, false, fmt.Errorf("dbrs: read segment %d: %w", ids[i], err)
		}
		si := &segmentInfo{id: ids[i], data: data, tail: tail}
		if count {
			si.inserts = countInsertsAsync(data)
		}
		si.scan = scan(ids[i], data)
		if tail && !allZero(data) {
			tail = false
		}
		si.snapshot, si.complete = snapshotState(si.scan.records)
		if si.snapshot && !si.complete {
			// An unfinished compaction, if the segments it was replacing
			// are still there; without them it is a snapshot that lost
			// its end, and skipping it would silently drop the state.
			if err := incompleteSnapshot(si, ids[:i]); err != nil {
				return nil, nil, false, err
			}
			stale = append(stale, si.id)
			continue
		}
		live = append(live, si)
		if si.complete {
			stale = append(stale, ids[:i]...)
			break
		}
	}
	slices.Reverse(live)
	watermarked = slices.ContainsFunc(live, func(si *segmentInfo) bool { return si.scan.marked })
	for _, si := range live {
		si.err = si.scan.settle(si.data, si.tail, watermarked)
		if si.err == nil {
			si.err = cutUncommitted(si.id, &si.scan, si.tail)
		}
	}
	return live, stale, watermarked, nil
}

// incompleteSnapshot returns nil if the snapshot segment si, which has no
// snapshot-end record, may be skipped as an unfinished compaction: the
// segment it was made from (its ID minus one; see compact.go) is among the
// older ones. Otherwise the snapshot was installed and then damaged, and
// it is corruption.
func incompleteSnapshot(si *segmentInfo, older []uint64) error {
	if slices.Contains(older, si.id-1) {
		return nil
	}
	return &CorruptError{Segment: si.id, Offset: si.scan.end,
		Reason: "snapshot segment has lost its snapshot-end record, and the segments it replaced are gone"}
}

// cutUncommitted treats a run of commit-part records that ends the newest
// segment as a transaction that never committed: like a torn tail, it is
// not replayed, and it is cut when the segment is opened for writing. In
// any other segment such a run is corruption (record.go).
func cutUncommitted(id uint64, res *scanResult, newest bool) error {
	i := len(res.records)
	for i > 0 && recordKind(res.records[i-1].payload) == recordCommitPart {
		i--
	}
	if i == len(res.records) {
		return nil
	}
	start := res.records[i].offset
	if !newest {
		return &CorruptError{Segment: id, Offset: start, Reason: "a transaction's commit-part records end the segment without their commit record"}
	}
	res.torn += res.end - start
	res.end = start
	res.records = res.records[:i]
	return nil
}

func (e *engine) load() error {
	start := time.Now()
	live, stale, watermarked, err := readLog(e.b, true)
	if err != nil {
		return err
	}
	for _, si := range live {
		if si.err != nil {
			return si.err
		}
	}
	e.stale = stale

	early := e.markEarly(live, watermarked)
	if early != nil {
		defer early.wait() // never leave it running when load fails
	}
	r := newReplayer(e)
	r.borrow = true
	for _, si := range live {
		if err := r.segment(si); err != nil {
			return err
		}
		e.segs = append(e.segs, si.id)
		e.segSize[si.id] = si.scan.end
		e.logBytes += si.scan.end
		e.openStats.Segments++
		e.openStats.Bytes += si.scan.end
	}
	for _, t := range e.tables {
		if s, ok := t.state.(liveSettler); ok {
			s.settleLive()
		}
	}
	e.records = r.records
	e.openStats.Records = r.records
	if len(live) > 0 && live[0].complete {
		e.snapSize = live[0].scan.end
	}
	added := e.bindSchemaTables()

	var newest *segmentInfo
	if len(live) > 0 {
		newest = live[len(live)-1]
	}
	for _, si := range live {
		e.openStats.TornBytes += si.scan.torn // only the last segment with data may be torn
	}
	if e.opts.ReadOnly {
		if newest != nil {
			e.active = newest.id
		}
		e.openStats.Duration = time.Since(start)
		return nil
	}
	marked := false // early has synced what this open read, and marked it if it had to
	if early != nil {
		if err := early.wait(); err != nil {
			return err
		}
		if early.rec != nil {
			e.grewLocked(early.seg, int64(len(early.rec)))
		}
		marked = true
	}
	for _, si := range live {
		if si.scan.torn == 0 {
			continue
		}
		if err := e.b.Truncate(si.id, si.scan.end); err != nil {
			return fmt.Errorf("dbrs: cut torn tail of segment %d: %w", si.id, err)
		}
		if err := e.b.Sync(si.id); err != nil {
			return fmt.Errorf("dbrs: cut torn tail of segment %d: %w", si.id, err)
		}
	}
	switch {
	case newest == nil || newest.complete:
		next := uint64(1)
		if ids, err := e.b.Segments(); err != nil {
			return fmt.Errorf("dbrs: list segments: %w", err)
		} else if len(ids) > 0 {
			next = ids[len(ids)-1] + 1
		}
		if err := e.startSegmentLocked(next); err != nil {
			return err
		}
	default:
		e.active = newest.id
		fresh := len(newest.scan.records) == 0
		if added > 0 || fresh {
			if err := e.appendSchemaLocked(fresh); err != nil {
				return err
			}
			marked = false
		}
		if !watermarked && !fresh {
			// A log written before synced records: mark it, so that from
			// now on damage past the durable point reads as a torn tail.
			if err := e.appendRecordLocked(appendSynced(nil, 0)); err != nil {
				return fmt.Errorf("dbrs: write synced record: %w", err)
			}
		}
	}
	if marked {
		// Everything this open read was synced; the segment's last
		// record is a synced record covering it.
		e.wm.written = -1
		e.wm.advance(e.active, early.end)
		if early.rec != nil {
			e.wm.written = early.end
		}
		e.openStats.Duration = time.Since(start)
		return nil
	}
	if err := e.b.Sync(e.active); err != nil {
		return fmt.Errorf("dbrs: sync segment %d: %w", e.active, err)
	}
	// Everything before this point was read back and has just been synced.
	e.wm.written = -1
	e.wm.advance(e.active, e.segSize[e.active])
	if newest != nil && !newest.complete && endsUnmarked(newest) {
		// Mark it now rather than at the first commit, which may never
		// come: otherwise damage found at a later open in what this open
		// read (a flipped bit, a lost page) would be cut as a torn tail,
		// with every commit after it, instead of reported as corruption.
		mark := e.wm.due(e.active)
		if err := e.appendRecordLocked(appendSynced(nil, mark)); err != nil {
			return fmt.Errorf("dbrs: write synced record: %w", err)
		}
		if err := e.b.Sync(e.active); err != nil {
			return fmt.Errorf("dbrs: sync segment %d: %w", e.active, err)
		}
		e.wm.written = mark
	}
	e.openStats.Duration = time.Since(start)
	return nil
}

// earlyMark is the I/O of an open that needs only to sync what it read,
// and mark it (the endsUnmarked case of load), run while replay runs.
type earlyMark struct {
	seg  uint64
	end  int64  // the segment's end as read: the mark's offset and position
	rec  []byte // the synced record [6, end]; nil when the segment ends with one
	done chan error
	err  error
	over bool
}

// markEarly starts that I/O when it is all the open will do to the log
// before it returns, and nothing it finds can stop it: a writable open of
// a log that already keeps synced records, whose newest segment is an
// untorn log segment, at the schema version this open wants (an upgrade
// writes nothing to the old log). It returns nil otherwise, and load takes
// its usual path.
//
// The synced record is written only after a Sync of the segment returned,
// exactly as load writes it, so it claims nothing that is not durable. An
// open that then fails (a schema that does not fit, a damaged entry) has
// written only that true claim, which a later open would write as well.
func (e *engine) markEarly(live []*segmentInfo, watermarked bool) *earlyMark {
	if e.opts.ReadOnly || !watermarked || len(live) == 0 || e.rawVersion {
		return nil
	}
	for _, si := range live {
		if si.scan.torn != 0 {
			return nil
		}
	}
	newest := live[len(live)-1]
	if newest.complete || len(newest.scan.records) == 0 {
		return nil
	}
	if first := live[0].scan.records; len(first) == 0 || recordKind(first[0].payload) != recordSchema {
		return nil
	} else if v, err := schemaVersion(first[0].payload); err != nil || v != e.opts.Version {
		return nil
	}
	m := &earlyMark{seg: newest.id, end: newest.scan.end, done: make(chan error, 1)}
	if endsUnmarked(newest) {
		m.rec = appendSynced(nil, m.end)
	}
	go func() { m.done <- m.run(e.b) }()
	return m
}

// run syncs the segment and, when it must, marks it and syncs again.
func (m *earlyMark) run(b Backend) error {
	if err := b.Sync(m.seg); err != nil {
		return fmt.Errorf("dbrs: sync segment %d: %w", m.seg, err)
	}
	if m.rec == nil {
		return nil
	}
	if err := b.Append(m.seg, m.end, m.rec); err != nil {
		return fmt.Errorf("dbrs: write synced record: %w", err)
	}
	if err := b.Sync(m.seg); err != nil {
		return fmt.Errorf("dbrs: sync segment %d: %w", m.seg, err)
	}
	return nil
}

// wait returns the outcome of the early I/O once it has ended.
func (m *earlyMark) wait() error {
	if !m.over {
		m.err, m.over = <-m.done, true
	}
	return m.err
}

// endsUnmarked reports whether records follow the last synced record of a
// segment, so that no watermark covers them (a synced record written at
// open or when the segment started covers everything before it).
func endsUnmarked(si *segmentInfo) bool {
	recs := si.scan.records
	return len(recs) > 0 && recordKind(recs[len(recs)-1].payload) != recordSynced
}

// bindSchemaTables gives IDs to the schema tables the log did not have and
// returns how many there were.
func (e *engine) bindSchemaTables() int {
	var next uint64
	for _, t := range e.tables {
		next = max(next, uint64(t.id)+1)
	}
	names := make([]string, 0, len(e.byName))
	for name, t := range e.byName {
		if !slices.Contains(e.tables, t) {
			names = append(names, name)
		}
	}
	slices.Sort(names) // as sortKeys sorts: one string sort in dbrs.wasm
	for _, name := range names {
		t := e.byName[name]
		if next > math.MaxUint32 { // IDs run out at the top: take the lowest free one
			next = 0
			for e.byID[uint32(next)] != nil {
				next++
			}
		}
		t.id = uint32(next)
		next++
		e.byID[t.id] = t
		e.tables = append(e.tables, t)
	}
	slices.SortFunc(e.tables, func(a, b *tableInfo) int { return int(a.id) - int(b.id) })
	return len(names)
}

// startSegmentLocked creates segment id, makes it active and writes its
// schema record and the synced record that marks the log as watermarked.
func (e *engine) startSegmentLocked(id uint64) error {
	if err := e.b.Create(id); err != nil {
		return fmt.Errorf("dbrs: create segment %d: %w", id, err)
	}
	e.active = id
	e.segs = append(e.segs, id)
	e.segSize[id] = 0
	e.wm.written = 0
	return e.appendSchemaLocked(true)
}

// schemaRecord encodes the schema record: every table's ID, name and kind,
// and the schema version if there is one.
func (e *engine) schemaRecord() []byte { return schemaRecordOf(e.tables, e.version) }

func schemaRecordOf(tables []*tableInfo, version uint64) []byte {
	n := 2
	if version > 0 {
		n = 3 // version 0 is written as before versions existed
	}
	b := appendUint(appendArrayLen(nil, n), recordSchema)
	b = appendArrayLen(b, len(tables))
	for _, t := range tables {
		b = appendUint(appendArrayLen(b, 3), uint64(t.id))
		b = appendStr(appendStr(b, t.name), t.kind)
	}
	if version > 0 {
		b = appendUint(b, version)
	}
	return appendRecord(nil, b)
}

// appendSchemaLocked appends a schema record to the active segment,
// followed, when the segment starts with it (first), by a synced record
// [6, 0] (record.go).
func (e *engine) appendSchemaLocked(first bool) error {
	rec := e.schemaRecord()
	if first {
		rec = appendSynced(rec, 0)
	}
	if err := e.appendRecordLocked(rec); err != nil {
		return fmt.Errorf("dbrs: write schema record: %w", err)
	}
	return nil
}

// appendRecordLocked appends whole records to the active segment. e.mu is
// held.
func (e *engine) appendRecordLocked(recs []byte) error {
	if err := e.b.Append(e.active, e.segSize[e.active], recs); err != nil {
		return err
	}
	e.grewLocked(e.active, int64(len(recs)))
	for p := recs; len(p) >= recordHeaderSize; {
		n := recordHeaderSize + int(binary.LittleEndian.Uint32(p))
		if recordKind(p[recordHeaderSize:n]) != recordSynced {
			e.records++
		}
		p = p[n:]
	}
	return nil
}

// replayer applies records to table states. At open it fills the engine's
// tables; for compaction it fills fresh states (states non-nil).
//
// Each record is walked once: the pairs' table IDs by the replayer, each
// entry's fields by its table. A table that replays an entry from the rest
// of its record (entryPrefixReplayer) finds the entry's end as it reads
// it; for the others the replayer finds the entry's bounds first. Nothing
// is decoded by reflection unless a table's Go key or value type needs it.
type replayer struct {
	e       *engine
	fresh   map[uint32]tableState // compaction: states by ID
	rec     entryReader           // the record being replayed
	entry   entryReader           // the entry being applied
	records int64

	// The state of the last table ID looked up (valid while lastSt is not
	// nil): entries come in runs of one table. Only a schema record
	// changes what an ID names.
	lastID   uint32
	lastSt   tableState
	lastName string
	lastIn   entryPrefixReplayer // lastSt's, if it has one

	// borrow makes segment replay keep strings and raw values that alias
	// the segments' bytes (entryReader.borrow). Open and compaction set
	// it: open's states keep the buffers of the segments read at open
	// alive while any entry of theirs is live (bounded by the size of the
	// log at open; entries written later are copies), and compaction's
	// states live only until its snapshot is encoded.
	borrow bool
}

func newReplayer(e *engine) *replayer { return &replayer{e: e} }

func (r *replayer) segment(si *segmentInfo) error {
	r.entry.borrow = r.borrow // si.data came from ReadSegment: the caller owns it
	defer func() { r.entry.borrow = false }()
	var snapRecords, snapEntries int64
	var hints map[uint32]int
	if si.complete {
		_, _, hints, _ = parseSnapshotEnd(si.scan.records[len(si.scan.records)-1].payload)
		// The counts are not checked until the end; never reserve more
		// than the segment could hold (an entry takes at least 3 bytes).
		for id, n := range hints {
			hints[id] = min(n, len(si.data)/3)
		}
	} else if si.inserts != nil {
		hints = si.inserts()
	} else {
		hints = countInserts(si)
	}
	var parts []rawRecord // the commit-part records of a transaction not yet committed
	for i, rec := range si.scan.records {
		kind := recordKind(rec.payload)
		if kind == recordCommitPart {
			parts = append(parts, rec)
			continue
		}
		if len(parts) > 0 {
			if kind != recordCommit {
				return &CorruptError{Segment: si.id, Offset: parts[0].offset, Reason: "a transaction's commit-part records are not followed by their commit record"}
			}
			for _, p := range parts {
				if _, err := r.record(si.id, p); err != nil {
					return err
				}
				r.records++
			}
			parts = parts[:0]
		}
		n, err := r.record(si.id, rec)
		if err != nil {
			return err
		}
		if kind != recordSynced { // bookkeeping, not counted (Stats.Records)
			r.records++
		}
		if i == 0 && hints != nil {
			r.sizeTables(hints) // the schema record has bound the IDs
		}
		switch recordKind(rec.payload) {
		case recordSnapshot:
			snapRecords++
			snapEntries += int64(n)
		case recordSnapshotEnd:
			if err := r.checkSnapshotEnd(si.id, rec, snapRecords, snapEntries); err != nil {
				return err
			}
		}
	}
	return nil
}

// countInserts counts, per table ID, the entries of a log segment's commit
// records that may add an element (op 1, the insert or push of every
// built-in kind): an upper bound on what the segment adds to each table,
// taken by a cheap pass over the entry headers so that replay can size
// each table once. Malformed records are left to replay to report.
func countInserts(si *segmentInfo) map[uint32]int {
	return countInsertsIn(func(yield func([]byte) bool) {
		for _, rec := range si.scan.records {
			if !yield(rec.payload) {
				return
			}
		}
	})
}

// countInsertsAsync returns a func that returns countInserts of the records
// of data as their length prefixes frame them, CRCs unchecked, which it
// takes on another goroutine when another CPU can run it while the caller
// scans data. Records that scan then rejects (a torn or damaged tail, a
// transaction that never committed) can only raise the counts, which stay
// bounded by the entries data holds. With one CPU (GOMAXPROCS 1, as in
// wasm) it returns nil, and replay counts the scanned records.
func countInsertsAsync(data []byte) func() map[uint32]int {
	if runtime.GOMAXPROCS(0) < 2 {
		return nil
	}
	done := make(chan map[uint32]int, 1)
	go func() { done <- countInsertsIn(framedPayloads(data)) }()
	var counts map[uint32]int
	waited := false
	return func() map[uint32]int {
		if !waited {
			counts, waited = <-done, true
		}
		return counts
	}
}

// framedPayloads yields the payloads of the records at the start of data
// as their length prefixes frame them, up to the first prefix that is 0,
// over MaxRecordSize, or past data's end.
func framedPayloads(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for off := 0; len(data)-off >= recordHeaderSize; {
			n := int(binary.LittleEndian.Uint32(data[off:]))
			if n == 0 || n > MaxRecordSize || n > len(data)-off-recordHeaderSize {
				return
			}
			if !yield(data[off+recordHeaderSize : off+recordHeaderSize+n]) {
				return
			}
			off += recordHeaderSize + n
		}
	}
}

// countInsertsIn is countInserts over the record payloads that payloads
// yields.
func countInsertsIn(payloads iter.Seq[[]byte]) map[uint32]int {
	counts := map[uint32]int{}
	// Entries come in runs of one table: count a run, then add it.
	run, runID := 0, uint32(0)
	var r entryReader
	for payload := range payloads {
		if k := recordKind(payload); k != recordCommit && k != recordCommitPart {
			continue
		}
		r.reset(payload)
		n, err := r.DecodeArrayLen()
		if err != nil || n < 1 {
			continue
		}
		if _, err := r.DecodeUint(math.MaxUint8); err != nil {
			continue
		}
		for range (n - 1) / 2 {
			id, err := r.DecodeUint(math.MaxUint32)
			if err != nil {
				break
			}
			entry, err := r.skip()
			if err != nil {
				break
			}
			// [1, ...]: a fixarray whose first element is the fixint 1.
			if len(entry) >= 2 && entry[0]&0xf0 == 0x90 && entry[1] == 1 {
				if uint32(id) != runID && run > 0 {
					counts[runID] += run
					run = 0
				}
				runID = uint32(id)
				run++
			}
		}
	}
	if run > 0 {
		counts[runID] += run
	}
	if len(counts) == 0 {
		return nil
	}
	return counts
}

func (r *replayer) bad(seg uint64, rec rawRecord, table string, err error) error {
	return &EntryError{Segment: seg, Offset: rec.offset, Table: table, Err: err}
}

// record applies one record and returns how many entries it held.
func (r *replayer) record(seg uint64, rec rawRecord) (entries int, err error) {
	d := &r.rec
	d.reset(rec.payload)
	n, err := d.DecodeArrayLen()
	if err != nil || n < 1 {
		return 0, r.bad(seg, rec, "", fmt.Errorf("record is not a [kind, ...] array"))
	}
	kind, err := d.DecodeInt()
	if err != nil {
		return 0, r.bad(seg, rec, "", err)
	}
	switch kind {
	case recordSchema:
		r.lastSt = nil // it may bind IDs
		if n != 2 && n != 3 {
			return 0, r.bad(seg, rec, "", fmt.Errorf("schema record has %d elements", n))
		}
		// The version is checked before the tables are bound: an older
		// log's tables may not fit the schema until upgraded.
		version, err := schemaVersion(rec.payload)
		if err != nil {
			return 0, r.bad(seg, rec, "", err)
		}
		if r.fresh == nil {
			if err := r.e.seeVersion(version); err != nil {
				return 0, err
			}
		}
		if err := r.schema(seg, rec); err != nil {
			return 0, err
		}
		if n == 3 {
			if _, err := d.DecodeUint(math.MaxUint64); err != nil {
				return 0, r.bad(seg, rec, "", err)
			}
		}
	case recordCommit, recordSnapshot, recordCommitPart:
		if (n-1)%2 != 0 {
			return 0, r.bad(seg, rec, "", fmt.Errorf("record has an odd number of pair elements"))
		}
		for range (n - 1) / 2 {
			start := d.pos
			id, err := d.DecodeUint(math.MaxUint32)
			if err != nil {
				return 0, r.bad(seg, rec, "", err)
			}
			if uint32(id) != r.lastID || r.lastSt == nil {
				r.lastSt, r.lastName = r.state(uint32(id))
				r.lastIn, _ = r.lastSt.(entryPrefixReplayer)
				r.lastID = uint32(id)
			}
			st, name := r.lastSt, r.lastName
			if in := r.lastIn; in != nil {
				r.entry.reset(d.b[d.pos:])
				if err := in.replayPrefix(&r.entry, d.pos-start); err != nil {
					return 0, r.bad(seg, rec, name, err)
				}
				d.pos += r.entry.pos
				continue
			}
			entry, err := d.skip()
			if err != nil {
				return 0, r.bad(seg, rec, "", err)
			}
			if st == nil {
				return 0, r.bad(seg, rec, "", fmt.Errorf("entry for table ID %d, which no schema record defines", id))
			}
			r.entry.reset(entry)
			if err := st.replay(&r.entry, d.pos-start); err != nil {
				return 0, r.bad(seg, rec, name, err)
			}
			if !r.entry.done() {
				return 0, r.bad(seg, rec, name, fmt.Errorf("%d bytes left in the entry", r.entry.left()))
			}
		}
		entries = (n - 1) / 2
	case recordSnapshotEnd:
		if _, err := checkMsgpack(rec.payload); err != nil {
			return 0, r.bad(seg, rec, "", err)
		}
		return 0, nil
	case recordSynced:
		if _, ok := parseSynced(rec.payload); !ok {
			return 0, r.bad(seg, rec, "", fmt.Errorf("malformed synced record"))
		}
		return 0, nil
	default:
		return 0, r.bad(seg, rec, "", fmt.Errorf("unknown record kind %d (written by a newer dbrs?)", kind))
	}
	if !d.done() {
		return 0, r.bad(seg, rec, "", fmt.Errorf("%d bytes after the record's value", d.left()))
	}
	return entries, nil
}

func (r *replayer) state(id uint32) (tableState, string) {
	t := r.e.byID[id]
	if t == nil {
		return nil, ""
	}
	if r.fresh != nil {
		return r.fresh[id], t.name
	}
	return t.state, t.name
}

func (r *replayer) checkSnapshotEnd(seg uint64, rec rawRecord, records, entries int64) error {
	wantRecords, wantEntries, _, err := parseSnapshotEnd(rec.payload)
	if err != nil {
		return r.bad(seg, rec, "", err)
	}
	if wantRecords != records || wantEntries != entries {
		return &CorruptError{Segment: seg, Offset: rec.offset,
			Reason: fmt.Sprintf("snapshot-end counts %d records and %d entries, segment holds %d and %d", wantRecords, wantEntries, records, entries)}
	}
	return nil
}

// parseSnapshotEnd decodes [4, records, entries] or [4, records, entries,
// [tableID, count, ...]].
func parseSnapshotEnd(payload []byte) (records, entries int64, hints map[uint32]int, err error) {
	malformed := fmt.Errorf("malformed snapshot-end record")
	d := &entryReader{b: payload}
	n, err := d.DecodeArrayLen()
	if err != nil || (n != 3 && n != 4) {
		return 0, 0, nil, malformed
	}
	kind, err1 := d.DecodeInt()
	records, err2 := d.DecodeInt64()
	entries, err3 := d.DecodeInt64()
	if err1 != nil || err2 != nil || err3 != nil || kind != recordSnapshotEnd {
		return 0, 0, nil, malformed
	}
	if n == 3 {
		return records, entries, nil, d.doneOr(malformed)
	}
	if c, _ := d.code(); c == 0xc0 { // no table had entries: a nil list
		d.pos++
		return records, entries, nil, d.doneOr(malformed)
	}
	m, err := d.DecodeArrayLen()
	if err != nil || m%2 != 0 {
		return 0, 0, nil, malformed
	}
	hints = make(map[uint32]int, m/2)
	for range m / 2 {
		id, err1 := d.DecodeInt64()
		count, err2 := d.DecodeInt64()
		if err1 != nil || err2 != nil {
			return 0, 0, nil, malformed
		}
		if id >= 0 && id <= 1<<32-1 && count > 0 {
			hints[uint32(id)] = int(min(count, entries, 1<<40))
		}
	}
	return records, entries, hints, d.doneOr(malformed)
}

// liveSettler is implemented by table states whose live-bytes estimate
// replay leaves to be measured once it ends.
type liveSettler interface{ settleLive() }

// entryPrefixReplayer is implemented by table states that can replay an
// entry from the rest of its record, so that replay need not find the
// entry's end in a pass of its own first. replayPrefix applies the entry
// at the start of d, which may hold further bytes, and leaves d just past
// it: it reads exactly one msgpack value, the entry, or returns an error
// (never panics) for malformed input. idLen is the bytes of the entry's
// table ID.
type entryPrefixReplayer interface {
	replayPrefix(d *entryReader, idLen int) error
}

// sizeHinter is implemented by table states that can reserve memory for a
// known number of entries before a snapshot is replayed into them.
type sizeHinter interface{ sizeHint(entries int) }

func (r *replayer) sizeTables(hints map[uint32]int) {
	for id, n := range hints {
		if st, _ := r.state(id); st != nil {
			if h, ok := st.(sizeHinter); ok {
				h.sizeHint(n)
			}
		}
	}
}

// schema applies a schema record: it binds log table IDs to schema tables
// by name, or to opaque states for tables the schema lacks.
func (r *replayer) schema(seg uint64, rec rawRecord) error {
	d := &r.rec
	n, err := d.DecodeArrayLen()
	if err != nil {
		return r.bad(seg, rec, "", err)
	}
	e := r.e
	for range n {
		entry, err := readSchemaEntry(d)
		if err != nil {
			return r.bad(seg, rec, "", fmt.Errorf("schema record: %w", err))
		}
		if t := e.byID[entry.ID]; t != nil {
			if t.name != entry.Name || t.kind != entry.Kind {
				return &CorruptError{Segment: seg, Offset: rec.offset,
					Reason: fmt.Sprintf("table ID %d is %q (%s) but was %q (%s)", entry.ID, entry.Name, entry.Kind, t.name, t.kind)}
			}
			continue
		}
		if r.fresh != nil {
			return r.bad(seg, rec, entry.Name, fmt.Errorf("table appeared during compaction"))
		}
		t := e.byName[entry.Name]
		switch {
		case t == nil:
			if !e.opts.KeepUnknownTables && !isReservedTable(entry.Name) {
				return fmt.Errorf("%w: the log holds table %q (%s), which the schema lacks; set Options.KeepUnknownTables to keep it", ErrUnknownTable, entry.Name, entry.Kind)
			}
			t = &tableInfo{name: entry.Name, kind: entry.Kind, opaque: true}
			t.fresh = opaqueFactory(entry.Kind)
			t.state, _ = t.fresh()
			e.byName[entry.Name] = t
		case t.kind != entry.Kind:
			return fmt.Errorf("%w: table %q is a %s in the log but a %s in the schema", ErrSchema, entry.Name, entry.Kind, t.kind)
		}
		if slices.Contains(e.tables, t) {
			return &CorruptError{Segment: seg, Offset: rec.offset, Reason: fmt.Sprintf("table %q has two IDs", entry.Name)}
		}
		t.id = entry.ID
		e.byID[t.id] = t
		e.tables = append(e.tables, t)
	}
	return nil
}

type schemaEntry struct {
	ID         uint32
	Name, Kind string
}

// readSchemaEntry reads one [tableID, name, kind] of a schema record.
func readSchemaEntry(d *entryReader) (schemaEntry, error) {
	var e schemaEntry
	n, err := d.DecodeArrayLen()
	if err != nil {
		return e, err
	}
	if n != 3 {
		return e, fmt.Errorf("table entry has %d elements, want 3", n)
	}
	id, err := d.DecodeUint(math.MaxUint32)
	if err != nil {
		return e, err
	}
	e.ID = uint32(id)
	if e.Name, err = d.DecodeString(); err != nil {
		return e, err
	}
	e.Kind, err = d.DecodeString()
	return e, err
}
