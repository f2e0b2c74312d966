//go:build js && wasm

package wasm

import (
	"bytes"
	"syscall/js"
	"testing"
)

// openFollower opens name read-only on tb's bridge, as a follower tab does.
func (tb *testBridge) openFollower(name string) int {
	tb.t.Helper()
	v := mustAwait(tb.t, "open follower", tb.call("open", name, testTables, map[string]any{"follower": true}))
	return v.Int()
}

// shippedCommits returns what the leader's tap has queued.
func (tb *testBridge) shippedCommits(h int) []js.Value {
	tb.t.Helper()
	v := tb.call("shipped", h)
	if isError(v) {
		tb.t.Fatalf("shipped: %s", errCode(v))
	}
	out := make([]js.Value, v.Length())
	for i := range out {
		out[i] = v.Index(i)
	}
	return out
}

func (tb *testBridge) applyShipped(h int, c js.Value) js.Value {
	return tb.call("applyCommit", h, c.Get("segment"), c.Get("offset"), c.Get("record"))
}

// A follower opens read-only: it writes nothing to IndexedDB (even when a
// scratch transaction's commit is tried), and opening a database that does
// not exist creates nothing.
func TestFollower_OpenWritesNothing(t *testing.T) {
	leader, follower := newTestBridge(t), newTestBridge(t)
	name := newDBName(t)
	lh := leader.open(name)
	leader.put(lh, "a", 1)
	fh := follower.openFollower(name)
	if got := follower.get(fh, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("follower reads a = %x", got)
	}
	if r := follower.call("begin", fh); !r.IsNull() {
		t.Fatalf("scratch begin: %s", errCode(r))
	}
	if r := follower.apply(fh, "kv", "insert", mp("b", 2)); !r.IsNull() {
		t.Fatalf("scratch apply: %s", errCode(r))
	}
	if got := follower.get(fh, "b"); !bytes.Equal(got, mpv(2)) {
		t.Fatalf("a scratch transaction does not see its write: %x", got)
	}
	_, rej := await(t, follower.call("commit", fh))
	wantCode(t, "follower commit", rej, "ReadOnly")
	if got := follower.get(fh, "b"); got != nil {
		t.Fatalf("a refused scratch commit left b = %x", got)
	}
	mustAwait(t, "catchUp", follower.call("catchUp", fh))
	st := follower.b.lookup(fh).backend.Stats()
	if st.Appends != 0 || st.Flushes != 0 || st.Installs != 0 {
		t.Fatalf("a follower wrote to IndexedDB: %+v", st)
	}
	follower.closeH(fh)
	leader.closeH(lh)

	missing := newDBName(t)
	for range 2 { // the second open proves that the first created nothing
		_, rej := await(t, follower.call("open", missing, testTables, map[string]any{"follower": true}))
		if rej.IsUndefined() {
			t.Fatal("a follower opened a database that does not exist")
		}
	}
}

// The leader's tapped commits, applied by a follower, give it the
// leader's state; a duplicate and a gap are refused with their codes,
// catchUp fills a gap from IndexedDB, and after a compaction catchUp
// reopens.
func TestFollower_ShippedCommitsGapsAndCompaction(t *testing.T) {
	leader, follower := newTestBridge(t), newTestBridge(t)
	name := newDBName(t)
	lh := leader.open(name)
	defer leader.closeH(lh)
	fh := follower.openFollower(name)
	defer follower.closeH(fh)
	if r := leader.call("tap", lh); !r.IsUndefined() {
		t.Fatalf("tap: %v", r)
	}
	leader.put(lh, "a", 1)
	leader.put(lh, "b", 2)
	cs := leader.shippedCommits(lh)
	if len(cs) != 2 {
		t.Fatalf("%d commits shipped, want 2", len(cs))
	}
	for _, c := range cs {
		r := follower.applyShipped(fh, c)
		if isError(r) || r.Length() != 1 || r.Index(0).String() != "kv" {
			t.Fatalf("applyCommit: %s %v", errCode(r), r)
		}
	}
	wantCode(t, "applied again", follower.applyShipped(fh, cs[0]), "Duplicate")
	if got := follower.get(fh, "b"); !bytes.Equal(got, mpv(2)) {
		t.Fatalf("follower b = %x", got)
	}
	lp, fp := leader.call("position", lh), follower.call("position", fh)
	if lp.Index(0).Int() != fp.Index(0).Int() || lp.Index(1).Int() != fp.Index(1).Int() {
		t.Fatal("follower and leader stand at different positions")
	}

	leader.put(lh, "c", 3)
	leader.put(lh, "d", 4)
	cs = leader.shippedCommits(lh)
	wantCode(t, "skipping a commit", follower.applyShipped(fh, cs[1]), "Gap")
	wantCode(t, "hostile segment", follower.call("applyCommit", fh, -1, 0, u8(nil)), "BadValue")
	wantCode(t, "hostile record", follower.call("applyCommit", fh, cs[0].Get("segment"), cs[0].Get("offset"), u8([]byte{1, 2, 3})), "Corrupt")
	r := mustAwait(t, "catchUp", follower.call("catchUp", fh))
	if r.Get("reopened").Bool() || r.Get("changes").Length() != 2 {
		t.Fatalf("catchUp: reopened %v, %d changes, want 2", r.Get("reopened"), r.Get("changes").Length())
	}
	if got := follower.get(fh, "d"); !bytes.Equal(got, mpv(4)) {
		t.Fatalf("follower d = %x after catching up", got)
	}

	mustAwait(t, "compact", leader.call("compact", lh))
	leader.put(lh, "e", 5)
	r = mustAwait(t, "catchUp after compaction", follower.call("catchUp", fh))
	if !r.Get("reopened").Bool() {
		t.Fatal("catchUp after a compaction did not reopen")
	}
	if got := follower.get(fh, "e"); !bytes.Equal(got, mpv(5)) {
		t.Fatalf("follower e = %x after reopening", got)
	}
}

// A follower promoted once the leader closed writes, and its writes are
// in the log.
func TestFollower_Promote(t *testing.T) {
	leader, follower := newTestBridge(t), newTestBridge(t)
	name := newDBName(t)
	lh := leader.open(name)
	fh := follower.openFollower(name)
	leader.put(lh, "a", 1)
	leader.closeH(lh)
	mustAwait(t, "promote", follower.call("promote", fh))
	if got := follower.get(fh, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("promoted a = %x", got)
	}
	follower.put(fh, "b", 2)
	_, rej := await(t, follower.call("promote", fh))
	wantCode(t, "promote twice", rej, "ReadOnly")
	follower.closeH(fh)

	again := newTestBridge(t)
	h := again.open(name)
	defer again.closeH(h)
	if got := again.get(h, "b"); !bytes.Equal(got, mpv(2)) {
		t.Fatalf("reopened b = %x", got)
	}
}
