package core

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"
)

// Table kinds as recorded in the log's schema records. They are part of the
// format and must never change.
const (
	KindSingle      = "single"
	KindList        = "list"
	KindLookupTable = "lookup_table"
	KindLookupList  = "lookup_list"
	KindLookupSet   = "lookup_set"
	KindLookupMap   = "lookup_map"
)

// tableState is the in-memory data of one table, shared by every handle on
// it. Methods run with the database's lock held (exclusive for replay).
type tableState interface {
	kind() string
	// replay applies one entry read from d, which holds exactly the
	// entry; size is the bytes of the entry with its table ID. It must
	// read the whole entry, and return an error (never panic) for
	// malformed input.
	replay(d *entryReader, size int) error
	// liveBytes estimates the bytes of the table's compacted entries.
	liveBytes() int64
	// compact writes entries that rebuild the current state from empty.
	compact(w *entryWriter, id uint32) error
}

// tableField is implemented by every table handle type (through a pointer).
// Schema binding finds table fields by this interface.
type tableField interface {
	newState() (tableState, error)
	bind(h handle, s tableState)
}

// handle ties a table value in a schema struct to its database and, inside
// Update or View, to the transaction.
type handle struct {
	e  *engine
	tx *txn // nil for the auto-commit handles in DB.Tables
	id uint32
}

// txn collects the entries and undo steps of one transaction. It is used
// only by the goroutine holding the write lock (or, read-only, the read lock).
type txn struct {
	w        *entryWriter
	undo     undoSteps
	logs     []undoer // the typed undo logs of the tables written, in no order
	touched  []uint32 // IDs of the tables written, for subscriptions
	readOnly bool
	closed   atomic.Bool
	e        *engine   // set when the transaction streams (stream.go)
	stream   *txStream // what it streamed, from its first part on
}

// undoer is a table's typed undo log in one transaction: it reverses the
// table's changes that it recorded, newest first.
type undoer interface {
	// undo reverses the newest n changes that the log holds and drops them.
	undo(n int)
}

// undoStep reverses changes already applied to memory: f, or else the
// newest n changes of u. Consecutive changes recorded in one typed log
// share a step, so that they cost no allocation each.
type undoStep struct {
	f func()
	u undoer
	n int
}

// undoSteps are a transaction's undo steps, oldest first.
type undoSteps []undoStep

// run reverses every step, newest first.
func (s undoSteps) run() {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].f != nil {
			s[i].f()
		} else {
			s[i].u.undo(s[i].n)
		}
	}
}

// undoMark is a point in a transaction's undo steps: how many steps there
// were and how many changes the last one held.
type undoMark struct{ steps, n int }

func (t *txn) undoMark() undoMark {
	if len(t.undo) == 0 {
		return undoMark{}
	}
	return undoMark{len(t.undo), t.undo[len(t.undo)-1].n}
}

// undoTo reverses the changes recorded since m, newest first.
func (t *txn) undoTo(m undoMark) {
	t.undo[m.steps:].run()
	t.undo = t.undo[:m.steps]
	if m.steps > 0 {
		last := &t.undo[m.steps-1]
		if last.f == nil && last.n > m.n {
			last.u.undo(last.n - m.n)
			last.n = m.n
		}
	}
}

// stack holds an undo log's changes in blocks of stackBlock, so that a log
// of any length grows without copying what it holds. The first block grows
// from firstBlock by appending: most transactions make a change or two, and
// a whole block per transaction was most of a small commit's allocation.
type stack[T any] struct {
	full []*[stackBlock]T // full blocks, oldest first
	top  []T              // the newest block, len < stackBlock
}

const (
	stackBlock = 512
	firstBlock = 4
)

func (s *stack[T]) len() int { return len(s.full)*stackBlock + len(s.top) }

func (s *stack[T]) push(v T) {
	n := len(s.top)
	if n == cap(s.top) || n == stackBlock {
		s.grow()
		n = len(s.top)
	}
	s.top = s.top[:n+1]
	s.top[n] = v
}

// grow makes room in top for one more value: a new block when top holds
// stackBlock values, else a larger top. It is push's rare case, out of
// line so that push, which runs for every change of a transaction, stays
// small (in the browser, V8 compiles a hot function again in a time that
// grows with its size).
//
//go:noinline
func (s *stack[T]) grow() {
	switch {
	case len(s.top) == stackBlock:
		s.full = append(s.full, (*[stackBlock]T)(s.top))
		s.top = make([]T, 0, stackBlock)
	case s.top == nil:
		s.top = make([]T, 0, firstBlock)
	default:
		s.top = slices.Grow(s.top, 1)
	}
}

