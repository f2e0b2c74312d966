package core

import (
	"iter"
	"reflect"
)

// LookupSet maps keys of type K to sets of V. Members must be valid keys
// themselves (comparable, no references).
//
// Entries: [1 insert, k, v] | [2 remove, k, v] | [3 clear key, k] |
// [4 clear]. Compacted form: one insert per member. A key exists while its
// set is not empty. Has, Insert and Remove are O(1); Get copies the set.
type LookupSet[K, V comparable] struct {
	h handle
	s *lookupSetState[K, V]
}

const (
	lsInsert   = 1
	lsRemove   = 2
	lsClearKey = 3
	lsClear    = 4
)

var lookupSetArity = [...]int{-1, 2, 2, 1, 0}

type lookupSetState[K, V comparable] struct {
	m    map[K]map[V]int32 // member → bytes of the entry that inserted it
	live int64             // sum of those sizes
}

// Get returns the members of the set of k in no particular order (nil when
// k is absent).
func (t *LookupSet[K, V]) Get(k K) []V {
	if t.s == nil {
		return nil
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	set := t.s.m[k]
	if set == nil {
		return nil
	}
	out := make([]V, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	return out
}

// Has reports whether v is in the set of k.
func (t *LookupSet[K, V]) Has(k K, v V) bool {
	if t.s == nil {
		return false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	_, ok := t.s.m[k][v]
	return ok
}

// Len returns the number of keys.
func (t *LookupSet[K, V]) Len() int { return lenOf(&t.h, t.items) }

// Keys yields every key in no particular order, from a copy.
func (t *LookupSet[K, V]) Keys() iter.Seq[K] { return keysOf(&t.h, t.items) }

// items returns the table's map; the caller holds a lock.
func (t *LookupSet[K, V]) items() map[K]map[V]int32 {
	if t.s == nil {
		return nil
	}
	return t.s.m
}

// Insert adds v to the set of k. Adding a present member changes nothing and
// writes nothing.
func (t *LookupSet[K, V]) Insert(k K, v V) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		if _, ok := s.m[k][v]; ok {
			return nil
		}
		mark := tx.w.begin(t.h.id, lsInsert, 2)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		if err := writeArg(tx.w, mark, v); err != nil {
			return err
		}
		s.insert(k, v, int32(tx.w.buf.Len()-mark))
		tx.onUndo(func() { s.remove(k, v) })
		return tx.w.end()
	})
}

// Remove deletes v from the set of k, or returns ErrNotFound.
func (t *LookupSet[K, V]) Remove(k K, v V) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		size, ok := s.m[k][v]
		if !ok {
			return notFound(v)
		}
		mark := tx.w.begin(t.h.id, lsRemove, 2)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		if err := writeArg(tx.w, mark, v); err != nil {
			return err
		}
		s.remove(k, v)
		tx.onUndo(func() { s.insert(k, v, size) })
		return tx.w.end()
	})
}

// ClearKey removes the set of k, or returns ErrNotFound.
func (t *LookupSet[K, V]) ClearKey(k K) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		old, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		mark := tx.w.begin(t.h.id, lsClearKey, 1)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		delete(s.m, k)
		oldLive := s.live
		s.live -= setSize(old)
		tx.onUndo(func() { s.m[k], s.live = old, oldLive })
		return tx.w.end()
	})
}

// Clear removes every key.
func (t *LookupSet[K, V]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, lsClear, 0)
		old, oldLive := s.m, s.live
		s.m, s.live = map[K]map[V]int32{}, 0
		tx.onUndo(func() { s.m, s.live = old, oldLive })
		return tx.w.end()
	})
}

func (s *lookupSetState[K, V]) insert(k K, v V, size int32) {
	set := s.m[k]
	if set == nil {
		set = map[V]int32{}
		s.m[k] = set
	}
	set[v] = size
	s.live += int64(size)
}

func (s *lookupSetState[K, V]) remove(k K, v V) {
	set := s.m[k]
	s.live -= int64(set[v])
	delete(set, v)
	if len(set) == 0 {
		delete(s.m, k)
	}
}

func (t *LookupSet[K, V]) newState() (tableState, error) {
	if err := checkKey(reflect.TypeFor[K]()); err != nil {
		return nil, err
	}
	if err := checkKey(reflect.TypeFor[V]()); err != nil {
		return nil, err
	}
	return &lookupSetState[K, V]{m: map[K]map[V]int32{}}, nil
}

func (t *LookupSet[K, V]) bind(h handle, s tableState) {
	t.h, t.s = h, s.(*lookupSetState[K, V])
}

func setSize[V comparable](set map[V]int32) (n int64) {
	for _, size := range set {
		n += int64(size)
	}
	return n
}

func (s *lookupSetState[K, V]) kind() string { return KindLookupSet }

func (s *lookupSetState[K, V]) liveBytes() int64 { return s.live }

func (s *lookupSetState[K, V]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	if err := checkArity(KindLookupSet, op, n, lookupSetArity[:]); err != nil {
		return err
	}
	if op == lsClear {
		s.m, s.live = map[K]map[V]int32{}, 0
		return nil
	}
	var k K
	if err := decodeInto(d, &k); err != nil {
		return err
	}
	if op == lsClearKey {
		set, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		s.live -= setSize(set)
		delete(s.m, k)
		return nil
	}
	var v V
	if err := decodeInto(d, &v); err != nil {
		return err
	}
	_, present := s.m[k][v]
	if op == lsInsert {
		if present {
			return errDuplicateMember
		}
		s.insert(k, v, int32(size))
		return nil
	}
	if !present {
		return notFound(v)
	}
	s.remove(k, v)
	return nil
}

func (s *lookupSetState[K, V]) compact(w *entryWriter, id uint32) error {
	for k, set := range s.m {
		for v := range set {
			mark := w.begin(id, lsInsert, 2)
			if err := writeArg(w, mark, k); err != nil {
				return err
			}
			if err := writeArg(w, mark, v); err != nil {
				return err
			}
			if err := w.end(); err != nil {
				return err
			}
		}
	}
	return nil
}
