package core

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// entryWriter encodes table entries as the flat [tableID, entry] pairs of a
// commit or snapshot record (see record.go). Each table op writes its entry
// with begin, its arguments, then end; an op that fails after begin calls
// rewind, which leaves the writer as it was.
type entryWriter struct {
	buf   bytes.Buffer
	n     int // entries written
	start int // offset of the current entry in buf

	// chunkSize and flush, when set, cut the stream into records: after an
	// entry ends past chunkSize bytes, flush takes the buffered pairs.
	chunkSize int
	flush     func(pairs []byte, n int) error

	// stored says the entries rewrite what tables already hold
	// (compaction): their dynamic keys were checked for canonical form when
	// they were first written, or come from a log, where a Go struct key is
	// a map; they are checked only for being one msgpack value.
	stored bool
}

func newEntryWriter() *entryWriter { return &entryWriter{} }

// uint appends an unsigned integer.
func (w *entryWriter) uint(n uint64) { w.buf.Write(appendUint(w.buf.AvailableBuffer(), n)) }

// int appends a signed integer.
func (w *entryWriter) int(n int64) { w.buf.Write(appendInt(w.buf.AvailableBuffer(), n)) }

// begin starts the entry [op, args...] of table id with nargs arguments and
// returns the mark to rewind to.
func (w *entryWriter) begin(id uint32, op uint8, nargs int) int {
	mark := w.buf.Len()
	w.start = mark
	b := appendUint(w.buf.AvailableBuffer(), uint64(id))
	b = appendArrayLen(b, 1+nargs)
	w.buf.Write(appendUint(b, uint64(op)))
	return mark
}

// raw writes table id followed by an already-encoded entry.
func (w *entryWriter) raw(id uint32, entry []byte) error {
	w.start = w.buf.Len()
	w.uint(uint64(id))
	w.buf.Write(entry)
	return w.end()
}

func (w *entryWriter) rewind(mark int) { w.buf.Truncate(mark) }

// maxEntrySize bounds one [tableID, entry] pair: it must fit in a record
// with the record's array header and kind.
const maxEntrySize = MaxRecordSize - 16

func (w *entryWriter) end() error {
	if w.buf.Len()-w.start > maxEntrySize {
		w.rewind(w.start)
		return fmt.Errorf("%w: one entry of %d bytes", ErrTooLarge, w.buf.Len()-w.start)
	}
	w.n++
	if w.flush == nil || w.buf.Len() < w.chunkSize {
		return nil
	}
	if w.n > 1 {
		// The entry that crossed the chunk size starts a chunk of its own,
		// so that one large entry (up to MaxRecordSize, as its commit was)
		// never joins a full chunk and overflows the record.
		entry := bytes.Clone(w.buf.Bytes()[w.start:])
		w.buf.Truncate(w.start)
		w.n--
		if err := w.takeChunk(); err != nil {
			return err
		}
		w.buf.Write(entry)
		w.n = 1
		if w.buf.Len() < w.chunkSize {
			return nil
		}
	}
	return w.takeChunk()
}

func (w *entryWriter) takeChunk() error {
	if w.n == 0 {
		return nil
	}
	err := w.flush(w.buf.Bytes(), w.n)
	w.buf.Reset()
	w.n = 0
	return err
}

// writeArg encodes one argument of the current entry of w, rewinding to
// mark on failure.
func writeArg[K any](w *entryWriter, mark int, k K) error {
	if raw, ok := any(&k).(*RawKey); ok { // the dynamic tables' keys
		check := ValidKey
		if w.stored {
			check = ValidRaw
		}
		if err := check([]byte(*raw)); err != nil {
			w.rewind(mark)
			return err
		}
		w.buf.WriteString(string(*raw))
		return nil
	}
	if err := encodeTo(&w.buf, k); err != nil {
		w.rewind(mark)
		return fmt.Errorf("dbrs: cannot encode %T: %w", k, err)
	}
	return nil
}