// last returns the newest element, if there is one.
func (s *stack[T]) last() (T, bool) {
	switch {
	case len(s.top) > 0:
		return s.top[len(s.top)-1], true
	case len(s.full) > 0:
		return s.full[len(s.full)-1][stackBlock-1], true
	}
	var zero T
	return zero, false
}

// pop removes and returns the newest value; the stack must not be empty.
func (s *stack[T]) pop() T {
	if len(s.top) == 0 {
		s.top = s.full[len(s.full)-1][:]
		s.full = s.full[:len(s.full)-1]
	}
	v := s.top[len(s.top)-1]
	var zero T
	s.top[len(s.top)-1] = zero
	s.top = s.top[:len(s.top)-1]
	return v
}

// keyStack is a stack of keys. String keys are held as their data
// pointers, which keep the keys' bytes alive, and their lengths in runs of
// one length: the keys of a load cost 8 bytes each, and keys of varied
// lengths at most 16, as a string does.
type keyStack[K any] struct {
	keys stack[K]     // keys other than strings
	ptrs stack[*byte] // string keys' bytes
	lens []lengthRun  // their lengths, oldest first
}

// lengthRun is n string keys of length len, pushed one after the other.
type lengthRun struct{ len, n int32 }

func (s *keyStack[K]) len() int { return s.keys.len() + s.ptrs.len() }

func (s *keyStack[K]) push(k K) {
	p, ok := any(&k).(*string)
	if !ok {
		s.keys.push(k)
		return
	}
	s.ptrs.push(unsafe.StringData(*p))
	if n := len(s.lens); n > 0 && int(s.lens[n-1].len) == len(*p) && s.lens[n-1].n < math.MaxInt32 {
		s.lens[n-1].n++
		return
	}
	s.newRun(len(*p))
}

// newRun starts a run of string keys of length n: push's rare case, out of
// line as stack.grow is.
//
//go:noinline
func (s *keyStack[K]) newRun(n int) {
	s.lens = append(s.lens, lengthRun{int32(n), 1})
}

func (s *keyStack[K]) pop() K {
	var k K
	p, ok := any(&k).(*string)
	if !ok {
		return s.keys.pop()
	}
	r := &s.lens[len(s.lens)-1]
	*p = unsafe.String(s.ptrs.pop(), int(r.len))
	if r.n--; r.n == 0 {
		s.lens = s.lens[:len(s.lens)-1]
	}
	return k
}

// logChange counts one more change recorded in the typed undo log of a
// table, which find returns from t.logs and make creates.
func logChange[L undoer](t *txn, find func(undoer) (L, bool), make func() L) L {
	if n := len(t.undo); n > 0 && t.undo[n-1].f == nil {
		if l, ok := find(t.undo[n-1].u); ok {
			t.undo[n-1].n++
			return l
		}
	}
	return newUndoStep(t, find, make)
}

// newUndoStep is logChange when the newest undo step is not the table's:
// it finds or makes the table's log and starts a step with it. It is out
// of line, as stack.grow is, so that logChange, which runs for every change
// of a transaction, stays small.
//
//go:noinline
func newUndoStep[L undoer](t *txn, find func(undoer) (L, bool), make func() L) L {
	var l L
	found := false
	for _, u := range t.logs {
		if l, found = find(u); found {
			break
		}
	}
	if !found {
		l = make()
		t.logs = append(t.logs, l)
	}
	t.undo = append(t.undo, undoStep{u: l, n: 1})
	return l
}

// touch records that table id was written.
func (t *txn) touch(id uint32) {
	if !slices.Contains(t.touched, id) {
		t.touched = append(t.touched, id)
	}
}

// onUndo records how to reverse a change already applied to memory.
func (t *txn) onUndo(f func()) { t.undo = append(t.undo, undoStep{f: f}) }

// rollback reverses every applied change, newest first.
func (t *txn) rollback() {
	undo := t.undo
	t.undo, t.logs = nil, nil
	undo.run()
}

// rlock takes the read lock unless the handle belongs to an open
// transaction, which already holds a lock. It reports whether to unlock.
func (h *handle) rlock() bool {
	if h.e == nil || (h.tx != nil && !h.tx.closed.Load()) {
		return false
	}
	h.e.rlock()
	return true
}

func (h *handle) runlock(locked bool) {
	if locked {
		h.e.mu.RUnlock()
	}
}

