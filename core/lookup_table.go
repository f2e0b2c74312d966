package core

import (
	"bytes"
	"fmt"
	"iter"
	"reflect"
)

// LookupTable maps keys of type K to values of type V.
//
// Entries: [1 insert, k, v] | [2 remove, k] | [3 clear]. Compacted form: one
// insert per key. Get, Has, Insert and Remove are O(1); All and Keys copy the
// table (O(n)) unless they run inside View.
type LookupTable[K comparable, V any] struct {
	h handle
	s *lookupTableState[K, V]
}

const (
	lookupInsert = 1
	lookupRemove = 2
	lookupClear  = 3
)

var lookupTableArity = [...]int{-1, 2, 1, 0}

// lookupTableState holds the table in one map: vals when the codec holds
// values (plain values as themselves, []byte and RawValue as copies of
// their own), encs otherwise (each value's msgpack, decoded on read). No
// per-entry bookkeeping: live is a running sum, and the size of an entry
// that goes away is measured again from its key and value.
type lookupTableState[K comparable, V any] struct {
	c    codec[V]
	vals map[K]V
	encs map[K][]byte
	live int64 // bytes of the table's entries in a compacted log

	// liveStale says live is wrong: replay replaced a value without
	// measuring the one it replaced (so that a new key costs one hash
	// operation); settleLive measures the table again when replay ends.
	liveStale bool

	// idLen is the bytes of the table's ID in each entry, learned from the
	// first entry written or replayed (0 until then, when live is 0).
	idLen   int
	scratch bytes.Buffer // for measuring; used under the write lock
}

func newLookupTableState[K comparable, V any](n int) *lookupTableState[K, V] {
	s := &lookupTableState[K, V]{c: newCodec[V]()}
	s.reset(n)
	return s
}

// reset empties the table, sized for n keys.
func (s *lookupTableState[K, V]) reset(n int) {
	if s.c.holds() {
		s.vals = make(map[K]V, n)
	} else {
		s.encs = make(map[K][]byte, n)
	}
	s.live, s.liveStale = 0, false
}

func (s *lookupTableState[K, V]) len() int { return len(s.vals) + len(s.encs) }

// get returns the value at k as the table holds it (not a copy).
func (s *lookupTableState[K, V]) get(k K) (v V, enc []byte, ok bool) {
	if s.vals != nil {
		v, ok = s.vals[k]
		return v, nil, ok
	}
	enc, ok = s.encs[k]
	return v, enc, ok
}

// out returns a copy of a held value that the caller may keep and change.
func (s *lookupTableState[K, V]) out(v V, enc []byte) V {
	if enc != nil {
		return s.c.decode(enc)
	}
	return s.c.own(v)
}

func (s *lookupTableState[K, V]) set(k K, v V, enc []byte) {
	if s.vals != nil {
		s.vals[k] = v
	} else {
		s.encs[k] = enc
	}
}

func (s *lookupTableState[K, V]) del(k K) {
	delete(s.vals, k)
	delete(s.encs, k)
}

// entrySize is the bytes of the insert entry of k and a held value:
// [tableID, [1, k, v]] with a fixarray header and a fixint op.
func (s *lookupTableState[K, V]) entrySize(k K, v V, enc []byte) int64 {
	n := s.idLen + 2 + encodedSize(k, &s.scratch)
	if enc != nil {
		return int64(n + len(enc))
	}
	return int64(n + s.c.size(v, &s.scratch))
}

// Get returns the value for k and true, or the zero value and false.
func (t *LookupTable[K, V]) Get(k K) (V, bool) {
	var zero V
	if t.s == nil {
		return zero, false
	}
	locked := t.h.rlock()
	v, enc, ok := t.s.get(k)
	t.h.runlock(locked)
	if !ok {
		return zero, false
	}
	// Held values are never changed in place, so copying after the unlock
	// is safe.
	return t.s.out(v, enc), true
}

