//go:build js && wasm

package wasm

// Tests of bridge protocol 2, calling Bridge.call with requests laid out as
// js/src/wasm.ts lays them out in linear memory.

import (
	"encoding/binary"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"syscall/js"
	"testing"
	"time"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// request builds a protocol 2 request.
func request(method byte, h, table int, op string, args []byte) []byte {
	req := make([]byte, requestHeader, requestHeader+len(args))
	req[0] = method
	binary.LittleEndian.PutUint32(req[1:], uint32(h))
	binary.LittleEndian.PutUint16(req[5:], uint16(table))
	if op != "" {
		req[7] = byte(slices.Index(opNames[:], op))
	}
	return append(req, args...)
}

// v2reply is a decoded reply.
type v2reply struct {
	status byte
	body   []byte
}

func (r v2reply) err() map[string]any {
	if r.status != replyError {
		return nil
	}
	var m map[string]any
	if err := msgpack.Unmarshal(r.body, &m); err != nil {
		panic(err)
	}
	return m
}

func (r v2reply) seq() float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(r.body))
}

func (tb *testBridge) v2(method byte, h, table int, op string, args []byte) v2reply {
	out := tb.b.call(make([]byte, 4), request(method, h, table, op, args))
	return v2reply{status: out[4], body: out[5:]}
}

// settleLog records onSettle calls.
type settleLog struct {
	ch chan settleCall
	f  js.Func
}

type settleCall struct {
	h, seq int
	code   string
}

// serveExports makes tb's bridge the one whose handles the exports (dbrs_run
// among them) serve, until the test ends.
func (tb *testBridge) serveExports() {
	prev := exported
	exported = tb.b
	tb.t.Cleanup(func() { exported = prev })
}

func (tb *testBridge) recordSettles() *settleLog {
	l := &settleLog{ch: make(chan settleCall, 100)}
	l.f = js.FuncOf(func(_ js.Value, a []js.Value) any {
		c := settleCall{h: a[0].Int(), seq: a[1].Int()}
		if !a[2].IsNull() {
			c.code = a[2].Get("code").String()
		}
		l.ch <- c
		return nil
	})
	tb.o.Set("onSettle", l.f)
	tb.t.Cleanup(l.f.Release)
	return l
}

func (l *settleLog) next(t *testing.T) settleCall {
	t.Helper()
	select {
	case c := <-l.ch:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no onSettle call in 20s")
	}
	return settleCall{}
}

func TestV2_TransactionCommitSettlesInOrder(t *testing.T) {
	tb := newTestBridge(t)
	settles := tb.recordSettles()
	name := "v2-tx-" + t.Name()
	mustAwait(t, "delete", tb.call("deleteDatabase", name))
	h := tb.open(name)
	defer tb.closeH(h)

	if r := tb.v2(callBegin, h, 0, "", nil); r.status != replyNull {
		t.Fatalf("begin: %v", r.err())
	}
	if r := tb.v2(callApply, h, 0, "insert", mp("a", 1)); r.status != replyNull {
		t.Fatalf("apply: %v", r.err())
	}
	// Reads inside the transaction see its writes.
	if r := tb.v2(callRead, h, 0, "get", mp("a")); r.status != replyBytes || !slices.Equal(r.body, mpv(1)) {
		t.Fatalf("read in tx: status %d body % x", r.status, r.body)
	}
	c1 := tb.v2(callCommit, h, 0, "", nil)
	if c1.status != replyCommit || c1.seq() != 1 {
		t.Fatalf("commit: status %d %v", c1.status, c1.err())
	}
	// An auto-commit: its reply carries the next sequence number and the
	// op's result.
	c2 := tb.v2(callExec, h, 0, "insert", mp("b", 2))
	if c2.status != replyCommit || c2.seq() != 2 || !slices.Equal(c2.body[8:], []byte{0x91, 0xc0}) {
		t.Fatalf("exec: status %d body % x %v", c2.status, c2.body, c2.err())
	}
	for want := 1; want <= 2; want++ {
		if c := settles.next(t); c.h != h || c.seq != want || c.code != "" {
			t.Fatalf("settle %d: %+v", want, c)
		}
	}
	if r := tb.v2(callRead, h, 0, "len", mp()); r.status != replyNumber || math.Float64frombits(binary.LittleEndian.Uint64(r.body)) != 2 {
		t.Fatalf("len: status %d", r.status)
	}
	if r := tb.v2(callRead, h, 0, "has", mp("zz")); r.status != replyFalse {
		t.Fatalf("has: status %d", r.status)
	}
}

