package core

import (
	"fmt"
	"iter"
	"reflect"
	"slices"
)

// List is an ordered sequence of T.
//
// Entries: [1 push, v] | [2 pop] | [3 insert, i, v] | [4 set, i, v] |
// [5 remove, i] | [6 clear]. Compacted form: one push per element. Len, At,
// Push and Pop are O(1); InsertAt and RemoveAt are O(n); All copies the list
// (O(n)) unless it runs inside View.
type List[T any] struct {
	h handle
	s *listState[T]
}

const (
	listPush   = 1
	listPop    = 2
	listInsert = 3
	listSet    = 4
	listRemove = 5
	listClear  = 6
)

// listArity is the argument count of each op; -1 marks an unused code.
var listArity = [...]int{-1, 1, 0, 2, 2, 1, 0}

type listState[T any] struct {
	c     codec[T]
	items []slot[T]
	live  int64 // sum of the items' sizes
}

// Len returns the number of elements.
func (t *List[T]) Len() int {
	if t.s == nil {
		return 0
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	return len(t.s.items)
}

// At returns element i, or ErrIndex.
func (t *List[T]) At(i int) (T, error) {
	var zero T
	if t.s == nil {
		return zero, ErrIndex
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	if i < 0 || i >= len(t.s.items) {
		return zero, indexError(i, len(t.s.items))
	}
	return t.s.c.load(t.s.items[i]), nil
}

// All yields the index and value of every element in order, from a copy
// taken when iteration starts (inside View, from the list itself).
func (t *List[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		if t.s == nil {
			return
		}
		var items []slot[T]
		if t.h.iterDirect() {
			items = t.s.items
		} else {
			locked := t.h.rlock()
			items = slices.Clone(t.s.items)
			t.h.runlock(locked)
		}
		for i, s := range items {
			if !yield(i, t.s.c.load(s)) {
				return
			}
		}
	}
}

// Slice returns a copy of every element.
func (t *List[T]) Slice() []T {
	out := []T{}
	for _, v := range t.All() {
		out = append(out, v)
	}
	return out
}

// Push appends v.
func (t *List[T]) Push(v T) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		mark := tx.w.begin(t.h.id, listPush, 1)
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		s.items = append(s.items, sl)
		s.live += int64(sl.size)
		tx.onUndo(func() { s.items = s.items[:len(s.items)-1]; s.live -= int64(sl.size) })
		return tx.w.end()
	})
}

// Pop removes and returns the last element, or ErrEmpty.
func (t *List[T]) Pop() (T, error) {
	var out T
	err := t.h.write(func(tx *txn) error {
		s := t.s
		if len(s.items) == 0 {
			return ErrEmpty
		}
		tx.w.begin(t.h.id, listPop, 0)
		last := s.items[len(s.items)-1]
		s.items = s.items[:len(s.items)-1]
		s.live -= int64(last.size)
		tx.onUndo(func() { s.items = append(s.items, last); s.live += int64(last.size) })
		out = s.c.load(last)
		return tx.w.end()
	})
	return out, err
}

// InsertAt inserts v before element i; i == Len() appends. Otherwise
// ErrIndex.
func (t *List[T]) InsertAt(i int, v T) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		if i < 0 || i > len(s.items) {
			return indexError(i, len(s.items)+1)
		}
		mark := tx.w.begin(t.h.id, listInsert, 2)
		tx.w.int(int64(i))
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		s.items = slices.Insert(s.items, i, sl)
		s.live += int64(sl.size)
		tx.onUndo(func() { s.items = slices.Delete(s.items, i, i+1); s.live -= int64(sl.size) })
		return tx.w.end()
	})
}

// SetAt replaces element i, or returns ErrIndex.
func (t *List[T]) SetAt(i int, v T) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		if i < 0 || i >= len(s.items) {
			return indexError(i, len(s.items))
		}
		mark := tx.w.begin(t.h.id, listSet, 2)
		tx.w.int(int64(i))
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		old := s.items[i]
		s.items[i] = sl
		s.live += int64(sl.size) - int64(old.size)
		tx.onUndo(func() { s.items[i] = old; s.live -= int64(sl.size) - int64(old.size) })
		return tx.w.end()
	})
}

// RemoveAt deletes element i, or returns ErrIndex.
func (t *List[T]) RemoveAt(i int) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		if i < 0 || i >= len(s.items) {
			return indexError(i, len(s.items))
		}
		tx.w.begin(t.h.id, listRemove, 1)
		tx.w.int(int64(i))
		old := s.items[i]
		s.items = slices.Delete(s.items, i, i+1)
		s.live -= int64(old.size)
		tx.onUndo(func() { s.items = slices.Insert(s.items, i, old); s.live += int64(old.size) })
		return tx.w.end()
	})
}

// Clear removes every element.
func (t *List[T]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, listClear, 0)
		old, oldLive := s.items, s.live
		s.items, s.live = nil, 0
		tx.onUndo(func() { s.items, s.live = old, oldLive })
		return tx.w.end()
	})
}

func indexError(i, n int) error {
	return fmt.Errorf("%w: index %d, length %d", ErrIndex, i, n)
}

func (t *List[T]) newState() (tableState, error) {
	if err := checkValue(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	return &listState[T]{c: newCodec[T]()}, nil
}

func (t *List[T]) bind(h handle, s tableState) { t.h, t.s = h, s.(*listState[T]) }

func (s *listState[T]) kind() string { return KindList }

func (s *listState[T]) sizeHint(n int) {
	if len(s.items) == 0 {
		s.items = make([]slot[T], 0, n)
	}
}

func (s *listState[T]) liveBytes() int64 { return s.live }

func decodeIndex(d *entryReader, n int, allowEnd bool) (int, error) {
	i, err := d.DecodeInt()
	if err != nil {
		return 0, err
	}
	if i < 0 || i > n || (i == n && !allowEnd) {
		return 0, indexError(i, n)
	}
	return i, nil
}

func (s *listState[T]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	if err := checkArity(KindList, op, n, listArity[:]); err != nil {
		return err
	}
	switch op {
	case listPush:
		v, err := s.c.decodeValue(d, size)
		if err != nil {
			return err
		}
		s.items = append(s.items, v)
		s.live += int64(v.size)
	case listPop:
		if len(s.items) == 0 {
			return ErrEmpty
		}
		s.live -= int64(s.items[len(s.items)-1].size)
		s.items = s.items[:len(s.items)-1]
	case listInsert, listSet:
		i, err := decodeIndex(d, len(s.items), op == listInsert)
		if err != nil {
			return err
		}
		v, err := s.c.decodeValue(d, size)
		if err != nil {
			return err
		}
		s.live += int64(v.size)
		if op == listInsert {
			s.items = slices.Insert(s.items, i, v)
		} else {
			s.live -= int64(s.items[i].size)
			s.items[i] = v
		}
	case listRemove:
		i, err := decodeIndex(d, len(s.items), false)
		if err != nil {
			return err
		}
		s.live -= int64(s.items[i].size)
		s.items = slices.Delete(s.items, i, i+1)
	case listClear:
		s.items, s.live = nil, 0
	}
	return nil
}

func (s *listState[T]) compact(w *entryWriter, id uint32) error {
	for _, it := range s.items {
		w.begin(id, listPush, 1)
		if err := s.c.writeSlot(w, it); err != nil {
			return err
		}
		if err := w.end(); err != nil {
			return err
		}
	}
	return nil
}
