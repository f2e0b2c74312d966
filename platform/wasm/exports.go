//go:build js && wasm

package wasm

// Bridge protocol 2: the synchronous hot path through wasm exports.
//
// A call through a js.FuncOf function costs tens of microseconds, because
// syscall/js builds a js.Value (with a finalizer) for `this`, every
// argument and every property it reads. A //go:wasmexport function costs
// under a microsecond. So the calls JS makes per operation — reads, the ops
// of a transaction, begin, commit, rollback and the one-op auto-commit —
// go through two exports, with requests and replies as bytes in buffers in
// wasm linear memory. Everything truly asynchronous (open, close, compact,
// export, import, delete, writable) stays on js.FuncOf and Promises.
//
// The ABI (js/src/wasm.ts is its other half):
//
//	dbrs_in(n u32) → u32     address of the request buffer, grown to at
//	                         least n bytes. Valid until the next dbrs_in.
//	dbrs_call(n u32) → u32   runs the request in the first n bytes of the
//	                         request buffer and returns the address of the
//	                         reply. Valid until the next dbrs_call.
//
// Either may grow the wasm memory, which detaches every view JS holds of
// it: JS re-creates its views after each call when memory.buffer changed.
//
// Request (little-endian):
//
//	+------------+-------------+-----------------+----------+------------------+
//	| method (1) | handle (4)  | table index (2) | op (1)   | args (msgpack)   |
//	+------------+-------------+-----------------+----------+------------------+
//
// The table index is the table's position in the tables given to open; op
// is a code of core.OpNames (js/src/ops.ts lists the same names; a test
// checks it). begin, commit and rollback ignore table, op and args.
//
// Reply:
//
//	+------------+------------+----------------------+
//	| length (4) | status (1) | body (length-1 bytes) |
//	+------------+------------+----------------------+
//
// Status and body: replyNull, replyFalse, replyTrue (no body); replyBytes
// (one msgpack value); replyNumber (a float64); replyCommit (the commit's
// sequence number as a float64, then, for exec, a msgpack array of the
// ops' results); replyPosition (segment and offset, two float64s);
// replyShipped (see below); replyError (a msgpack map: code, message, and
// causeCode, segment, offset where they apply).
//
// position and shipped are the per-commit calls of a leader among tabs
// (follower.go has them as js.FuncOf methods too). shipped's body is the
// tapped commits not yet taken, oldest first:
//
//	count u32, then per commit:
//	segment f64 | offset f64 | end f64 | record length u32 | record |
//	table count u16 | per table: its index in open's tables u16, or
//	0xffff, the name's length u32 and its UTF-8 bytes for a table that
//	is not among them (none should be: JS writes tables by index)
//
// The bridge object's "calls" property is the highest method number this
// dbrs.wasm serves, so that a shim can tell which it may use.
//
// Durability. commit and exec append the commit and return its sequence
// number at once (1, 2, ... per handle). The handle's settler goroutine
// waits for each commit in order and calls the JS function onSettle(h, seq,
// error) set on the bridge object: error is null once the commit is
// durable, or the bridge Error of its failure. One goroutine per handle
// settles every commit: none is started per commit.
//
// Wake-ups. A commit made while the settler waits for IndexedDB joins the
// next flush group: the settler takes it when that wait ends, and nothing
// needs waking. A commit that finds the settler idle makes it runnable,
// but Go runs goroutines only when JS hands it control. So does the end of
// any transaction (commit, rollback, a failed commit) for goroutines that
// waited for the write lock, such as a compaction or a close. The shim
// hands Go control with a third export, from one microtask it queues per
// JS turn that ended a transaction (so the commits of one turn share a
// flush, as before):
//
//	dbrs_run()               lets runnable goroutines run until they block
//	                         (the settler: until it has issued the flush
//	                         and waits for IndexedDB); with none runnable,
//	                         nothing.
//
// A shim that calls dbrs_run calls it once when it starts, after setting
// onSettle (and flush, idb_flush.go) on the bridge object, which Go reads
// then, once; from then on the bridge leaves the wake-ups to it. Until
// then (an older shim, Go tests) Go queues that microtask itself, as a
// call of a js.FuncOf function: a dearer entry into Go, which makes
// js.Values of the event, its this and its arguments, through eight calls
// into JS.

import (
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/dbrs-db/dbrs/core"
)

// Methods of a protocol 2 request.
const (
	callRead     = 1
	callApply    = 2
	callBegin    = 3
	callCommit   = 4
	callRollback = 5
	callExec     = 6
	callPosition = 7
	callShipped  = 8

	// callMax is the highest method: the bridge object's "calls".
	callMax = callShipped
)

