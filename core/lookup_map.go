package core

import (
	"iter"
	"reflect"
)

// LookupMap maps keys of type K1 to inner maps from K2 to V.
//
// Entries: [1 insert, k1, k2, v] | [2 remove, k1, k2] | [3 clear key, k1] |
// [4 clear]. Compacted form: one insert per inner entry. A key exists while
// its inner map is not empty. Get, Insert and Remove are O(1); GetInner
// copies the inner map.
type LookupMap[K1, K2 comparable, V any] struct {
	h handle
	s *lookupMapState[K1, K2, V]
}

const (
	lmInsert   = 1
	lmRemove   = 2
	lmClearKey = 3
	lmClear    = 4
)

var lookupMapArity = [...]int{-1, 3, 2, 1, 0}

type lookupMapState[K1, K2 comparable, V any] struct {
	c    codec[V]
	m    map[K1]map[K2]slot[V]
	live int64 // sum of the slots' sizes
}

// Get returns the value at (k1, k2) and true, or the zero value and false.
func (t *LookupMap[K1, K2, V]) Get(k1 K1, k2 K2) (V, bool) {
	var zero V
	if t.s == nil {
		return zero, false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	s, ok := t.s.m[k1][k2]
	if !ok {
		return zero, false
	}
	return t.s.c.load(s), true
}

// GetInner returns a copy of the inner map of k1 (nil when k1 is absent).
func (t *LookupMap[K1, K2, V]) GetInner(k1 K1) map[K2]V {
	if t.s == nil {
		return nil
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	inner := t.s.m[k1]
	if inner == nil {
		return nil
	}
	out := make(map[K2]V, len(inner))
	for k, s := range inner {
		out[k] = t.s.c.load(s)
	}
	return out
}

// Len returns the number of outer keys.
func (t *LookupMap[K1, K2, V]) Len() int { return lenOf(&t.h, t.items) }

// Keys yields every outer key in no particular order, from a copy.
func (t *LookupMap[K1, K2, V]) Keys() iter.Seq[K1] { return keysOf(&t.h, t.items) }

// items returns the table's map; the caller holds a lock.
func (t *LookupMap[K1, K2, V]) items() map[K1]map[K2]slot[V] {
	if t.s == nil {
		return nil
	}
	return t.s.m
}

// Insert sets the value at (k1, k2), replacing any previous one.
func (t *LookupMap[K1, K2, V]) Insert(k1 K1, k2 K2, v V) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		mark := tx.w.begin(t.h.id, lmInsert, 3)
		if err := writeArg(tx.w, mark, k1); err != nil {
			return err
		}
		if err := writeArg(tx.w, mark, k2); err != nil {
			return err
		}
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		old, had := s.m[k1][k2]
		oldLive := s.live
		s.insert(k1, k2, sl)
		tx.onUndo(func() {
			if had {
				s.m[k1][k2] = old
			} else {
				s.remove(k1, k2)
			}
			s.live = oldLive
		})
		return tx.w.end()
	})
}

// Remove deletes the value at (k1, k2), or returns ErrNotFound.
func (t *LookupMap[K1, K2, V]) Remove(k1 K1, k2 K2) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		old, ok := s.m[k1][k2]
		if !ok {
			return notFound(k2)
		}
		mark := tx.w.begin(t.h.id, lmRemove, 2)
		if err := writeArg(tx.w, mark, k1); err != nil {
			return err
		}
		if err := writeArg(tx.w, mark, k2); err != nil {
			return err
		}
		s.remove(k1, k2)
		tx.onUndo(func() { s.insert(k1, k2, old) })
		return tx.w.end()
	})
}

// ClearKey removes the inner map of k1, or returns ErrNotFound.
func (t *LookupMap[K1, K2, V]) ClearKey(k1 K1) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		old, ok := s.m[k1]
		if !ok {
			return notFound(k1)
		}
		mark := tx.w.begin(t.h.id, lmClearKey, 1)
		if err := writeArg(tx.w, mark, k1); err != nil {
			return err
		}
		delete(s.m, k1)
		oldLive := s.live
		s.live -= innerSize(old)
		tx.onUndo(func() { s.m[k1], s.live = old, oldLive })
		return tx.w.end()
	})
}

// Clear removes every key.
func (t *LookupMap[K1, K2, V]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, lmClear, 0)
		old, oldLive := s.m, s.live
		s.m, s.live = map[K1]map[K2]slot[V]{}, 0
		tx.onUndo(func() { s.m, s.live = old, oldLive })
		return tx.w.end()
	})
}

func (s *lookupMapState[K1, K2, V]) insert(k1 K1, k2 K2, v slot[V]) {
	inner := s.m[k1]
	if inner == nil {
		inner = map[K2]slot[V]{}
		s.m[k1] = inner
	}
	s.live += int64(v.size) - int64(inner[k2].size)
	inner[k2] = v
}

func (s *lookupMapState[K1, K2, V]) remove(k1 K1, k2 K2) {
	inner := s.m[k1]
	s.live -= int64(inner[k2].size)
	delete(inner, k2)
	if len(inner) == 0 {
		delete(s.m, k1)
	}
}

func (t *LookupMap[K1, K2, V]) newState() (tableState, error) {
	if err := checkKey(reflect.TypeFor[K1]()); err != nil {
		return nil, err
	}
	if err := checkKey(reflect.TypeFor[K2]()); err != nil {
		return nil, err
	}
	if err := checkValue(reflect.TypeFor[V]()); err != nil {
		return nil, err
	}
	return &lookupMapState[K1, K2, V]{c: newCodec[V](), m: map[K1]map[K2]slot[V]{}}, nil
}

func (t *LookupMap[K1, K2, V]) bind(h handle, s tableState) {
	t.h, t.s = h, s.(*lookupMapState[K1, K2, V])
}

func innerSize[K comparable, V any](inner map[K]slot[V]) (n int64) {
	for _, s := range inner {
		n += int64(s.size)
	}
	return n
}

func (s *lookupMapState[K1, K2, V]) kind() string { return KindLookupMap }

func (s *lookupMapState[K1, K2, V]) liveBytes() int64 { return s.live }

func (s *lookupMapState[K1, K2, V]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	if err := checkArity(KindLookupMap, op, n, lookupMapArity[:]); err != nil {
		return err
	}
	if op == lmClear {
		s.m, s.live = map[K1]map[K2]slot[V]{}, 0
		return nil
	}
	var k1 K1
	if err := decodeInto(d, &k1); err != nil {
		return err
	}
	if op == lmClearKey {
		inner, ok := s.m[k1]
		if !ok {
			return notFound(k1)
		}
		s.live -= innerSize(inner)
		delete(s.m, k1)
		return nil
	}
	var k2 K2
	if err := decodeInto(d, &k2); err != nil {
		return err
	}
	if op == lmRemove {
		if _, ok := s.m[k1][k2]; !ok {
			return notFound(k2)
		}
		s.remove(k1, k2)
		return nil
	}
	v, err := s.c.decodeValue(d, size)
	if err != nil {
		return err
	}
	s.insert(k1, k2, v)
	return nil
}

func (s *lookupMapState[K1, K2, V]) compact(w *entryWriter, id uint32) error {
	for k1, inner := range s.m {
		for k2, v := range inner {
			mark := w.begin(id, lmInsert, 3)
			if err := writeArg(w, mark, k1); err != nil {
				return err
			}
			if err := writeArg(w, mark, k2); err != nil {
				return err
			}
			if err := s.c.writeSlot(w, v); err != nil {
				return err
			}
			if err := w.end(); err != nil {
				return err
			}
		}
	}
	return nil
}
