//go:build js && wasm

package wasm

// Tests of the bridge, calling it as the shim does: its asynchronous
// methods through syscall/js, and the per-op calls through protocol 2's
// request buffer (see tb.call). They run in a browser: see e2e/setup.sh, then
//
//	GOOS=js GOARCH=wasm go test -exec "$PWD/bin/wasmbrowsertest" ./platform/wasm/

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/vmihailenco/msgpack/v5"
)

// mp encodes vals as one msgpack array, integers in their shortest form,
// as the shim does.
func mp(vals ...any) []byte {
	if vals == nil {
		vals = []any{}
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(vals); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// mpv encodes one value.
func mpv(v any) []byte {
	b := mp(v)
	return b[1:] // drop the fixarray(1) header
}

func u8(b []byte) js.Value { return toBytesJS(b) }

func goBytes(v js.Value) []byte {
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b
}

// testBridge is a fresh bridge and its JS object.
type testBridge struct {
	t *testing.T
	b *Bridge
	o js.Value

	mu      sync.Mutex
	pending map[[2]int]*pendingCommit // commits not yet settled, by handle and seq
}

type pendingCommit struct {
	pr      *promise
	result  js.Value
	settled bool // onSettle came before the commit was registered
	err     js.Value
}

func newTestBridge(t *testing.T) *testBridge {
	b := NewBridge()
	tb := &testBridge{t: t, b: b, o: b.obj, pending: map[[2]int]*pendingCommit{}}
	f := js.FuncOf(func(_ js.Value, a []js.Value) any {
		tb.settled([2]int{a[0].Int(), a[1].Int()}, a[2])
		return nil
	})
	t.Cleanup(f.Release)
	tb.o.Set("onSettle", f)
	return tb
}

func (tb *testBridge) settled(key [2]int, err js.Value) {
	tb.mu.Lock()
	p := tb.pending[key]
	if p == nil || p.pr == nil {
		tb.pending[key] = &pendingCommit{settled: true, err: err}
		tb.mu.Unlock()
		return
	}
	delete(tb.pending, key)
	tb.mu.Unlock()
	if err.IsNull() {
		p.pr.ok(p.result)
	} else {
		p.pr.failJS(err)
	}
}

// call calls method m with args as the shim does: the per-op methods read,
// apply, begin, commit, rollback and exec through protocol 2 (as
// js/src/wasm.ts does; a commit's Promise settles through onSettle), and
// every other method on the bridge object. Results are the JS values the
// shim sees. exec takes a batch here, for the tests' convenience: one op is one
// auto-commit, several are a transaction rolled back at the first error,
// as the shim's transaction does.
func (tb *testBridge) call(m string, args ...any) js.Value {
	switch m {
	case "read", "apply":
		h, table, op := argHandle(jsArgs(args), 0), args[1].(string), args[2].(string)
		method := byte(callRead)
		if m == "apply" {
			method = callApply
		}
		return tb.replyJS(h, tb.b.call(make([]byte, 4), request(method, h, tb.tableIndex(h, table), op, goBytes(js.ValueOf(args[3])))), js.Undefined())
	case "begin", "rollback", "commit":
		h := argHandle(jsArgs(args), 0)
		method := map[string]byte{"begin": callBegin, "rollback": callRollback, "commit": callCommit}[m]
		return tb.replyJS(h, tb.b.call(make([]byte, 4), request(method, h, 0, "", nil)), js.Undefined())
	case "exec":
		return tb.exec(argHandle(jsArgs(args), 0), goBytes(js.ValueOf(args[1])))
	}
	return tb.o.Call(m, args...)
}

func jsArgs(args []any) []js.Value {
	out := make([]js.Value, len(args))
	for i, a := range args {
		out[i] = js.ValueOf(a)
	}
	return out
}

// tableIndex is the index of table in the handle's open() tables, or one
// past them for a table the handle lacks.
func (tb *testBridge) tableIndex(h int, table string) int {
	if hd := tb.b.lookup(h); hd != nil {
		if i := slices.Index(hd.order, table); i >= 0 {
			return i
		}
		return len(hd.order)
	}
	return 0
}

// replyJS turns a protocol 2 reply into the JS value the shim returns: a
// result, an Error, or for a commit a Promise that settles with result.
func (tb *testBridge) replyJS(h int, out []byte, result js.Value) js.Value {
	status, body := out[4], out[5:] // Bridge.call leaves the length to exportCall
	switch status {
	case replyNull:
		return js.Null()
	case replyBytes:
		return u8(body)
	case replyNumber:
		return js.ValueOf(math.Float64frombits(binary.LittleEndian.Uint64(body)))
	case replyFalse, replyTrue:
		return js.ValueOf(status == replyTrue)
	case replyCommit:
		seq := int(math.Float64frombits(binary.LittleEndian.Uint64(body)))
		if len(body) > 8 && result.IsUndefined() {
			result = u8(body[8:])
		}
		pr := newPromise()
		key := [2]int{h, seq}
		tb.mu.Lock()
		if p := tb.pending[key]; p != nil && p.settled {
			delete(tb.pending, key)
			tb.mu.Unlock()
			if p.err.IsNull() {
				pr.ok(result)
			} else {
				pr.failJS(p.err)
			}
			return pr.p
		}
		tb.pending[key] = &pendingCommit{pr: pr, result: result}
		tb.mu.Unlock()
		return pr.p
	case replyError:
		var f map[string]any
		if err := msgpack.Unmarshal(body, &f); err != nil {
			tb.t.Fatalf("undecodable error reply: %v", err)
		}
		e := jsError.New(f["message"])
		for k, v := range f {
			if k != "message" {
				e.Set(k, v)
			}
		}
		return e
	}
	tb.t.Fatalf("unknown reply status %d", status)
	return js.Undefined()
}

// exec runs a batch [[table, op, args], ...]: one op as one auto-commit,
// several as begin, apply each, commit, rolling back at the first error.
// The Promise resolves to the array of the ops' results.
func (tb *testBridge) exec(h int, batch []byte) js.Value {
	var ops []struct {
		_msgpack struct{} `msgpack:",as_array"`
		Table    string
		Op       string
		Args     msgpack.RawMessage
	}
	if err := msgpack.Unmarshal(batch, &ops); err != nil {
		tb.t.Fatalf("exec: bad test batch: %v", err)
	}
	if len(ops) == 1 {
		o := ops[0]
		return tb.replyJS(h, tb.b.call(make([]byte, 4), request(callExec, h, tb.tableIndex(h, o.Table), o.Op, o.Args)), js.Undefined())
	}
	if r := tb.call("begin", h); !r.IsNull() {
		return r
	}
	results := []byte{}
	for _, o := range ops {
		r := tb.call("apply", h, o.Table, o.Op, u8(o.Args))
		if isError(r) {
			tb.call("rollback", h)
			return r
		}
		if r.IsNull() {
			results = append(results, 0xc0)
		} else {
			results = append(results, goBytes(r)...)
		}
	}
	out := tb.b.call(make([]byte, 4), request(callCommit, h, 0, "", nil))
	return tb.replyJS(h, out, u8(append(mpArrayHeader(nil, len(ops)), results...)))
}

// mpArrayHeader appends a msgpack array header for n elements.
func mpArrayHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, 0x90|byte(n))
	}
	return append(dst, 0xdc, byte(n>>8), byte(n))
}

