package core

import (
	"iter"
	"reflect"
)

// LookupList maps keys of type K to lists of V. It logs a push or a removal
// as a small entry instead of rewriting the whole list.
//
// Entries: [1 push, k, v] | [2 remove, k, i] | [3 clear key, k] | [4 clear].
// Compacted form: one push per element. A key exists while its list is not
// empty: removing the last element removes the key. Get copies the list.
type LookupList[K comparable, V any] struct {
	h handle
	s *lookupListState[K, V]
}

const (
	llPush     = 1
	llRemove   = 2
	llClearKey = 3
	llClear    = 4
)

var lookupListArity = [...]int{-1, 2, 2, 1, 0}

type lookupListState[K comparable, V any] struct {
	c    codec[V]
	m    map[K][]slot[V]
	live int64 // sum of the slots' sizes
}

func sumSizes[T any](l []slot[T]) (n int64) {
	for _, s := range l {
		n += int64(s.size)
	}
	return n
}

// Get returns a copy of the list for k (nil when k is absent).
func (t *LookupList[K, V]) Get(k K) []V {
	if t.s == nil {
		return nil
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	items := t.s.m[k]
	if items == nil {
		return nil
	}
	out := make([]V, len(items))
	for i, s := range items {
		out[i] = t.s.c.load(s)
	}
	return out
}

// Has reports whether k has a list.
func (t *LookupList[K, V]) Has(k K) bool {
	if t.s == nil {
		return false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	_, ok := t.s.m[k]
	return ok
}

// Len returns the number of keys.
func (t *LookupList[K, V]) Len() int { return lenOf(&t.h, t.items) }

// Keys yields every key in no particular order, from a copy.
func (t *LookupList[K, V]) Keys() iter.Seq[K] { return keysOf(&t.h, t.items) }

// items returns the table's map; the caller holds a lock.
func (t *LookupList[K, V]) items() map[K][]slot[V] {
	if t.s == nil {
		return nil
	}
	return t.s.m
}

// Push appends v to the list of k, creating it if needed.
func (t *LookupList[K, V]) Push(k K, v V) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		mark := tx.w.begin(t.h.id, llPush, 2)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		s.m[k] = append(s.m[k], sl)
		s.live += int64(sl.size)
		tx.onUndo(func() {
			s.live -= int64(sl.size)
			l := s.m[k]
			if len(l) == 1 {
				delete(s.m, k)
			} else {
				s.m[k] = l[:len(l)-1]
			}
		})
		return tx.w.end()
	})
}

// RemoveAt deletes element i of the list of k. It returns ErrNotFound when
// k has no list and ErrIndex when i is out of range.
func (t *LookupList[K, V]) RemoveAt(k K, i int) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		l, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		if i < 0 || i >= len(l) {
			return indexError(i, len(l))
		}
		mark := tx.w.begin(t.h.id, llRemove, 2)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		tx.w.int(int64(i))
		old, oldLive := l, s.live
		s.removeAt(k, i)
		tx.onUndo(func() { s.m[k], s.live = old, oldLive })
		return tx.w.end()
	})
}

// removeAt deletes element i without touching the old backing array, so an
// undo can restore it.
func (s *lookupListState[K, V]) removeAt(k K, i int) {
	l := s.m[k]
	s.live -= int64(l[i].size)
	if len(l) == 1 {
		delete(s.m, k)
		return
	}
	n := make([]slot[V], 0, len(l)-1)
	n = append(n, l[:i]...)
	s.m[k] = append(n, l[i+1:]...)
}

// ClearKey removes the list of k, or returns ErrNotFound.
func (t *LookupList[K, V]) ClearKey(k K) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		old, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		mark := tx.w.begin(t.h.id, llClearKey, 1)
		if err := writeArg(tx.w, mark, k); err != nil {
			return err
		}
		delete(s.m, k)
		oldLive := s.live
		s.live -= sumSizes(old)
		tx.onUndo(func() { s.m[k], s.live = old, oldLive })
		return tx.w.end()
	})
}

// Clear removes every key.
func (t *LookupList[K, V]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, llClear, 0)
		old, oldLive := s.m, s.live
		s.m, s.live = map[K][]slot[V]{}, 0
		tx.onUndo(func() { s.m, s.live = old, oldLive })
		return tx.w.end()
	})
}

func (t *LookupList[K, V]) newState() (tableState, error) {
	if err := checkKey(reflect.TypeFor[K]()); err != nil {
		return nil, err
	}
	if err := checkValue(reflect.TypeFor[V]()); err != nil {
		return nil, err
	}
	return &lookupListState[K, V]{c: newCodec[V](), m: map[K][]slot[V]{}}, nil
}

func (t *LookupList[K, V]) bind(h handle, s tableState) {
	t.h, t.s = h, s.(*lookupListState[K, V])
}

func (s *lookupListState[K, V]) kind() string { return KindLookupList }

func (s *lookupListState[K, V]) liveBytes() int64 { return s.live }

func (s *lookupListState[K, V]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	if err := checkArity(KindLookupList, op, n, lookupListArity[:]); err != nil {
		return err
	}
	if op == llClear {
		s.m, s.live = map[K][]slot[V]{}, 0
		return nil
	}
	var k K
	if err := decodeInto(d, &k); err != nil {
		return err
	}
	switch op {
	case llPush:
		v, err := s.c.decodeValue(d, size)
		if err != nil {
			return err
		}
		s.m[k] = append(s.m[k], v)
		s.live += int64(v.size)
	case llRemove:
		l, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		i, err := decodeIndex(d, len(l), false)
		if err != nil {
			return err
		}
		s.removeAt(k, i)
	case llClearKey:
		l, ok := s.m[k]
		if !ok {
			return notFound(k)
		}
		s.live -= sumSizes(l)
		delete(s.m, k)
	}
	return nil
}

func (s *lookupListState[K, V]) compact(w *entryWriter, id uint32) error {
	for k, l := range s.m {
		for _, v := range l {
			mark := w.begin(id, llPush, 2)
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
	}
	return nil
}
