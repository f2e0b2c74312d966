package core

import (
	"reflect"
)

// Single holds at most one value of type T.
//
// Entries: [1 insert, value] | [2 clear]. Compacted form: one insert, or
// nothing when empty. Get is O(1); values that are not held by value (see
// the README) are decoded on every Get.
type Single[T any] struct {
	h handle
	s *singleState[T]
}

const (
	singleInsert = 1
	singleClear  = 2
)

type singleState[T any] struct {
	c   codec[T]
	v   slot[T]
	set bool
}

// Get returns the value and true, or the zero value and false when empty.
func (t *Single[T]) Get() (T, bool) {
	var zero T
	if t.s == nil {
		return zero, false
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	if !t.s.set {
		return zero, false
	}
	return t.s.c.load(t.s.v), true
}

// Insert sets the value, replacing any previous one.
func (t *Single[T]) Insert(v T) error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		mark := tx.w.begin(t.h.id, singleInsert, 1)
		sl, err := s.c.encodeValue(tx.w, mark, v)
		if err != nil {
			tx.w.rewind(mark)
			return err
		}
		old, wasSet := s.v, s.set
		s.v, s.set = sl, true
		tx.onUndo(func() { s.v, s.set = old, wasSet })
		return tx.w.end()
	})
}

// Clear removes the value. Clearing an empty Single is not an error.
func (t *Single[T]) Clear() error {
	return t.h.write(func(tx *txn) error {
		s := t.s
		tx.w.begin(t.h.id, singleClear, 0)
		old, wasSet := s.v, s.set
		s.v, s.set = slot[T]{}, false
		tx.onUndo(func() { s.v, s.set = old, wasSet })
		return tx.w.end()
	})
}

func (t *Single[T]) newState() (tableState, error) {
	if err := checkValue(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	return &singleState[T]{c: newCodec[T]()}, nil
}

func (t *Single[T]) bind(h handle, s tableState) { t.h, t.s = h, s.(*singleState[T]) }

func (s *singleState[T]) kind() string { return KindSingle }

func (s *singleState[T]) liveBytes() int64 {
	if !s.set {
		return 0
	}
	return int64(s.v.size)
}

func (s *singleState[T]) replay(d *entryReader, size int) error {
	op, n, err := readEntryHeader(d)
	if err != nil {
		return err
	}
	switch op {
	case singleInsert:
		if err := wantArgs(op, n, 1); err != nil {
			return err
		}
		v, err := s.c.decodeValue(d, size)
		if err != nil {
			return err
		}
		s.v, s.set = v, true
	case singleClear:
		if err := wantArgs(op, n, 0); err != nil {
			return err
		}
		s.v, s.set = slot[T]{}, false
	default:
		return unknownOp(KindSingle, op)
	}
	return nil
}

func (s *singleState[T]) compact(w *entryWriter, id uint32) error {
	if !s.set {
		return nil
	}
	w.begin(id, singleInsert, 1)
	if err := s.c.writeSlot(w, s.v); err != nil {
		return err
	}
	return w.end()
}