// Reply statuses.
const (
	replyNull     = 0
	replyBytes    = 1
	replyNumber   = 2
	replyFalse    = 3
	replyTrue     = 4
	replyCommit   = 5
	replyPosition = 6
	replyShipped  = 7
	replyError    = 0xff
)

const requestHeader = 8

// opNames are the op codes of protocol 2 (core.OpNames).
var opNames = core.OpNames

// exported is the bridge whose handles the exports serve: the one Install
// made.
var exported *Bridge

var (
	inBuf  = make([]byte, 4096)
	outBuf = make([]byte, 0, 4096)
)

//go:wasmexport dbrs_in
func exportIn(n uint32) uint32 {
	if int(n) > len(inBuf) {
		inBuf = make([]byte, max(int(n), 2*len(inBuf)))
	}
	return uint32(uintptr(unsafe.Pointer(&inBuf[0])))
}

//go:wasmexport dbrs_call
func exportCall(n uint32) uint32 {
	outBuf = outBuf[:4]
	if int(n) > len(inBuf) {
		outBuf = appendError(outBuf, badValue("request longer than its buffer"))
	} else {
		outBuf = exported.call(outBuf, inBuf[:n])
	}
	binary.LittleEndian.PutUint32(outBuf, uint32(len(outBuf)-4))
	if cap(outBuf) > 1<<20 {
		// Keep a large reply's buffer only until the next call.
		defer func() { outBuf = make([]byte, 0, 4096) }()
	}
	return uint32(uintptr(unsafe.Pointer(&outBuf[0])))
}

// call runs one request and appends its reply to out. A panic becomes an
// 'Internal' error reply: it never kills the instance.
func (b *Bridge) call(out, req []byte) (reply []byte) {
	defer func() {
		if r := recover(); r != nil {
			reply = appendError(out[:4], &panicErr{r: r, stack: debug.Stack()})
		}
	}()
	if b == nil {
		return appendError(out, newBridgeError("Internal", "the bridge is not installed"))
	}
	if len(req) < requestHeader {
		return appendError(out, badValue("request shorter than its header"))
	}
	h := b.lookup(int(binary.LittleEndian.Uint32(req[1:5])))
	if h == nil {
		return appendError(out, errUnknownHandle)
	}
	switch req[0] {
	case callRead, callApply, callExec:
		ti, oi, err := h.names(req)
		if err != nil {
			return appendError(out, err)
		}
		args := req[requestHeader:]
		switch req[0] {
		case callRead:
			return h.read2(out, ti, oi, args)
		case callApply:
			return h.apply2(out, ti, oi, args)
		}
		return b.exec2(out, h, h.order[ti], opNames[oi], args)
	}
	return b.callOther(out, h, req[0])
}

// callOther serves the methods other than the ops: begin, commit and
// rollback, position and shipped. They are out of call, which runs for
// every op, so that call stays small: in the browser V8 compiles a hot
// function again (TurboFan) in a time that grows with its size, and all of
// call took 157 ms of it during the first bulk load of a page
// (bench/browser -tiering).
func (b *Bridge) callOther(out []byte, h *handle, method byte) []byte {
	switch method {
	case callBegin:
		tx, err := h.tryBegin()
		if err != nil {
			return appendError(out, err)
		}
		h.tx, h.txWrote = tx, false
		return append(out, replyNull)
	case callCommit:
		if h.tx == nil {
			return appendError(out, errNoTx)
		}
		tx, wrote := h.tx, h.txWrote
		h.tx = nil
		start := time.Now()
		wait, err := tx.CommitAsync()
		if err != nil {
			tx.Rollback()
			return appendError(out, err)
		}
		return appendSeq(out, b.queueSettle(h, start, wrote, wait))
	case callRollback:
		if h.tx == nil {
			return appendError(out, errNoTx)
		}
		h.tx.Rollback()
		h.tx = nil
		return append(out, replyNull)
	case callPosition:
		p := h.db.Position()
		out = append(out, replyPosition)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(p.Segment)))
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(p.Offset)))
	case callShipped:
		return h.appendShipped(out)
	}
	return appendError(out, badValue("unknown bridge method "+strconv.Itoa(int(method))))
}

