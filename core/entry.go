package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unsafe"
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

	// kept, in a transaction's writer (keep set), holds the chunks cut
	// from the stream, oldest first; buf is the chunk being written. Every
	// chunk starts with commitPrefix, so that commitRecords can frame a
	// record in front of any of them without copying the pairs. keptLen and
	// keptN are the bytes (prefixes included) and entries of kept.
	keep    bool
	kept    []txChunk
	keptLen int
	keptN   int
	pieces  [][]byte // scratch for records

	// spill, when set, takes a transaction's chunks to the log while the
	// transaction is open (stream.go). Only chunks that end at or before
	// floor are given to it: no rewindTo reaches them. spilledLen and
	// spilledN are the bytes (prefixes included) and entries it took, which
	// come before kept in the stream; spare is the buffer of a chunk it
	// took, for the next chunk.
	spill      spiller
	floor      int
	spilledLen int
	spilledN   int
	spare      []byte

	// shared says that values a table holds may alias bytes written since
	// startTx (aliasValue): those bytes are never written again, so
	// rewindTo and startTx move on to a new buffer instead of reusing buf.
	shared bool

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
		return w.tooLarge()
	}
	w.n++
	if w.flush == nil && !w.keep {
		return nil
	}
	if w.buf.Len() < w.chunkSize {
		if w.keep && !w.shared && w.buf.Len() >= w.chunkSize/8 && w.buf.Cap() < w.chunkCap() {
			w.reserveChunk()
		}
		return nil
	}
	return w.endChunk()
}

// tooLarge drops the entry begun last, which is larger than maxEntrySize,
// and says so. It and endChunk are end's rare cases, out of line so that
// end, which runs for every entry, stays small (in the browser, V8
// compiles a hot function again in a time that grows with its size).
//
//go:noinline
func (w *entryWriter) tooLarge() error {
	n := w.buf.Len() - w.start
	w.rewind(w.start)
	return fmt.Errorf("%w: one entry of %d bytes", ErrTooLarge, n)
}

