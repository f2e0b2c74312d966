package core

import (
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

type lookupTableState[K comparable, V any] struct {
	c    codec[V]
	m    map[K]slot[V]
	live int64 // sum of the slots' sizes
}

// Get returns the value for k and true, or the zero value and false.
func (t *LookupTable[K, V]) Get(k K) (V, bool) {
	var zero V
	if t.s == nil {
		return zero, false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	s, ok := t.s.m[k]
	if !ok {
		return zero, false
	}
	return t.s.c.load(s), true
}

// Has reports whether k is present.
func (t *LookupTable[K, V]) Has(k K) bool {
	if t.s == nil {
		return false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	_, ok := t.s.m[k]
	return ok
}

// Len returns the number of keys.
func (t *LookupTable[K, V]) Len() int { return lenOf(&t.h, t.items) }

// All yields every key and value in no particular order, from a copy taken
// when iteration starts (inside View, from the table itself).
func (t *LookupTable[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if t.s == nil {
			return
		}
		if t.h.iterDirect() {
			for k, s := range t.s.m {
				if !yield(k, t.s.c.load(s)) {
					return
				}
			}
			return
		}
		locked := t.h.rlock()
		keys := make([]K, 0, len(t.s.m))
		vals := make([]slot[V], 0, len(t.s.m))
		for k, s := range t.s.m {
			keys = append(keys, k)
			vals = append(vals, s)
		}
		t.h.runlock(locked)
		for i, k := range keys {
			if !yield(k, t.s.c.load(vals[i])) {
				return
			}
		}
	}
}

// Keys yields every key in no particular order, like All.
func (t *LookupTable[K, V]) Keys() iter.Seq[K] { return keysOf(&t.h, t.items) }

// items returns the table's map; the caller holds a lock.
func (t *LookupTable[K, V]) items() map[K]slot[V] {
	if t.s == nil {
		return nil
	}
	return t.s.m
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
	sl, err := s.c.encodeValue(tx.w, mark, v)
	if err != nil {
		tx.w.rewind(mark)
		return err
	}
	old, had := s.m[k]
	oldLive := s.live
	s.m[k] = sl
	s.live += int64(sl.size) - int64(old.size)
	tx.onUndo(func() {
		if had {
			s.m[k] = old
		} else {
			delete(s.m, k)
		}
		s.live = oldLive
	})
	return tx.w.end()
}

// Remove deletes k, or returns ErrNotFound.
func (t *LookupTable[K, V]) Remove(k K) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		old, had := s.m[k]
		if !had {
			return notFound(k)
		}
		mark := tx.w.begin(t.h.id, lookupRemove, 1)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		delete(s.m, k)
		s.live -= int64(old.size)
		tx.onUndo(func() { s.m[k] = old; s.live += int64(old.size) })
		return tx.w.end()
	})
}

// Clear removes every key.
func (t *LookupTable[K, V]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, lookupClear, 0)
		old, oldLive := s.m, s.live
		s.m, s.live = map[K]slot[V]{}, 0
		tx.onUndo(func() { s.m, s.live = old, oldLive })
		return tx.w.end()
	})
}

func notFound(k any) error { return fmt.Errorf("%w: %v", ErrNotFound, k) }

func (t *LookupTable[K, V]) newState() (tableState, error) {
	if err := checkKey(reflect.TypeFor[K]()); err != nil {
		return nil, err
	}
	if err := checkValue(reflect.TypeFor[V]()); err != nil {
		return nil, err
	}
	return &lookupTableState[K, V]{c: newCodec[V](), m: map[K]slot[V]{}}, nil
}

func (t *LookupTable[K, V]) bind(h handle, s tableState) {
	t.h, t.s = h, s.(*lookupTableState[K, V])
}

func (s *lookupTableState[K, V]) kind() string { return KindLookupTable }

func (s *lookupTableState[K, V]) sizeHint(n int) {
	if len(s.m) == 0 {
		s.m = make(map[K]slot[V], n)
	}
}

func (s *lookupTableState[K, V]) liveBytes() int64 { return s.live }

func (s *lookupTableState[K, V]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	if err := checkArity(KindLookupTable, op, n, lookupTableArity[:]); err != nil {
		return err
	}
	if op == lookupClear {
		s.m, s.live = map[K]slot[V]{}, 0
		return nil
	}
	var k K
	if err := decodeInto(d, &k); err != nil {
		return err
	}
	if op == lookupRemove {
		old, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		delete(s.m, k)
		s.live -= int64(old.size)
		return nil
	}
	v, err := s.c.decodeValue(d, size)
	if err != nil {
		return err
	}
	s.live += int64(v.size) - int64(s.m[k].size)
	s.m[k] = v
	return nil
}

func (s *lookupTableState[K, V]) compact(w *entryWriter, id uint32) error {
	for k, v := range s.m {
		mark := w.begin(id, lookupInsert, 2)
		if err := writeArg(w, mark, k); err != nil {
			return err
		}
		if err := s.c.writeSlot(w, v); err != nil {
			return err
		}
		if err := w.end(); err != nil {
			return err
		}
	}
	return nil
}