func TestV2_RollbackAndErrors(t *testing.T) {
	tb := newTestBridge(t)
	name := "v2-err-" + t.Name()
	mustAwait(t, "delete", tb.call("deleteDatabase", name))
	h := tb.open(name)
	defer tb.closeH(h)

	tb.v2(callBegin, h, 0, "", nil)
	tb.v2(callApply, h, 0, "insert", mp("a", 1))
	if r := tb.v2(callBegin, h, 0, "", nil); r.err()["code"] != "Busy" {
		t.Fatalf("second begin: %v", r.err())
	}
	if r := tb.v2(callRollback, h, 0, "", nil); r.status != replyNull {
		t.Fatalf("rollback: %v", r.err())
	}
	if r := tb.v2(callRead, h, 0, "get", mp("a")); r.status != replyNull {
		t.Fatalf("rolled-back write visible: status %d", r.status)
	}
	cases := []struct {
		what string
		req  []byte
		code string
	}{
		{"unknown handle", request(callRead, 999, 0, "get", mp("a")), "Closed"},
		{"unknown table index", request(callRead, h, 77, "get", mp("a")), "UnknownTable"},
		{"op code 0", request(callRead, h, 0, "", mp("a")), "BadValue"},
		{"write op through read", request(callRead, h, 0, "insert", mp("a", 1)), "BadValue"},
		{"read op through exec", request(callExec, h, 0, "get", mp("a")), "BadValue"},
		{"apply without begin", request(callApply, h, 0, "insert", mp("a", 1)), "TxClosed"},
		{"commit without begin", request(callCommit, h, 0, "", nil), "TxClosed"},
		{"malformed args", request(callRead, h, 0, "get", []byte{0x91, 0xc1}), "BadValue"},
		{"hostile argument count", request(callExec, h, 0, "insert", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}), "BadValue"},
		{"remove of an absent key", request(callExec, h, 0, "remove", mp("nobody")), "NotFound"},
		{"short request", []byte{callRead, 1}, "BadValue"},
		{"unknown method", request(42, h, 0, "", nil), "BadValue"},
	}
	for _, c := range cases {
		out := tb.b.call(make([]byte, 4), c.req)
		r := v2reply{status: out[4], body: out[5:]}
		e := r.err()
		if e == nil || e["code"] != c.code {
			t.Errorf("%s: reply status %d %v, want code %s", c.what, r.status, e, c.code)
			continue
		}
		if msg, _ := e["message"].(string); len(msg) < 6 || msg[:6] != "dbrs: " {
			t.Errorf("%s: message %q", c.what, msg)
		}
	}
	// The handle is still usable after every error.
	if r := tb.v2(callExec, h, 0, "insert", mp("ok", 1)); r.status != replyCommit {
		t.Fatalf("exec after errors: %v", r.err())
	}
}

// exportCall frames its reply with the body's length and survives a
// request that claims more bytes than its buffer holds.
func TestV2_ExportFraming(t *testing.T) {
	prev := exported
	exported = nil
	defer func() { exported = prev }()
	addr := exportIn(16)
	if addr == 0 {
		t.Fatal("dbrs_in returned 0")
	}
	out := outBufAt(exportCall(uint32(len(inBuf) + 1)))
	if out.status != replyError || out.err()["code"] != "BadValue" {
		t.Fatalf("oversized request: status %d %v", out.status, out.err())
	}
	copy(inBuf, request(callRead, 1, 0, "get", mp("a")))
	out = outBufAt(exportCall(requestHeader + 3))
	if out.err()["code"] != "Internal" {
		t.Fatalf("call without a bridge: %v", out.err())
	}
}

// outBufAt reads the reply exportCall framed in outBuf.
func outBufAt(addr uint32) v2reply {
	_ = addr
	n := binary.LittleEndian.Uint32(outBuf)
	return v2reply{status: outBuf[4], body: outBuf[5 : 4+n]}
}