func isError(v js.Value) bool { return v.Type() == js.TypeObject && v.InstanceOf(jsError) }

func errCode(v js.Value) string {
	if !isError(v) {
		return ""
	}
	return v.Get("code").String()
}

// await waits for the Promise p and returns its value, or the rejection.
func await(t *testing.T, p js.Value) (val js.Value, rejection js.Value) {
	t.Helper()
	if isError(p) {
		return js.Undefined(), p
	}
	if !p.InstanceOf(jsPromise) {
		t.Fatalf("not a Promise: %v", p)
	}
	type out struct {
		ok bool
		v  js.Value
	}
	ch := make(chan out, 1)
	ok := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- out{true, arg(a, 0)}; return nil })
	bad := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- out{false, arg(a, 0)}; return nil })
	defer ok.Release()
	defer bad.Release()
	p.Call("then", ok, bad)
	select {
	case o := <-ch:
		if o.ok {
			return o.v, js.Undefined()
		}
		return js.Undefined(), o.v
	case <-time.After(20 * time.Second):
		t.Fatal("Promise did not settle in 20s")
	}
	return
}

// mustAwait waits for p and fails the test if it rejects.
func mustAwait(t *testing.T, what string, p js.Value) js.Value {
	t.Helper()
	v, rej := await(t, p)
	if !rej.IsUndefined() {
		t.Fatalf("%s rejected: %s (%s)", what, errCode(rej), rej.Get("message").String())
	}
	return v
}