// keysOf yields the keys of the map items returns, copied under the read
// lock when iteration starts, so the loop body may write to the database.
func keysOf[K comparable, X any](h *handle, items func() map[K]X) iter.Seq[K] {
	return func(yield func(K) bool) {
		locked := h.rlock()
		m := items()
		keys := make([]K, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		h.runlock(locked)
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}

// lenOf returns the number of keys of the map items returns.
func lenOf[K comparable, X any](h *handle, items func() map[K]X) int {
	locked := h.rlock()
	defer h.runlock(locked)
	return len(items())
}

// iterDirect reports whether an iterator may walk internal state without
// copying it: only inside View, where nothing can change it.
func (h *handle) iterDirect() bool {
	return h.tx != nil && h.tx.readOnly && !h.tx.closed.Load()
}

// write runs op inside the handle's transaction, or in a transaction of its
// own that commits before write returns (auto-commit).
func (h *handle) write(op func(t *txn) error) error {
	if h.e == nil {
		return ErrNotOpen
	}
	if h.tx != nil {
		if h.tx.closed.Load() {
			return ErrTxClosed
		}
		if h.tx.readOnly {
			return ErrReadOnly
		}
		if err := h.tx.do(op); err != nil {
			return err
		}
		h.tx.touch(h.id)
		return nil
	}
	return h.e.autoCommit(h.id, op)
}

// do runs op in t. If op fails, everything op did is undone, so that an op
// that makes several changes (InsertMany) is all or nothing within a
// transaction too. A transaction may grow to any size that fits in memory
// (record.go: commit-part records); one entry must fit in one record.
//
// While op runs, nothing it wrote is spilled to the log (stream.go): only a
// whole op can be rewound, and only in memory.
func (t *txn) do(op func(t *txn) error) error {
	mark, undos, n := t.w.pos(), t.undoMark(), t.w.count()
	floor := t.w.floor
	t.w.floor = min(floor, mark)
	err := op(t)
	if err != nil {
		t.undoTo(undos)
		t.w.rewindTo(mark, n)
	}
	t.w.floor = floor
	t.w.spillReady()
	return err
}

// TableState is the in-memory state of a user-defined table kind. Its zero
// value must be an empty table. Every change is an entry (one msgpack value
// that the table defines): the same Apply runs for a live change and for
// replay, which makes replay equivalent to the live history by construction.
type TableState interface {
	// Kind names the entry format. It is stored in the log, so a table can
	// be reopened only by a state with the same Kind.
	Kind() string
	// Apply validates entry and applies it. On error it changes nothing.
	// The returned undo reverses the change; it is called to roll back a
	// transaction and is ignored during replay.
	Apply(entry []byte) (undo func(), err error)
	// Compact calls emit with entries that rebuild the current state when
	// applied to an empty state, in order.
	Compact(emit func(entry []byte) error) error
}

// Custom is the handle of a user-defined table whose state is a T (used
// through *T, which implements TableState). Embed it in a named type to give
// the table methods of its own:
//
//	type Counter struct{ core.Custom[counterState, *counterState] }
//	func (c *Counter) Add(n int64) error { ... return c.Apply(entry) }
type Custom[T any, P interface {
	*T
	TableState
}] struct {
	h handle
	s *customState[T, P]
}

type customState[T any, P interface {
	*T
	TableState
}] struct {
	p P
}

// Apply validates entry (one msgpack value), applies it to the state and
// logs it, inside the current transaction or as an auto-commit.
func (c *Custom[T, P]) Apply(entry []byte) error {
	if err := ValidRaw(entry); err != nil {
		return err
	}
	return c.h.write(func(t *txn) error {
		undo, err := c.s.p.Apply(entry)
		if err != nil {
			return err
		}
		if undo != nil {
			t.onUndo(undo)
		}
		return t.w.raw(c.h.id, entry)
	})
}

// Read calls fn with the state under the database's read lock. fn must not
// keep the pointer or change the state.
func (c *Custom[T, P]) Read(fn func(state P)) {
	if c.s == nil {
		fn(new(T))
		return
	}
	locked := c.h.rlock()
	defer c.h.runlock(locked)
	fn(c.s.p)
}

func (c *Custom[T, P]) newState() (tableState, error) {
	return &customState[T, P]{p: new(T)}, nil
}

func (c *Custom[T, P]) bind(h handle, s tableState) {
	c.h, c.s = h, s.(*customState[T, P])
}

func (s *customState[T, P]) kind() string { return s.p.Kind() }

// liveBytes is unknown for custom tables: they count as 0.
func (s *customState[T, P]) liveBytes() int64 { return 0 }

func (s *customState[T, P]) replay(d *entryReader, _ int) error {
	entry, err := d.DecodeRaw()
	if err != nil {
		return err
	}
	_, err = s.p.Apply(entry)
	return err
}

func (s *customState[T, P]) compact(w *entryWriter, id uint32) error {
	return s.p.Compact(func(entry []byte) error {
		if err := ValidRaw(entry); err != nil {
			return fmt.Errorf("dbrs: %s table compacted to a bad entry: %w", s.p.Kind(), err)
		}
		return w.raw(id, entry)
	})
}