// position and shipped through the exports answer what the js.FuncOf
// methods of follower.go answer, in the layout exports.go specifies.
func TestV2_PositionAndShipped(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)
	defer tb.closeH(h)
	if got := tb.o.Get("calls").Int(); got != callShipped {
		t.Fatalf("calls = %d, want %d", got, callShipped)
	}
	if r := tb.call("tap", h); !r.IsUndefined() {
		t.Fatalf("tap: %v", r)
	}
	tb.put(h, "a", 1)
	tb.put(h, "b", 2)
	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin: %s", errCode(r))
	}
	tb.apply(h, "tags", "insert", mp("t", "x"))
	tb.apply(h, "owner", "insert", mp("me"))
	mustAwait(t, "commit", tb.call("commit", h))

	p := tb.v2(callPosition, h, 0, "", nil)
	want := tb.call("position", h)
	if p.status != replyPosition || len(p.body) != 16 {
		t.Fatalf("position: status %d body % x %v", p.status, p.body, p.err())
	}
	f64 := func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }
	if f64(p.body) != want.Index(0).Float() || f64(p.body[8:]) != want.Index(1).Float() {
		t.Fatalf("position [%v %v], want [%v %v]", f64(p.body), f64(p.body[8:]), want.Index(0), want.Index(1))
	}

	r := tb.v2(callShipped, h, 0, "", nil)
	if r.status != replyShipped {
		t.Fatalf("shipped: status %d %v", r.status, r.err())
	}
	b := r.body
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if n != 3 {
		t.Fatalf("%d commits shipped, want 3", n)
	}
	wantTables := [][]uint16{{0}, {0}, {2, 3}} // kv; kv; owner and tags, by index in testTables
	var end float64
	for i := range int(n) {
		seg, off, stop := f64(b), f64(b[8:]), f64(b[16:])
		rl := int(binary.LittleEndian.Uint32(b[24:]))
		rec := b[28 : 28+rl]
		b = b[28+rl:]
		nt := int(binary.LittleEndian.Uint16(b))
		var tables []uint16
		for j := range nt {
			tables = append(tables, binary.LittleEndian.Uint16(b[2+2*j:]))
		}
		b = b[2+2*nt:]
		if seg != want.Index(0).Float() || stop-off != float64(rl) || (i > 0 && off != end) {
			t.Fatalf("commit %d: segment %v offset %v end %v with a %d-byte record", i, seg, off, stop, rl)
		}
		slices.Sort(tables)
		if !slices.Equal(tables, wantTables[i]) {
			t.Fatalf("commit %d wrote tables %v, want %v", i, tables, wantTables[i])
		}
		if len(rec) == 0 {
			t.Fatalf("commit %d: empty record", i)
		}
		end = stop
	}
	if len(b) != 0 || end != want.Index(1).Float() {
		t.Fatalf("%d bytes left over; last commit ends at %v, position %v", len(b), end, want.Index(1))
	}
	// Taken: the next call has none, and neither has the js.FuncOf method.
	if r := tb.v2(callShipped, h, 0, "", nil); r.status != replyShipped || !slices.Equal(r.body, []byte{0, 0, 0, 0}) {
		t.Fatalf("shipped again: status %d body % x", r.status, r.body)
	}
	if cs := tb.shippedCommits(h); len(cs) != 0 {
		t.Fatalf("%d commits shipped again", len(cs))
	}
}

// runnableGoroutines returns how many goroutines are ready to run but not
// running (js/wasm has one thread: the caller is the one running).
func runnableGoroutines() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 1 // unknown to this runtime: assume the worst
	}
	return s[0].Value.Uint64()
}

// dbrs_run returns only once no goroutine is runnable. Here the settler a
// commit woke runs first (so no settler counts as woken any more), blocks
// on the backend's flush lock, and becomes runnable again when the lock is
// released, as when an export releases a lock the settler waits for. Go runs a
// goroutine only while JS has called into it, so a dbrs_run that returned
// then left the commit unflushed until some unrelated event.
func TestV2_RunLeavesNoGoroutineRunnable(t *testing.T) {
	tb := newTestBridge(t)
	settles := tb.recordSettles()
	h := tb.open(newDBName(t))
	defer tb.closeH(h)
	tb.serveExports()
	exportRun()
	tb.b.mu.Lock()
	backend := tb.b.handles[h].backend
	tb.b.mu.Unlock()

	backend.flushMu.Lock()
	c := tb.v2(callExec, h, 0, "insert", mp("a", 1))
	if c.status != replyCommit {
		backend.flushMu.Unlock()
		t.Fatalf("exec: status %d %v", c.status, c.err())
	}
	// Let the settler run until it waits for the lock.
	for deadline := time.Now().Add(10 * time.Second); tb.b.woken.Load() != 0 || runnableGoroutines() != 0; {
		if time.Now().After(deadline) {
			backend.flushMu.Unlock()
			t.Fatalf("the settler did not run: woken %d, runnable %d", tb.b.woken.Load(), runnableGoroutines())
		}
		runtime.Gosched()
	}
	backend.flushMu.Unlock() // the settler is runnable again, and has run before
	exportRun()
	if n := runnableGoroutines(); n != 0 && !tb.b.wakeQueued.Load() {
		t.Fatalf("after dbrs_run: %d goroutines runnable, and no microtask wake queued", n)
	}
	if s := settles.next(t); s.h != h || s.seq != int(c.seq()) || s.code != "" {
		t.Fatalf("settle: %+v", s)
	}
}