// wantCode checks that v is a bridge Error with code.
func wantCode(t *testing.T, what string, v js.Value, code string) {
	t.Helper()
	if got := errCode(v); got != code {
		msg := ""
		if isError(v) {
			msg = v.Get("message").String()
		}
		t.Fatalf("%s: code %q (%s), want %q", what, got, msg, code)
	}
	if msg := v.Get("message").String(); len(msg) < 6 || msg[:6] != "dbrs: " {
		t.Errorf("%s: message %q does not start with \"dbrs: \"", what, msg)
	}
}

var testTables = []any{
	map[string]any{"name": "kv", "kind": "lookup_table"},
	map[string]any{"name": "log", "kind": "list"},
	map[string]any{"name": "tags", "kind": "lookup_set"},
	map[string]any{"name": "owner", "kind": "single"},
}

func (tb *testBridge) open(name string) int {
	tb.t.Helper()
	v := mustAwait(tb.t, "open", tb.call("open", name, testTables, map[string]any{"durability": "strict"}))
	return v.Int()
}

func (tb *testBridge) closeH(h int) {
	tb.t.Helper()
	mustAwait(tb.t, "close", tb.call("close", h))
}

// read calls read and fails on an Error.
func (tb *testBridge) read(h int, table, op string, args []byte) js.Value {
	tb.t.Helper()
	v := tb.call("read", h, table, op, u8(args))
	if isError(v) {
		tb.t.Fatalf("read %s.%s: %s %s", table, op, errCode(v), v.Get("message").String())
	}
	return v
}

// get returns kv[k] as Go bytes, or nil when absent.
func (tb *testBridge) get(h int, k string) []byte {
	tb.t.Helper()
	v := tb.read(h, "kv", "get", mp(k))
	if v.IsNull() {
		return nil
	}
	return goBytes(v)
}

func (tb *testBridge) apply(h int, table, op string, args []byte) js.Value {
	return tb.call("apply", h, table, op, u8(args))
}

// put runs kv.insert(k, v) as its own transaction and waits for it.
func (tb *testBridge) put(h int, k string, v any) {
	tb.t.Helper()
	if r := tb.call("begin", h); !r.IsNull() {
		tb.t.Fatalf("begin: %s", errCode(r))
	}
	if r := tb.apply(h, "kv", "insert", mp(k, v)); !r.IsNull() {
		tb.t.Fatalf("apply: %s", errCode(r))
	}
	mustAwait(tb.t, "commit", tb.call("commit", h))
}

func (tb *testBridge) stats(h int) map[string]float64 {
	tb.t.Helper()
	v := tb.call("stats", h)
	if v.Type() != js.TypeString {
		tb.t.Fatalf("stats: %v", v)
	}
	var m map[string]float64
	if err := json.Unmarshal([]byte(v.String()), &m); err != nil {
		tb.t.Fatalf("stats %s: %v", v.String(), err)
	}
	return m
}