// appendShipped takes the tapped commits (see follower.go) and appends them
// as a replyShipped.
func (h *handle) appendShipped(out []byte) []byte {
	f := h.follow
	f.mu.Lock()
	cs := f.shipped
	f.shipped = nil
	f.mu.Unlock()
	out = append(out, replyShipped)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(cs)))
	for _, c := range cs {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(c.Segment)))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(c.Offset)))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(c.End)))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(c.Record)))
		out = append(out, c.Record...)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(c.Tables)))
		for _, t := range c.Tables {
			if i := h.tableIndex(t); i >= 0 {
				out = binary.LittleEndian.AppendUint16(out, uint16(i))
				continue
			}
			out = binary.LittleEndian.AppendUint16(out, 0xffff)
			out = binary.LittleEndian.AppendUint32(out, uint32(len(t)))
			out = append(out, t...)
		}
	}
	return out
}

// tableIndex returns the index of table name in open's tables, or -1.
func (h *handle) tableIndex(name string) int {
	for i, t := range h.order {
		if t == name && i < 0xffff {
			return i
		}
	}
	return -1
}

// tryBegin begins a transaction without waiting for the write lock: 'Busy'
// when it is held, by Go or by this handle's open transaction.
func (h *handle) tryBegin() (*core.Tx[core.Dynamic], error) {
	if h.tx != nil {
		return nil, errTxOpen
	}
	tryBegin := h.db.TryBegin
	if h.follow.follower {
		tryBegin = h.db.TryBeginScratch // its ops go to the leader (follower.go)
	}
	tx, ok, err := tryBegin()
	switch {
	case !ok:
		return nil, errBusy
	case err != nil:
		return nil, err
	}
	return tx, nil
}

// names checks a request's table index and op code. The table index is
// also the table's position in the Dynamic schema: h.order and the schema
// are made from the same specs, in the same order (open, and a follower's
// reopen).
func (h *handle) names(req []byte) (ti, oi int, err error) {
	ti = int(binary.LittleEndian.Uint16(req[5:7]))
	if ti >= len(h.order) {
		return 0, 0, newBridgeError("UnknownTable", "unknown table index "+strconv.Itoa(ti))
	}
	oi = int(req[7])
	if oi == 0 || oi >= len(opNames) {
		return 0, 0, badValue("unknown op code " + strconv.Itoa(oi))
	}
	return ti, oi, nil
}

// opWrites says, per op code, whether the op writes (writeOps by code).
var opWrites = func() (w [len(opNames)]bool) {
	for i, n := range opNames {
		w[i] = writeOps[n]
	}
	return w
}()

// checkOpCode is checkOp for a request: the table exists (names checked
// its index), so only the op's direction is checked, without a lookup by
// name.
func (h *handle) checkOpCode(ti, oi int, write bool) error {
	if opWrites[oi] != write {
		return h.checkOp(h.order[ti], opNames[oi], write)
	}
	return nil
}

func (h *handle) read2(out []byte, ti, oi int, args []byte) []byte {
	if err := h.checkOpCode(ti, oi, false); err != nil {
		return appendError(out, err)
	}
	d := h.db.Tables
	if h.tx != nil {
		d = h.tx.Tables
	}
	return doInto(out, d, ti, opNames[oi], args)
}

// doInto runs op on the table at position ti and appends its reply to
// out: a byte result straight after the status byte, with no copy in
// between.
func doInto(out []byte, d *core.Dynamic, ti int, op string, args []byte) []byte {
	n := len(out)
	out, r, err := d.AppendDoAt(append(out, replyBytes), ti, op, args)
	if err != nil {
		return appendError(out[:n], err)
	}
	if r.Kind == core.ResultBytes {
		return out
	}
	return appendResult(out[:n], r)
}

func (h *handle) apply2(out []byte, ti, oi int, args []byte) []byte {
	if h.tx == nil {
		return appendError(out, errNoTx)
	}
	if err := h.checkOpCode(ti, oi, true); err != nil {
		return appendError(out, err)
	}
	n := len(out)
	out = doInto(out, h.tx.Tables, ti, opNames[oi], args)
	if out[n] != replyError {
		h.txWrote = true
	}
	return out
}

