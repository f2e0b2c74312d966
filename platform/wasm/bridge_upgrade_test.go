//go:build js && wasm

package wasm

import (
	"maps"
	"syscall/js"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// upgradeCall is one call of open's onUpgrade.
type upgradeCall struct {
	id, from, to int
	tables       []string
}

// openUpgrading starts open(name, tables, {version, onUpgrade}) and returns
// its Promise and the call of onUpgrade, once it came.
func openUpgrading(t *testing.T, tb *testBridge, name string, tables []any, version int) (js.Value, upgradeCall) {
	t.Helper()
	ch := make(chan upgradeCall, 1)
	f := js.FuncOf(func(_ js.Value, a []js.Value) any {
		c := upgradeCall{id: a[0].Int(), from: a[1].Int(), to: a[2].Int()}
		for i := range a[3].Length() {
			c.tables = append(c.tables, a[3].Index(i).Get("name").String())
		}
		ch <- c
		return nil
	})
	t.Cleanup(f.Release)
	p := tb.call("open", name, tables, map[string]any{"version": version, "onUpgrade": f})
	select {
	case c := <-ch:
		return p, c
	case <-time.After(20 * time.Second):
		t.Fatal("onUpgrade was not called in 20s")
	}
	return p, upgradeCall{}
}

// TestBridge_Upgrade runs an upgrade through upgradeStep as the shim does:
// rename, elements, setValues, a failing step, finish; then the upgrade
// does not run again and an older version is refused. A finish with a
// message rejects the open and leaves the old version.
func TestBridge_Upgrade(t *testing.T) {
	tb := newTestBridge(t)
	h := tb.open("bridge-upgrade")
	tb.put(h, "a", 1)
	tb.put(h, "b", 2)
	tb.closeH(h)

	renamed := []any{
		map[string]any{"name": "kv2", "kind": "lookup_table"},
		map[string]any{"name": "log", "kind": "list"},
		map[string]any{"name": "owner", "kind": "single"},
	}

	// A failed upgrade: the open rejects, version 0 still opens.
	p, c := openUpgrading(t, tb, "bridge-upgrade", renamed, 3)
	if r := tb.call("upgradeStep", c.id, "drop", "tags"); !r.IsNull() {
		t.Fatalf("drop: %s", errCode(r))
	}
	tb.call("upgradeStep", c.id, "finish", "the shim's upgrade threw")
	if _, rej := await(t, p); rej.IsUndefined() || rej.Get("message").String() != "dbrs: upgrade from version 0 to 3: the shim's upgrade threw" {
		t.Fatalf("open after a failed upgrade: rejection %v", rej)
	}
	h = tb.open("bridge-upgrade")
	if got := tb.get(h, "a"); string(got) != string(mpv(1)) {
		t.Fatalf("kv[a] after a failed upgrade = % x", got)
	}
	tb.closeH(h)

	p, c = openUpgrading(t, tb, "bridge-upgrade", renamed, 3)
	if c.from != 0 || c.to != 3 || len(c.tables) != 4 {
		t.Fatalf("onUpgrade(%+v)", c)
	}
	step := func(args ...any) js.Value { return tb.call("upgradeStep", append([]any{c.id}, args...)...) }
	for _, s := range [][]any{{"rename", "kv", "kv2"}, {"drop", "tags"}} {
		if r := step(s...); !r.IsNull() {
			t.Fatalf("%v: %s", s, errCode(r))
		}
	}
	wantCode(t, "drop of a missing table", step("drop", "nope"), "UnknownTable")
	wantCode(t, "an unknown step", step("frobnicate"), "BadValue")
	els := step("elements", "kv2")
	if isError(els) {
		t.Fatalf("elements: %s", errCode(els))
	}
	var decoded [][]any // [[key], value]
	if err := msgpack.Unmarshal(goBytes(els), &decoded); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	var vals []any
	for _, e := range decoded {
		k := e[0].([]any)[0].(string)
		v := e[1].(int8)
		got[k] = int64(v)
		vals = append(vals, k+"!")
	}
	if !maps.Equal(got, map[string]int64{"a": 1, "b": 2}) {
		t.Fatalf("elements: %v", got)
	}
	wantCode(t, "setValues with one value short", step("setValues", "kv2", u8(mp(vals[:1]...))), "BadValue")
	if r := step("setValues", "kv2", u8(mp(vals...))); !r.IsNull() {
		t.Fatalf("setValues: %s", errCode(r))
	}
	if r := step("finish"); !r.IsNull() {
		t.Fatalf("finish: %s", errCode(r))
	}
	h = mustAwait(t, "open with the upgrade", p).Int()
	wantCode(t, "a step after finish", step("drop", "log"), "Closed")
	if v := tb.read(h, "kv2", "get", mp("b")); string(goBytes(v)) != string(mpv("b!")) {
		t.Fatalf("kv2[b] = % x", goBytes(v))
	}
	tb.closeH(h)

	// Upgraded once: version 3 opens without onUpgrade being needed, 2 is refused.
	v := mustAwait(t, "reopen at version 3", tb.call("open", "bridge-upgrade", renamed, map[string]any{"version": 3}))
	tb.closeH(v.Int())
	_, rej := await(t, tb.call("open", "bridge-upgrade", renamed, map[string]any{"version": 2}))
	wantCode(t, "open at version 2", rej, "Version")
	_, rej = await(t, tb.call("open", "bridge-upgrade", renamed, map[string]any{"version": -1}))
	wantCode(t, "open at version -1", rej, "BadValue")
}