func TestBridge_Object(t *testing.T) {
	tb := newTestBridge(t)
	if p := tb.o.Get("protocol").Int(); p != 2 {
		t.Errorf("protocol = %d", p)
	}
	if v := tb.o.Get("version").String(); v == "" {
		t.Error("no version")
	}
	for _, m := range []string{"open", "writable", "compact", "stats", "close", "exportLog", "importLog", "deleteDatabase"} {
		if tb.o.Get(m).Type() != js.TypeFunction {
			t.Errorf("%s is not a function", m)
		}
	}
}

func TestBridge_ReadWriteReopen(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)

	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin = %v", errCode(r))
	}
	for _, op := range []struct {
		table, op string
		args      []byte
	}{
		{"kv", "insert", mp("a", 1)},
		{"kv", "insert", mp("b", map[string]any{"name": "Bee"})},
		{"log", "push", mp("first")},
		{"log", "push", mp("second")},
		{"tags", "insert", mp("a", "x")},
		{"tags", "insert", mp("a", "y")},
		{"owner", "insert", mp("me")},
	} {
		if r := tb.apply(h, op.table, op.op, op.args); !r.IsNull() {
			t.Fatalf("apply %s.%s = %v %s", op.table, op.op, r, errCode(r))
		}
	}
	// Reads inside the transaction see its writes.
	if got := tb.get(h, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("get a in tx = %x", got)
	}
	p := tb.call("commit", h)
	// The commit is visible at once, before it is durable.
	if got := tb.read(h, "log", "len", mp()).Int(); got != 2 {
		t.Fatalf("len after commit = %d", got)
	}
	mustAwait(t, "commit", p)

	// Pop returns the stored bytes; has/len/keys/all encode as specified.
	tb.call("begin", h)
	if r := tb.apply(h, "log", "pop", mp()); !bytes.Equal(goBytes(r), mpv("second")) {
		t.Fatalf("pop = %v", r)
	}
	mustAwait(t, "commit", tb.call("commit", h))
	if !tb.read(h, "kv", "has", mp("b")).Bool() || tb.read(h, "kv", "has", mp("zz")).Bool() {
		t.Fatal("has")
	}
	if got := goBytes(tb.read(h, "kv", "keys", mp())); !bytes.Equal(got, mpv([]any{"a", "b"})) {
		t.Fatalf("keys = %x", got)
	}
	entries := goBytes(tb.read(h, "kv", "entries", mp()))
	want := append(append([]byte{0x94}, mpv("a")...), mpv(1)...)
	want = append(append(want, mpv("b")...), mpv(map[string]any{"name": "Bee"})...)
	if !bytes.Equal(entries, want) {
		t.Fatalf("entries = %x, want %x", entries, want)
	}
	if got := goBytes(tb.read(h, "tags", "get", mp("a"))); !bytes.Equal(got, mpv([]any{"x", "y"})) {
		t.Fatalf("tags.get = %x", got)
	}
	if v := tb.read(h, "log", "at", mp(5)); !v.IsNull() {
		t.Fatalf("at(5) = %v, want null", v)
	}
	st := tb.stats(h)
	for _, f := range []string{"records", "logBytes", "liveBytes", "compactions", "commits", "lastCommitMs", "syncs", "segments", "tornBytes", "openMs"} {
		if _, ok := st[f]; !ok {
			t.Errorf("stats lacks %s: %v", f, st)
		}
	}
	if st["commits"] != 2 {
		t.Errorf("commits = %v, want 2", st["commits"])
	}

	// Arguments longer than the bridge's scratch buffer.
	long := bytes.Repeat([]byte("x"), 5000)
	tb.put(h, string(long[:600]), string(long))
	if got := tb.get(h, string(long[:600])); !bytes.Equal(got, mpv(string(long))) {
		t.Fatalf("long value = %d bytes", len(got))
	}

	tb.closeH(h)
	wantCode(t, "read after close", tb.call("read", h, "kv", "get", u8(mp("a"))), "Closed")
	tb.closeH(h) // closing a closed handle resolves

	h2 := tb.open(name)
	if h2 == h {
		t.Fatal("handle reused")
	}
	if got := tb.get(h2, "b"); !bytes.Equal(got, mpv(map[string]any{"name": "Bee"})) {
		t.Fatalf("after reopen b = %x", got)
	}
	if got := goBytes(tb.read(h2, "log", "all", mp())); !bytes.Equal(got, mpv([]any{"first"})) {
		t.Fatalf("after reopen log = %x", got)
	}
	tb.closeH(h2)
}