// commitPrefix is the room a transaction's write buffer keeps before its
// pairs, so that a transaction that fits in one record is framed in place:
// a synced record when one is due (record.go), then the record header,
// array header and kind.
var commitPrefix [syncedRecordMax + recordHeaderSize + 6]byte

// commitRecords frames the n pairs of a transaction, which follow
// commitPrefix in buf, as records: one commit record if they fit in one of
// maxRecord bytes (framed in place, in buf), and otherwise commit-part
// records of at most partSize bytes of pairs each, ending with a commit
// record (see record.go). When mark is not negative, a synced record
// [6, mark] comes first. It returns the records, one after the other, and
// how many there are (synced records, bookkeeping, are not counted).
func commitRecords(buf []byte, n, maxRecord, partSize int, mark int64) ([]byte, int, error) {
	pairs := buf[len(commitPrefix):]
	if len(pairs)+16 <= maxRecord {
		hdr := appendUint(appendArrayLen(make([]byte, 0, 6), 1+2*n), recordCommit)
		start := len(commitPrefix) - len(hdr) - recordHeaderSize
		copy(buf[start+recordHeaderSize:], hdr)
		frameRecord(buf[start:])
		if mark < 0 {
			return buf[start:], 1, nil
		}
		start -= syncedRecordLen(mark)
		appendSynced(buf[start:start], mark) // in place, in the room before the commit record
		return buf[start:], 1, nil
	}
	out := make([]byte, 0, len(pairs)+len(pairs)/partSize*32+64+syncedRecordMax)
	records := 0
	if mark >= 0 {
		out = appendSynced(out, mark)
	}
	for len(pairs) > 0 {
		// Take whole pairs up to partSize (at least one).
		size, count := 0, 0
		for size < len(pairs) {
			idLen, err := checkMsgpack(pairs[size:])
			if err != nil {
				return nil, 0, err
			}
			entryLen, err := checkMsgpack(pairs[size+idLen:])
			if err != nil {
				return nil, 0, err
			}
			if count > 0 && size+idLen+entryLen > partSize {
				break
			}
			size += idLen + entryLen
			count++
		}
		kind := recordCommitPart
		if size == len(pairs) {
			kind = recordCommit
		}
		rec, err := buildRecord(kind, pairs[:size], count)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, rec...)
		records++
		pairs = pairs[size:]
	}
	return out, records, nil
}

// record builds a framed record of the given kind around n pairs.
func buildRecord(kind int, pairs []byte, n int) ([]byte, error) {
	hdr := appendUint(appendArrayLen(make([]byte, 0, 8), 1+2*n), uint64(kind))
	size := len(hdr) + len(pairs)
	if size > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	rec := make([]byte, recordHeaderSize, recordHeaderSize+size)
	rec = append(rec, hdr...)
	rec = append(rec, pairs...)
	frameRecord(rec)
	return rec, nil
}

var errArity = errors.New("wrong number of arguments for op")

// readEntryHeader reads [op, ...] and returns op and the argument count.
func readEntryHeader(d *entryReader) (op uint8, nargs int, err error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, 0, err
	}
	if n < 1 {
		return 0, 0, errors.New("entry is not an [op, args...] array")
	}
	o, err := d.DecodeUint(math.MaxUint8)
	if err != nil {
		return 0, 0, err
	}
	return uint8(o), n - 1, nil
}

func wantArgs(op uint8, got, want int) error {
	if got != want {
		return fmt.Errorf("%w: op %d has %d, want %d", errArity, op, got, want)
	}
	return nil
}

func unknownOp(kind string, op uint8) error {
	return fmt.Errorf("unknown op %d for a %s table", op, kind)
}

// checkArity checks op against a table of argument counts indexed by op.
func checkArity(kind string, op uint8, got int, arity []int) error {
	if int(op) >= len(arity) || arity[op] < 0 {
		return unknownOp(kind, op)
	}
	return wantArgs(op, got, arity[op])
}