// endChunk ends the entry that filled the current chunk, and the chunk.
//
//go:noinline
func (w *entryWriter) endChunk() error {
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

// chunkCap is the capacity of a buffer that holds a whole chunk.
func (w *entryWriter) chunkCap() int { return len(commitPrefix) + w.chunkSize + txChunkSlack }

// reserveChunk gives a transaction's buffer a whole chunk's capacity, which
// end does once it holds an eighth of one, so that the first chunk of a
// large transaction does not grow by doubling: that would leave garbage of
// about its size, and a buffer of twice a chunk for the later chunks to
// reuse. A buffer that strings may alias (shared) is never moved.
//
//go:noinline
func (w *entryWriter) reserveChunk() {
	b := make([]byte, w.buf.Len(), w.chunkCap())
	copy(b, w.buf.Bytes())
	w.buf = *bytes.NewBuffer(b)
}

func (w *entryWriter) takeChunk() error {
	if w.n == 0 {
		return nil
	}
	if w.keep {
		w.kept = append(w.kept, txChunk{b: w.buf.Bytes(), n: w.n})
		w.keptLen += w.buf.Len()
		w.keptN += w.n
		w.n = 0
		w.spillReady() // first, so that the next chunk may reuse this one's buffer
		next := w.spare
		if next == nil {
			next = make([]byte, 0, w.chunkCap())
		}
		w.buf, w.spare = *bytes.NewBuffer(next[:0]), nil
		w.buf.Write(commitPrefix[:])
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

// commitPrefix is the room each chunk of a transaction's pairs keeps
// before them, so that a record is framed in place in front of any chunk:
// a synced record when one is due (record.go), then the record header,
// array header and kind.
var commitPrefix [syncedRecordMax + recordHeaderSize + 6]byte

const (
	// txChunkSize is the bytes of pairs after which a transaction's writer
	// starts a new chunk (or CommitPartSize, when smaller): a large
	// transaction grows by chunks, never by copying what it wrote.
	txChunkSize = 256 << 10
	// txChunkSlack is room past txChunkSize in a new chunk, so that the
	// entry that crosses it does not make the chunk grow.
	txChunkSlack = 4 << 10
)

// txChunk is a chunk of a transaction's pairs, after commitPrefix in b; n
// is the pairs it holds.
type txChunk struct {
	b []byte
	n int
}

// startTx empties w for a new transaction whose records hold at most
// partSize bytes of pairs when it is written as several.
func (w *entryWriter) startTx(partSize int) {
	w.keep = true
	w.chunkSize = min(txChunkSize, partSize)
	w.dropKept()
	w.floor = math.MaxInt
	if w.shared {
		w.buf, w.shared = bytes.Buffer{}, false
	}
	w.buf.Reset()
	w.buf.Write(commitPrefix[:])
	w.n = 0
}

// aliasable reports whether the current chunk is one of its own, past the
// first of a transaction: a table may then hold string and RawValue values
// in the bytes it wrote there (aliasValue) rather than copies, so that a
// large transaction's chunks are the memory of what it wrote, not extra.
// The first chunk is never aliased, so that a small transaction's buffer
// is reused and no value keeps a mostly empty buffer alive.
func (w *entryWriter) aliasable() bool { return w.keep && len(w.kept) > 0 && w.spill == nil }

// aliasValue returns x as the same bytes in w.buf[start:end], which the
// caller has just written for it, and true, when x is a string (a msgpack
// string ends with its bytes) or a RawValue (it is those bytes, nil
// written as msgpack nil); for other types it returns x and false. The
// bytes it aliases are never written again (shared).
func aliasValue[T any](w *entryWriter, x T, start, end int) (T, bool) {
	switch p := any(&x).(type) {
	case *string:
		if len(*p) > 0 {
			b := w.buf.Bytes()[end-len(*p) : end]
			*p = unsafe.String(&b[0], len(b))
			w.shared = true
		}
		return x, true
	case *RawValue:
		*p = RawValue(w.buf.Bytes()[start:end:end])
		w.shared = true
		return x, true
	}
	return x, false
}

// dropKept forgets the kept chunks (and the pieces that alias them), the
// spilled ones and the spill, so that their memory can be freed; their
// slices are kept for reuse.
func (w *entryWriter) dropKept() {
	clear(w.kept[:cap(w.kept)])
	clear(w.pieces[:cap(w.pieces)])
	w.kept, w.keptLen, w.keptN = w.kept[:0], 0, 0
	w.spill, w.spilledLen, w.spilledN, w.spare = nil, 0, 0, nil
}

// spillReady gives spill the kept chunks that end at or before floor, in
// order, and forgets them if it takes them.
func (w *entryWriter) spillReady() {
	if w.spill == nil || len(w.kept) == 0 {
		return
	}
	k, end := 0, w.spilledLen
	for k < len(w.kept) && end+len(w.kept[k].b) <= w.floor {
		end += len(w.kept[k].b)
		k++
	}
	if k == 0 || !w.spill.spillChunks(w.kept[:k]) {
		return
	}
	for _, c := range w.kept[:k] {
		w.spilledLen += len(c.b)
		w.spilledN += c.n
		w.keptLen -= len(c.b)
		w.keptN -= c.n
	}
	w.spare = w.kept[k-1].b[:0]
	n := copy(w.kept, w.kept[k:])
	clear(w.kept[n:])
	w.kept = w.kept[:n]
}

// pos returns where the stream of a transaction's writer ends, for rewindTo.
func (w *entryWriter) pos() int { return w.spilledLen + w.keptLen + w.buf.Len() }

// count returns the entries a transaction's writer holds or has spilled.
func (w *entryWriter) count() int { return w.spilledN + w.keptN + w.n }

// rewindTo cuts a transaction's writer back to pos, which held n entries.
// pos is never below floor, so never in what was spilled.
func (w *entryWriter) rewindTo(pos, n int) {
	pos -= w.spilledLen
	n -= w.spilledN
	for pos < w.keptLen {
		c := w.kept[len(w.kept)-1]
		w.kept = w.kept[:len(w.kept)-1]
		w.keptLen -= len(c.b)
		w.keptN -= c.n
		w.buf = *bytes.NewBuffer(c.b)
	}
	w.buf.Truncate(pos - w.keptLen)
	if w.shared { // what follows pos may be aliased: write elsewhere
		w.buf = *bytes.NewBuffer(append(make([]byte, 0, w.buf.Cap()), w.buf.Bytes()...))
	}
	w.n = n - w.keptN
}

// records frames the pairs a transaction's writer holds as records
// (commitRecords): after spilled parts, they end the transaction with a
// commit record, empty if every pair was spilled. The pieces it returns
// alias w, and are valid until w is written again.
func (w *entryWriter) records(maxRecord, partSize int, mark int64) ([][]byte, int, error) {
	chunks := w.kept
	if w.n > 0 || len(chunks) == 0 {
		chunks = append(chunks, txChunk{b: w.buf.Bytes(), n: w.n})
	}
	pieces, records, err := commitRecords(w.pieces[:0], chunks, maxRecord, partSize, mark)
	w.pieces = pieces[:0]
	w.kept = chunks[:len(w.kept)]
	return pieces, records, err
}

// commitRecords frames a transaction's pairs, held in chunks after
// commitPrefix, as records: one commit record if they fit in one of
// maxRecord bytes, and otherwise commit-part records of whole chunks, at
// most partSize bytes of pairs each (or one chunk), ending with a commit
// record (see record.go), appended to out. Every chunk is at most partSize bytes of pairs
// or one pair (startTx). Headers are written into the chunks' prefixes,
// so the pairs are never copied. When mark is not negative, a synced
// record [6, mark] comes first. It returns the bytes of the records, in
// pieces to append one after the other, and how many records there are
// (synced records, bookkeeping, are not counted).
func commitRecords(out [][]byte, chunks []txChunk, maxRecord, partSize int, mark int64) ([][]byte, int, error) {
	p := len(commitPrefix)
	total := 0
	for _, c := range chunks {
		total += len(c.b) - p
	}
	records := 0
	for i := 0; i < len(chunks); {
		j, size, n := i+1, len(chunks[i].b)-p, chunks[i].n
		for j < len(chunks) && (total+16 <= maxRecord || size+len(chunks[j].b)-p <= partSize) {
			size += len(chunks[j].b) - p
			n += chunks[j].n
			j++
		}
		kind := recordCommitPart
		if j == len(chunks) {
			kind = recordCommit
		}
		if i > 0 {
			mark = -1
		}
		var err error
		if out, err = frameChunks(out, chunks[i:j], kind, size, n, mark); err != nil {
			return nil, 0, err
		}
		records++
		i = j
	}
	return out, records, nil
}

// frameChunks frames the pairs of chunks, size bytes and n pairs after
// commitPrefix in each, as one record of the given kind, in place: its
// header goes into the first chunk's prefix, after a synced record [6,
// mark] when mark is not negative. It appends the record's bytes to out, in
// pieces to append one after the other.
func frameChunks(out [][]byte, chunks []txChunk, kind, size, n int, mark int64) ([][]byte, error) {
	p := len(commitPrefix)
	hdr := appendUint(appendArrayLen(make([]byte, 0, 6), 1+2*n), uint64(kind))
	if len(hdr)+size > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(hdr)+size)
	}
	first := chunks[0].b
	start := p - len(hdr) - recordHeaderSize
	copy(first[start+recordHeaderSize:], hdr)
	crc := crc32.Update(0, castagnoli, first[start+recordHeaderSize:])
	for _, c := range chunks[1:] {
		crc = crc32.Update(crc, castagnoli, c.b[p:])
	}
	binary.LittleEndian.PutUint32(first[start:], uint32(len(hdr)+size))
	binary.LittleEndian.PutUint32(first[start+4:], crc)
	if mark >= 0 {
		start -= syncedRecordLen(mark)
		appendSynced(first[start:start], mark) // in place, in the room before the record
	}
	out = append(out, first[start:])
	for _, c := range chunks[1:] {
		out = append(out, c.b[p:])
	}
	return out, nil
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