func TestBridge_CommitQuotaRejectsAndUndoes(t *testing.T) {
	tb := newTestBridge(t)
	h := tb.open(newDBName(t))
	defer tb.closeH(h)
	tb.put(h, "kept", 1)

	tb.b.lookup(h).backend.FailNextWrite(ErrQuotaExceeded)
	tb.call("begin", h)
	tb.apply(h, "kv", "insert", mp("lost", 2))
	tb.apply(h, "kv", "insert", mp("kept", 3))
	p := tb.call("commit", h)
	if got := tb.get(h, "lost"); got == nil {
		t.Fatal("the commit is not visible before its durability")
	}
	_, rej := await(t, p)
	wantCode(t, "failed commit", rej, "Quota")
	if got := tb.get(h, "lost"); got != nil {
		t.Fatalf("after the failed commit lost = %x, want absent", got)
	}
	if got := tb.get(h, "kept"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("after the failed commit kept = %x, want the old value", got)
	}
	// The database goes on.
	tb.put(h, "after", 4)
	if got := tb.get(h, "after"); !bytes.Equal(got, mpv(4)) {
		t.Fatalf("after = %x", got)
	}

	// The same through exec.
	tb.b.lookup(h).backend.FailNextWrite(ErrAbort)
	p = tb.call("exec", h, u8(mp([]any{"kv", "insert", []any{"x", 5}})))
	_, rej = await(t, p)
	wantCode(t, "failed exec", rej, "Abort")
	if got := tb.get(h, "x"); got != nil {
		t.Fatalf("after the failed exec x = %x", got)
	}
	st := tb.stats(h)
	if st["failedCommits"] != 2 || st["commits"] != 2 {
		t.Errorf("stats after 2 good and 2 failed commits: %v", st)
	}
}

func TestBridge_BusyWhileTxOpen(t *testing.T) {
	tb := newTestBridge(t)
	h := tb.open(newDBName(t))
	defer tb.closeH(h)

	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin = %s", errCode(r))
	}
	wantCode(t, "second begin", tb.call("begin", h), "Busy")
	wantCode(t, "exec in tx", tb.call("exec", h, u8(mp([]any{"kv", "insert", []any{"a", 1}}))), "Busy")
	// stats inside a transaction must not block.
	if v := tb.call("stats", h); v.Type() != js.TypeString {
		t.Fatalf("stats in tx = %v", v)
	}

	w := tb.call("writable", h)
	settled := make(chan struct{})
	go func() {
		await(t, w)
		close(settled)
	}()
	select {
	case <-settled:
		t.Fatal("writable resolved while the transaction holds the lock")
	case <-time.After(50 * time.Millisecond):
	}
	if r := tb.call("rollback", h); !r.IsNull() {
		t.Fatalf("rollback = %s", errCode(r))
	}
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("writable did not resolve after rollback")
	}
	wantCode(t, "rollback without tx", tb.call("rollback", h), "TxClosed")
	wantCode(t, "commit without tx", tb.call("commit", h), "TxClosed")
	wantCode(t, "apply without tx", tb.apply(h, "kv", "insert", mp("a", 1)), "TxClosed")
	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin after rollback = %s", errCode(r))
	}
	// An empty transaction resolves.
	mustAwait(t, "empty commit", tb.call("commit", h))
}