// appendRaw appends the value at k, as a RawValue holds it, to dst without
// copying it first: for AppendDo. It reports whether k is present.
func (t *LookupTable[K, V]) appendRaw(dst []byte, k K) ([]byte, bool) {
	if t.s == nil {
		return dst, false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	v, _, ok := t.s.get(k)
	if !ok {
		return dst, false
	}
	return append(dst, *any(&v).(*RawValue)...), true
}

// Has reports whether k is present.
func (t *LookupTable[K, V]) Has(k K) bool {
	if t.s == nil {
		return false
	}
	locked := t.h.rlock()
	_, _, ok := t.s.get(k)
	t.h.runlock(locked)
	return ok
}

// Len returns the number of keys.
func (t *LookupTable[K, V]) Len() int {
	if t.s == nil {
		return 0
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	return t.s.len()
}

// All yields every key and value in no particular order, from a copy taken
// when iteration starts (inside View, from the table itself).
func (t *LookupTable[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		s := t.s
		if s == nil {
			return
		}
		if t.h.iterDirect() {
			for k, v := range s.vals {
				if !yield(k, s.c.own(v)) {
					return
				}
			}
			for k, enc := range s.encs {
				if !yield(k, s.c.decode(enc)) {
					return
				}
			}
			return
		}
		locked := t.h.rlock()
		keys := make([]K, 0, s.len())
		vals := make([]V, 0, len(s.vals))
		encs := make([][]byte, 0, len(s.encs))
		for k, v := range s.vals {
			keys, vals = append(keys, k), append(vals, v)
		}
		for k, enc := range s.encs {
			keys, encs = append(keys, k), append(encs, enc)
		}
		t.h.runlock(locked)
		for i, k := range keys {
			var v V
			if i < len(vals) {
				v = s.c.own(vals[i])
			} else {
				v = s.c.decode(encs[i-len(vals)])
			}
			if !yield(k, v) {
				return
			}
		}
	}
}

// Keys yields every key in no particular order, like All.
func (t *LookupTable[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		s := t.s
		if s == nil {
			return
		}
		locked := t.h.rlock()
		keys := make([]K, 0, s.len())
		for k := range s.vals {
			keys = append(keys, k)
		}
		for k := range s.encs {
			keys = append(keys, k)
		}
		t.h.runlock(locked)
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}

// Insert sets the value for k, replacing any previous one.
func (t *LookupTable[K, V]) Insert(k K, v V) error {
	return t.h.write(func(tx *txn) error { return t.insert(tx, k, v) })
}

// InsertMany sets the value of every key that entries yields, in order, as
// one write: all of them or, on the first error, none.
func (t *LookupTable[K, V]) InsertMany(entries iter.Seq2[K, V]) error {
	return t.h.write(func(tx *txn) error {
		for k, v := range entries {
			if err := t.insert(tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *LookupTable[K, V]) insert(tx *txn, k K, v V) error {
	s := t.s
	mark := tx.w.begin(t.h.id, lookupInsert, 2)
	if err := writeArg(tx.w, mark, k); err != nil {
		return err
	}
	s.idLen = idLen(t.h.id)
	start := tx.w.buf.Len()
	enc, err := s.c.write(tx.w, mark, v)
	if err != nil {
		return err
	}
	aliased := false
	if tx.w.aliasable() {
		// Values only: a key is read on every lookup, and keys spread
		// through the chunks between their values made Get 30% slower
		// (P4) than keys the caller allocated, which lie close together.
		v, aliased = aliasValue(tx.w, v, start, tx.w.buf.Len())
	}
	if enc == nil && !aliased {
		v = s.c.own(v)
	}
	delta := int64(tx.w.buf.Len() - mark)
	oldV, oldEnc, had := s.get(k)
	s.set(k, v, enc)
	if had {
		delta -= s.entrySize(k, oldV, oldEnc)
	}
	s.live += delta
	if !had && delta == s.entrySize(k, v, enc) {
		s.logAdded(tx, k)
	} else {
		s.logChange(tx, k, had, oldV, oldEnc, delta)
	}
	return tx.w.end()
}

// lookupUndo is a lookup table's undo log in one transaction: one change
// per insert or remove, and the values they replaced or removed. An insert
// that adds a key, and adds to live the entrySize of what it set (the
// commonest change of a load), is logged as its key alone, in added: it
// costs 8 bytes for a string key (keyStack) instead of a change's 32. Newest first,
// the log is the added keys past the newest change's added count, then
// that change, and so on.
type lookupUndo[K comparable, V any] struct {
	s       *lookupTableState[K, V]
	changes stack[lookupChange[K]]
	olds    stack[lookupOld[V]]
	added   keyStack[K]
}

// lookupChange is one insert or remove of k. An entry is at most
// maxEntrySize bytes, so delta fits in an int32.
type lookupChange[K comparable] struct {
	k     K
	old   int32 // index in olds of the value k had, or -1 if it had none
	delta int32 // what the change added to live
	added int   // the added keys logged before it
}

// lookupOld is a value as the table held it (see lookupTableState.get).
type lookupOld[V any] struct {
	v   V
	enc []byte
}

// logChange records, for tx's undo, that k was changed: it had the value
// oldV/oldEnc if had, and live grew by delta.
func (s *lookupTableState[K, V]) logChange(tx *txn, k K, had bool, oldV V, oldEnc []byte, delta int64) {
	l := s.undoLog(tx)
	c := lookupChange[K]{k: k, old: -1, delta: int32(delta), added: l.added.len()}
	if had {
		c.old = int32(l.olds.len())
		l.olds.push(lookupOld[V]{oldV, oldEnc})
	}
	l.changes.push(c)
}

// logAdded records, for tx's undo, that k was added, with a value whose
// entrySize is what live grew by.
func (s *lookupTableState[K, V]) logAdded(tx *txn, k K) { s.undoLog(tx).added.push(k) }

// undoLog returns s's undo log in tx, counting one more change in it.
func (s *lookupTableState[K, V]) undoLog(tx *txn) *lookupUndo[K, V] {
	return logChange(tx, func(u undoer) (*lookupUndo[K, V], bool) {
		l, ok := u.(*lookupUndo[K, V])
		return l, ok && l.s == s
	}, func() *lookupUndo[K, V] { return &lookupUndo[K, V]{s: s} })
}

func (l *lookupUndo[K, V]) undo(n int) {
	s := l.s
	for range n {
		before := 0
		if c, ok := l.changes.last(); ok {
			before = c.added
		}
		if l.added.len() > before {
			k := l.added.pop()
			v, enc, _ := s.get(k)
			s.live -= s.entrySize(k, v, enc)
			s.del(k)
			continue
		}
		c := l.changes.pop()
		if c.old < 0 {
			s.del(c.k)
		} else {
			o := l.olds.pop()
			s.set(c.k, o.v, o.enc)
		}
		s.live -= int64(c.delta)
	}
}

// Remove deletes k, or returns ErrNotFound.
func (t *LookupTable[K, V]) Remove(k K) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		oldV, oldEnc, had := s.get(k)
		if !had {
			return notFound(k)
		}
		mark := tx.w.begin(t.h.id, lookupRemove, 1)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		size := s.entrySize(k, oldV, oldEnc)
		s.del(k)
		s.live -= size
		s.logChange(tx, k, true, oldV, oldEnc, -size)
		return tx.w.end()
	})
}

// Clear removes every key.
func (t *LookupTable[K, V]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, lookupClear, 0)
		vals, encs, live := s.vals, s.encs, s.live
		s.reset(0)
		tx.onUndo(func() { s.vals, s.encs, s.live = vals, encs, live })
		return tx.w.end()
	})
}

func notFound(k any) error { return fmt.Errorf("%w: %v", ErrNotFound, k) }

// idLen is the bytes of a table ID in an entry.
func idLen(id uint32) int { return len(appendUint(make([]byte, 0, 5), uint64(id))) }

func (t *LookupTable[K, V]) newState() (tableState, error) {
	if err := checkKey(reflect.TypeFor[K]()); err != nil {
		return nil, err
	}
	if err := checkValue(reflect.TypeFor[V]()); err != nil {
		return nil, err
	}
	return newLookupTableState[K, V](0), nil
}

func (t *LookupTable[K, V]) bind(h handle, s tableState) {
	t.h, t.s = h, s.(*lookupTableState[K, V])
}

func (s *lookupTableState[K, V]) kind() string { return KindLookupTable }

func (s *lookupTableState[K, V]) sizeHint(n int) {
	if s.len() == 0 {
		s.reset(n)
	}
}

func (s *lookupTableState[K, V]) liveBytes() int64 { return s.live }

// settleLive makes live right after replay (see liveStale).
func (s *lookupTableState[K, V]) settleLive() {
	if s.liveStale {
		s.live = 0
		for k, v := range s.vals {
			s.live += s.entrySize(k, v, nil)
		}
		for k, enc := range s.encs {
			s.live += s.entrySize(k, *new(V), enc)
		}
		s.liveStale = false
	}
}

func (s *lookupTableState[K, V]) replay(d *entryReader, size int) error {
	return s.replayPrefix(d, size-len(d.b))
}

// replayPrefix reads exactly one entry: its array header says how many
// values follow, and each is read whole (decodeInto, codec.read).
func (s *lookupTableState[K, V]) replayPrefix(d *entryReader, idLen int) error {
	start := d.pos
	op := uint8(lookupInsert)
	if d.left() >= 2 && d.b[d.pos] == 0x93 && d.b[d.pos+1] == lookupInsert {
		d.pos += 2 // [1, k, v], the entry a table is mostly made of
	} else {
		var n int
		var err error
		if op, n, err = readEntryHeader(d); err != nil {
			return err
		}
		if err := checkArity(KindLookupTable, op, n, lookupTableArity[:]); err != nil {
			return err
		}
	}
	if op == lookupClear {
		s.reset(0)
		return nil
	}
	var k K
	if err := decodeInto(d, &k); err != nil {
		return err
	}
	if op == lookupRemove {
		oldV, oldEnc, ok := s.get(k)
		if !ok {
			return notFound(k)
		}
		s.live -= s.entrySize(k, oldV, oldEnc)
		s.del(k)
		return nil
	}
	s.idLen = idLen
	v, enc, err := s.c.read(d)
	if err != nil {
		return err
	}
	// One hash operation for a new key: a replaced value is not measured
	// here, and leaves live to be measured again (liveStale).
	before := s.len()
	s.set(k, v, enc)
	if s.len() == before {
		s.liveStale = true
	}
	s.live += int64(idLen + d.pos - start)
	return nil
}

func (s *lookupTableState[K, V]) compact(w *entryWriter, id uint32) error {
	for k, v := range s.vals {
		mark := w.begin(id, lookupInsert, 2)
		if err := writeArg(w, mark, k); err != nil {
			return err
		}
		if _, err := s.c.write(w, mark, v); err != nil {
			return err
		}
		if err := w.end(); err != nil {
			return err
		}
	}
	for k, enc := range s.encs {
		mark := w.begin(id, lookupInsert, 2)
		if err := writeArg(w, mark, k); err != nil {
			return err
		}
		w.buf.Write(enc)
		if err := w.end(); err != nil {
			return err
		}
	}
	return nil
}