// exec2 runs one write op as its own transaction: begin, apply, commit.
// On success the reply holds the commit's sequence number and a
// one-element array of the op's result.
func (b *Bridge) exec2(out []byte, h *handle, table, op string, args []byte) []byte {
	if err := h.checkOp(table, op, true); err != nil {
		return appendError(out, err)
	}
	tx, err := h.tryBegin()
	if err != nil {
		return appendError(out, err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	r, err := tx.Tables.Do(table, op, args)
	if err != nil {
		return appendError(out, err)
	}
	start := time.Now()
	wait, err := tx.CommitAsync()
	committed = true
	if err != nil {
		tx.Rollback()
		return appendError(out, err)
	}
	out = appendSeq(out, b.queueSettle(h, start, true, wait))
	out = append(out, 0x91)
	if r.Kind == core.ResultBytes {
		return append(out, r.Bytes...)
	}
	return append(out, 0xc0)
}

func appendResult(out []byte, r core.Result) []byte {
	switch r.Kind {
	case core.ResultBytes:
		return append(append(out, replyBytes), r.Bytes...)
	case core.ResultNumber:
		out = append(out, replyNumber)
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(r.Number)))
	case core.ResultBool:
		if r.Bool {
			return append(out, replyTrue)
		}
		return append(out, replyFalse)
	}
	return append(out, replyNull)
}

func appendSeq(out []byte, seq uint64) []byte {
	out = append(out, replyCommit)
	return binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(seq)))
}

// panicErr is a recovered panic, reported with code 'Internal'.
type panicErr struct {
	r     any
	stack []byte
}

func (p *panicErr) Error() string {
	msg := "dbrs: internal error (Go panic): "
	switch x := p.r.(type) {
	case error:
		return msg + x.Error()
	case string:
		return msg + x
	}
	return msg + "unknown value"
}

// appendError appends an error reply: a msgpack map of the fields of the
// bridge Error (toJSError builds the same fields as a JS object).
func appendError(out []byte, err error) []byte {
	out = append(out, replyError)
	msg := err.Error()
	if len(msg) < 6 || msg[:6] != "dbrs: " {
		msg = "dbrs: " + msg
	}
	code := "Internal"
	var p *panicErr
	if !errors.As(err, &p) {
		code = errorCode(err)
	}
	var ce *core.CorruptError
	corrupt := errors.As(err, &ce)
	n := 2
	if code == "Poisoned" {
		n++
	}
	if corrupt {
		n += 2
	}
	if p != nil {
		n++
	}
	out = append(out, 0x80|byte(n))
	out = mpStr(mpStr(out, "code"), code)
	out = mpStr(mpStr(out, "message"), msg)
	if code == "Poisoned" {
		out = mpStr(mpStr(out, "causeCode"), causeCode(err))
	}
	if corrupt {
		out = mpUint(mpStr(out, "segment"), ce.Segment)
		out = mpUint(mpStr(out, "offset"), uint64(ce.Offset))
	}
	if p != nil {
		out = mpStr(mpStr(out, "goStack"), string(p.stack))
	}
	return out
}

// mpStr appends s as a msgpack str.
func mpStr(out []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		out = append(out, 0xa0|byte(n))
	case n < 1<<8:
		out = append(out, 0xd9, byte(n))
	case n < 1<<16:
		out = append(out, 0xda, byte(n>>8), byte(n))
	default:
		out = append(out, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, s...)
}

// mpUint appends v as a msgpack uint64.
func mpUint(out []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(out, 0xcf), v)
}

// ------------------------------------------------------------------ settling

// settler reports the durability of a handle's protocol 2 commits to JS,
// in commit order, from one goroutine.
type settler struct {
	mu      sync.Mutex
	queue   []settleItem
	next    uint64 // the sequence number of the next commit
	kick    chan struct{}
	idle    bool // the settler waits for a kick with nothing queued
	woken   bool // a commit made the idle settler runnable; it has not run since
	closing bool
	done    chan struct{} // closed when the goroutine has settled everything and ended
}

type settleItem struct {
	seq   uint64
	start time.Time
	wrote bool
	wait  func() error
}

// queueSettle gives a commit its sequence number and queues it for the
// handle's settler, starting the settler on first use.
func (b *Bridge) queueSettle(h *handle, start time.Time, wrote bool, wait func() error) uint64 {
	s := &h.settle
	s.mu.Lock()
	wake := s.idle
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
		s.done = make(chan struct{})
		go b.runSettler(h)
		wake = true
	}
	s.idle = false
	if wake {
		s.woken = true
		b.woken.Add(1)
	}
	s.next++
	seq := s.next
	s.queue = append(s.queue, settleItem{seq: seq, start: start, wrote: wrote, wait: wait})
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if wake && !b.driven.Load() {
		b.wakeSoon()
	}
	return seq
}