func TestBridge_TransactionAllOrNothing(t *testing.T) {
	tb := newTestBridge(t)
	h := tb.open(newDBName(t))
	defer tb.closeH(h)
	tb.put(h, "a", 1)

	// The second op fails: nothing of the transaction stays, and the Error
	// comes back synchronously.
	r := tb.call("exec", h, u8(mp(
		[]any{"kv", "insert", []any{"b", 2}},
		[]any{"kv", "remove", []any{"missing"}},
		[]any{"kv", "insert", []any{"c", 3}},
	)))
	wantCode(t, "exec with a failing op", r, "NotFound")
	for _, k := range []string{"b", "c"} {
		if got := tb.get(h, k); got != nil {
			t.Fatalf("%s = %x after a failed exec", k, got)
		}
	}
	// The lock was released.
	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin after a failed exec = %s", errCode(r))
	}
	tb.call("rollback", h)

	// A good batch resolves to one result per op.
	p := tb.call("exec", h, u8(mp(
		[]any{"log", "push", []any{"p1"}},
		[]any{"log", "push", []any{"p2"}},
		[]any{"log", "pop", []any{}},
		[]any{"kv", "insert", []any{"b", 2}},
	)))
	if isError(p) {
		t.Fatalf("exec = %s", errCode(p))
	}
	if got := tb.get(h, "b"); !bytes.Equal(got, mpv(2)) {
		t.Fatalf("b = %x right after exec", got)
	}
	res := goBytes(mustAwait(t, "exec", p))
	want := append(append([]byte{0x94, 0xc0, 0xc0}, mpv("p2")...), 0xc0)
	if !bytes.Equal(res, want) {
		t.Fatalf("exec result %x, want %x", res, want)
	}

	// Malformed ops.
	for _, c := range []struct {
		name  string
		batch []byte
		code  string
	}{
		{"read op", mp([]any{"kv", "get", []any{"a"}}), "BadValue"},
		{"unknown table", mp([]any{"nope", "insert", []any{"a", 1}}), "UnknownTable"},
		{"unknown op", mp([]any{"kv", "push", []any{"a", 1}}), "BadValue"},
		{"wrong arg count", mp([]any{"kv", "insert", []any{"a"}}), "BadValue"},
	} {
		wantCode(t, c.name, tb.call("exec", h, u8(c.batch)), c.code)
	}
	if got := tb.get(h, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("a = %x after the bad batches", got)
	}
}

func TestBridge_Errors(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)

	wantCode(t, "unknown handle", tb.call("read", 999, "kv", "get", u8(mp("a"))), "Closed")
	wantCode(t, "begin unknown", tb.call("begin", 999), "Closed")
	wantCode(t, "stats unknown", tb.call("stats", 999), "Closed")
	_, rej := await(t, tb.call("compact", 999))
	wantCode(t, "compact unknown", rej, "Closed")
	_, rej = await(t, tb.call("writable", 999))
	wantCode(t, "writable unknown", rej, "Closed")
	wantCode(t, "unknown table", tb.call("read", h, "nope", "get", u8(mp("a"))), "UnknownTable")
	wantCode(t, "write op through read", tb.call("read", h, "kv", "insert", u8(mp("a", 1))), "BadValue")
	wantCode(t, "bad args bytes", tb.call("read", h, "kv", "get", u8([]byte{0x91})), "BadValue")
	wantCode(t, "wrong arg count", tb.call("read", h, "kv", "get", u8(mp())), "BadValue")

	tb.call("begin", h)
	wantCode(t, "read op through apply", tb.apply(h, "kv", "get", mp("a")), "BadValue")
	wantCode(t, "remove missing", tb.apply(h, "kv", "remove", mp("a")), "NotFound")
	wantCode(t, "pop empty", tb.apply(h, "log", "pop", mp()), "Empty")
	wantCode(t, "setAt out of range", tb.apply(h, "log", "setAt", mp(3, "x")), "Index")
	// A failed op leaves the transaction open and usable.
	if r := tb.apply(h, "kv", "insert", mp("a", 1)); !r.IsNull() {
		t.Fatalf("apply after failed ops = %s", errCode(r))
	}
	mustAwait(t, "commit", tb.call("commit", h))

	_, rej = await(t, tb.call("open", name, testTables, map[string]any{}))
	wantCode(t, "second open", rej, "Locked")
	_, rej = await(t, tb.call("deleteDatabase", name))
	wantCode(t, "delete while open", rej, "Locked")
	_, rej = await(t, tb.call("importLog", name, []any{}))
	wantCode(t, "import while open", rej, "Locked")
	tb.closeH(h)

	// The log now records kv as a lookup_table.
	_, rej = await(t, tb.call("open", name, []any{map[string]any{"name": "kv", "kind": "list"}, testTables[1], testTables[2], testTables[3]}, map[string]any{}))
	wantCode(t, "kind mismatch", rej, "Schema")
	_, rej = await(t, tb.call("open", name, []any{testTables[0]}, map[string]any{}))
	wantCode(t, "table missing from the schema", rej, "UnknownTable")
	_, rej = await(t, tb.call("open", name, []any{}, map[string]any{}))
	wantCode(t, "no tables", rej, "Schema")
	_, rej = await(t, tb.call("open", name, []any{testTables[0], testTables[0]}, map[string]any{}))
	wantCode(t, "duplicate tables", rej, "Schema")
	_, rej = await(t, tb.call("open", name, testTables, map[string]any{"durability": "eventually"}))
	wantCode(t, "bad durability", rej, "BadValue")
	// keepUnknownTables opens with a subset of the tables.
	v := mustAwait(t, "open keepUnknownTables", tb.call("open", name, []any{testTables[0]}, map[string]any{"keepUnknownTables": true}))
	if got := tb.get(v.Int(), "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("a = %x", got)
	}
	tb.closeH(v.Int())
}