// Once JS has called dbrs_run, a commit that finds the settler idle leaves
// its wake-up to the next dbrs_run instead of queueing a microtask, and
// that dbrs_run lets the settler flush and settle it.
func TestV2_RunWakesTheSettler(t *testing.T) {
	tb := newTestBridge(t)
	settles := tb.recordSettles()
	h := tb.open(newDBName(t))
	defer tb.closeH(h)
	tb.serveExports()
	exportRun() // what the shim does when it starts
	if !tb.b.driven.Load() || tb.b.woken.Load() != 0 {
		t.Fatalf("after the first run: driven %v, woken %d", tb.b.driven.Load(), tb.b.woken.Load())
	}
	c := tb.v2(callExec, h, 0, "insert", mp("a", 1))
	if c.status != replyCommit {
		t.Fatalf("exec: status %d %v", c.status, c.err())
	}
	if tb.b.woken.Load() != 1 || tb.b.wakeQueued.Load() {
		t.Fatalf("after a commit: woken %d (want 1), microtask queued %v (want false)", tb.b.woken.Load(), tb.b.wakeQueued.Load())
	}
	exportRun()
	if n := tb.b.woken.Load(); n != 0 && !tb.b.wakeQueued.Load() {
		t.Fatalf("after run: %d settlers woken and not run, and no microtask queued", n)
	}
	if s := settles.next(t); s.h != h || s.seq != int(c.seq()) || s.code != "" {
		t.Fatalf("settle: %+v", s)
	}
}

// With the shim's flush function on the bridge object (here one written in
// Go to the same contract), a flush issues its transaction through it, and
// the transaction's completion reaches Go through dbrs_flushed, which runs
// the settler until the commit is settled before it returns. The commit's
// bytes are in IndexedDB under the keys the chunk table gave.
func TestV2_ShimFlushCompletesThroughExport(t *testing.T) {
	tb := newTestBridge(t)
	settles := tb.recordSettles()
	name := newDBName(t)
	h := tb.open(name)
	tb.serveExports()
	var calls, completions int
	var complete js.Func
	flush := js.FuncOf(func(_ js.Value, a []js.Value) any {
		calls++
		db, store, opts, onAbort := a[0], a[1], a[2], a[3]
		token, at, n := uint32(a[4].Int()), a[5].Int(), a[6].Int()
		table := memory(at, 24*n)
		tx := db.Call("transaction", store, "readwrite", opts)
		os := tx.Call("objectStore", store)
		for r := table; len(r) > 0; r = r[24:] {
			seg := math.Float64frombits(binary.LittleEndian.Uint64(r))
			off := math.Float64frombits(binary.LittleEndian.Uint64(r[8:]))
			p, l := binary.LittleEndian.Uint32(r[16:]), binary.LittleEndian.Uint32(r[20:])
			v := jsUint8Array.New(int(l))
			js.CopyBytesToJS(v, memory(int(p), int(l)))
			os.Call("put", v, jsArray.New(seg, off))
		}
		complete = js.FuncOf(func(js.Value, []js.Value) any {
			completions++
			exportFlushed(token)
			return nil
		})
		tx.Set("oncomplete", complete)
		tx.Set("onabort", onAbort)
		if a[7].Bool() {
			return tx.Get("durability")
		}
		return nil
	})
	defer flush.Release()
	tb.o.Set("flush", flush)
	t.Cleanup(func() { jsShimFlush = js.Undefined() })
	exportRun() // what the shim does when it starts: it takes flush
	if jsShimFlush.Type() != js.TypeFunction {
		t.Fatal("dbrs_run did not take the bridge object's flush")
	}

	c := tb.v2(callExec, h, 0, "insert", mp("a", 1))
	if c.status != replyCommit {
		t.Fatalf("exec: status %d %v", c.status, c.err())
	}
	exportRun()
	if s := settles.next(t); s.h != h || s.seq != int(c.seq()) || s.code != "" {
		t.Fatalf("settle: %+v", s)
	}
	complete.Release()
	if calls == 0 || completions != calls {
		t.Fatalf("flush called %d times, completed %d times", calls, completions)
	}
	tb.closeH(h)

	h = tb.open(name)
	defer tb.closeH(h)
	if r := tb.v2(callRead, h, 0, "get", mp("a")); r.status != replyBytes || !slices.Equal(r.body, mpv(1)) {
		t.Fatalf("after reopen: status %d body % x", r.status, r.body)
	}
}

// memory returns n bytes of wasm linear memory at address at.
func memory(at, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), at)), n)
}