// runSettler waits for each queued commit in order and reports it to JS.
// The first wait of a group makes this goroutine the group's syncer (see
// core's waitDurable), so the IndexedDB flush runs here too.
func (b *Bridge) runSettler(h *handle) {
	s := &h.settle
	defer close(s.done)
	var batch []settleItem
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		closing := s.closing
		s.idle = len(batch) == 0 && !closing
		if s.woken {
			s.woken = false
			b.woken.Add(-1)
		}
		s.mu.Unlock()
		for _, it := range batch {
			err := safeWait(it.wait)
			took := time.Since(it.start)
			b.mu.Lock()
			switch {
			case err != nil:
				h.failed++
			case it.wrote:
				h.durable++
				h.lastCommit = took
			}
			b.mu.Unlock()
			b.report(h, it.seq, err)
		}
		if len(batch) == 0 && closing {
			return
		}
		if len(batch) == 0 {
			<-s.kick
		}
	}
}

// safeWait runs wait, turning a panic into an error.
func safeWait(wait func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicErr{r: r, stack: debug.Stack()}
		}
	}()
	return wait()
}

// report calls onSettle(h, seq, error|null) on the bridge object: the
// function run took, or, before JS called dbrs_run, the one set now.
func (b *Bridge) report(h *handle, seq uint64, err error) {
	f := b.onSettle
	if !b.driven.Load() {
		f = b.obj.Get("onSettle")
	}
	if f.Type() != js.TypeFunction {
		return
	}
	var e any
	if err != nil {
		var p *panicErr
		if errors.As(err, &p) {
			e = panicError(p.r)
		} else {
			e = toJSError(err)
		}
	}
	f.Invoke(h.id, float64(seq), e)
}

// stopSettler makes the settler end once every queued commit is settled,
// and waits for that.
func (h *handle) stopSettler() {
	s := &h.settle
	s.mu.Lock()
	s.closing = true
	started := s.kick != nil
	s.mu.Unlock()
	if !started {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	<-s.done
}

//go:wasmexport dbrs_run
func exportRun() {
	if exported != nil {
		exported.run()
	}
}

// run is dbrs_run: it yields until no goroutine is runnable, so that the
// settler a commit woke runs until it waits for IndexedDB (or for the next
// commit). Each yield puts the export's goroutine back on the run queue (so
// Go never pauses and returns to JS meanwhile).
//
// That a woken settler has run once is not enough: it may have blocked on
// a lock that an export held, e.g. the backend's while the export appended
// and let the garbage collector run, and the export's unlock made it
// runnable again after its first run. Returning then left it runnable with
// no event to run it, and every commit of the page waited for the next
// unrelated event (seen: 2,000 commits made in one turn waited forever).
// So run always yields, not only for a settler flagged woken (see
// runUntilBlocked). The first call also tells queueSettle that JS drives
// the wake-ups from now on, and takes the shim's onSettle and flush
// functions (idb_flush.go), which the shim sets before.
func (b *Bridge) run() {
	if !b.driven.Load() {
		// The shim sets both before its first dbrs_run, and keeps them.
		jsShimFlush = b.obj.Get("flush")
		b.onSettle = b.obj.Get("onSettle")
		b.driven.Store(true)
	}
	b.runUntilBlocked()
}

// runUntilBlocked is run's loop. A yield puts the export's goroutine at the
// back of the scheduler's global queue; a goroutine that is ready to run,
// or is readied meanwhile (by a channel send, or an unlock that hands it a
// lock), waits in the local queue, which the scheduler takes first. So one
// yield runs every runnable goroutine until it blocks, unless the
// scheduler takes the global queue first, as it does every 61st time. It
// yields at least twice, then again while a settler that a commit woke has
// not run, at most runYields times in all; should one still not have run,
// it queues the microtask wake.
//
// It used to ask runtime/metrics how many goroutines were runnable. That
// cost a few microseconds a call, and the first call ran the runtime's
// initMetrics, a 29 KB function that V8 then compiled with TurboFan for
// 0.35 s of a background thread, during the first commit of the page
// (bench/browser -tiering); and dropping runtime/metrics took 8 KB off
// the gzipped dbrs.wasm.
func (b *Bridge) runUntilBlocked() {
	for i := range runYields {
		runtime.Gosched()
		if i >= 1 && b.woken.Load() == 0 {
			return
		}
	}
	b.wakeSoon()
}

const runYields = 8

// wakeSoon queues one microtask that calls into Go, so that goroutines made
// runnable by an export (the settler) run right after the current JS turn.
// One is queued per turn, however many commits the turn made. It is the
// wake-up for JS that does not call dbrs_run.
func (b *Bridge) wakeSoon() {
	if b.wakeQueued.Swap(true) {
		return
	}
	jsQueueMicrotask.Invoke(b.wake)
}

var jsQueueMicrotask = js.Global().Get("queueMicrotask")