func TestBridge_CommitOrder(t *testing.T) {
	tb := newTestBridge(t)
	h := tb.open(newDBName(t))
	defer tb.closeH(h)

	const n = 30
	var order []int
	done := make(chan struct{}, n)
	var fns []js.Func
	for i := range n {
		var p js.Value
		if i%3 == 2 {
			p = tb.call("exec", h, u8(mp([]any{"log", "push", []any{i}})))
		} else {
			tb.call("begin", h)
			tb.apply(h, "log", "push", mp(i))
			p = tb.call("commit", h)
		}
		f := js.FuncOf(func(js.Value, []js.Value) any {
			order = append(order, i) // runs on the JS thread
			done <- struct{}{}
			return nil
		})
		fns = append(fns, f)
		p.Call("then", f)
	}
	for range n {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("commits did not settle")
		}
	}
	for _, f := range fns {
		f.Release()
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("settle order %v", order)
		}
	}
	if st := tb.stats(h); st["commits"] != n || st["idbFlushMs"] <= 0 {
		t.Errorf("commits = %v, want %d; idbFlushMs = %v, want > 0", st["commits"], n, st["idbFlushMs"])
	}
}

func TestBridge_CompactExportImport(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)
	for i := range 20 {
		tb.put(h, "k", i)
	}
	tb.put(h, "other", "x")
	before := tb.stats(h)
	mustAwait(t, "compact", tb.call("compact", h))
	after := tb.stats(h)
	if after["compactions"] != 1 || after["logBytes"] >= before["logBytes"] {
		t.Fatalf("stats before %v, after compaction %v", before, after)
	}
	tb.put(h, "k", 99)

	segs := mustAwait(t, "exportLog", tb.call("exportLog", h))
	if segs.Length() < 1 {
		t.Fatalf("exportLog returned %d segments", segs.Length())
	}
	tb.closeH(h)

	copyName := newDBName(t)
	mustAwait(t, "importLog", tb.call("importLog", copyName, segs))
	h2 := tb.open(copyName)
	if got := tb.get(h2, "k"); !bytes.Equal(got, mpv(99)) {
		t.Fatalf("imported k = %x", got)
	}
	if got := tb.get(h2, "other"); !bytes.Equal(got, mpv("x")) {
		t.Fatalf("imported other = %x", got)
	}
	tb.closeH(h2)

	// Importing replaces everything that was there.
	mustAwait(t, "importLog empty", tb.call("importLog", copyName, []any{}))
	h3 := tb.open(copyName)
	if got := tb.get(h3, "k"); got != nil {
		t.Fatalf("after an empty import k = %x", got)
	}
	tb.closeH(h3)

	_, rej := await(t, tb.call("importLog", copyName, []any{map[string]any{"id": -1, "data": u8(nil)}}))
	wantCode(t, "bad segment id", rej, "BadValue")
	mustAwait(t, "deleteDatabase", tb.call("deleteDatabase", copyName))
	mustAwait(t, "deleteDatabase of a missing db", tb.call("deleteDatabase", copyName+"-never"))
}

func TestBridge_CloseRollsBackAndWaits(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)
	tb.call("begin", h)
	tb.apply(h, "kv", "insert", mp("a", 1))
	p := tb.call("commit", h)
	tb.call("begin", h)
	tb.apply(h, "kv", "insert", mp("open-tx", 1))
	c := tb.call("close", h)
	wantCode(t, "begin after close", tb.call("begin", h), "Closed")
	mustAwait(t, "close", c)
	// close resolved after the commit's Promise settled.
	mustAwait(t, "commit before close", p)
	h2 := tb.open(name)
	if got := tb.get(h2, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("a = %x", got)
	}
	if got := tb.get(h2, "open-tx"); got != nil {
		t.Fatal("the transaction left open at close was kept")
	}
	tb.closeH(h2)
}

func TestErrorCode(t *testing.T) {
	for _, c := range []struct {
		err        error
		code, want string
	}{
		{core.ErrNotFound, "NotFound", ""},
		{fmt.Errorf("x: %w", core.ErrIndex), "Index", ""},
		{core.ErrClosed, "Closed", ""},
		{&IDBError{Op: "flush", Name: "QuotaExceededError"}, "Quota", ""},
		{&IDBError{Op: "flush", Name: "AbortError"}, "Abort", ""},
		{&IDBError{Op: "flush", Name: "UnknownError"}, "IDBUnknown", ""},
		{&IDBError{Op: "flush", Name: "DataError"}, "IDB", ""},
		{&IDBError{Op: "flush", Err: errors.New("boom")}, "IDB", ""},
		{errors.Join(core.ErrPoisoned, &IDBError{Op: "flush", Name: "QuotaExceededError"}), "Poisoned", "Quota"},
		{&core.EntryError{Segment: 1, Err: core.ErrBadValue}, "BadEntry", ""},
		{&core.CorruptError{Segment: 3, Offset: 40}, "Corrupt", ""},
		{errors.New("something else"), "Internal", ""},
	} {
		e := toJSError(c.err)
		if got := e.Get("code").String(); got != c.code {
			t.Errorf("%v: code %s, want %s", c.err, got, c.code)
		}
		if c.want != "" {
			if got := e.Get("causeCode").String(); got != c.want {
				t.Errorf("%v: causeCode %s, want %s", c.err, got, c.want)
			}
		}
		if !e.InstanceOf(jsError) || e.Get("message").String()[:6] != "dbrs: " {
			t.Errorf("%v: not a dbrs Error: %v", c.err, e)
		}
	}
	e := toJSError(&core.CorruptError{Segment: 3, Offset: 40, Reason: "bad CRC"})
	if e.Get("segment").Int() != 3 || e.Get("offset").Int() != 40 {
		t.Errorf("corrupt segment/offset = %v/%v", e.Get("segment"), e.Get("offset"))
	}
}

func TestBridge_PanicIsInternal(t *testing.T) {
	f := syncMethod(func([]js.Value) any { panic("boom") })
	defer f.Release()
	wantCode(t, "panicking sync method", f.Invoke(), "Internal")
	//lint:ignore SA5000 the panic is the point
	g := promiseMethod(func([]js.Value) any { var m map[string]int; m["x"] = 1; return nil })
	defer g.Release()
	_, rej := await(t, g.Invoke())
	wantCode(t, "panicking promise method", rej, "Internal")
}
