//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// openShimPage navigates to the blank shim page and waits for the module.
func openShimPage(t *testing.T, b *browser, base string) {
	t.Helper()
	b.run(t, chromedp.Navigate(base+"/e2e.html"))
	b.waitReady(t)
}

// TestShim_ThrowingTransactionLeavesNoTrace runs a transaction that writes
// and then throws: its writes are gone at once, in memory, and after a
// reload, and the log holds no record of it.
func TestShim_ThrowingTransactionLeavesNoTrace(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)

	type state struct {
		Err     string  `json:"err"`
		Boom    any     `json:"boom"`
		Keep    any     `json:"keep"`
		Len     int     `json:"len"`
		Records float64 `json:"records"`
		Bytes   float64 `json:"logBytes"`
	}
	const read = `
const d = window.db;
return { boom: d.tables.x.get('boom') ?? null, keep: d.tables.x.get('keep') ?? null, len: d.tables.l.len(),
  records: d.stats().records, logBytes: d.stats().logBytes };`
	const openDB = `window.db = await dbrs.open('tx-throws', { x: dbrs.lookupTable(), l: dbrs.list() });`

	var before, during, after, reloaded state
	b.js(t, openDB+`
await db.tables.x.insert('keep', 1);
await db.tables.l.push('one');`+read, &before)
	b.js(t, `
let err = '';
try {
  await db.transaction((tx) => {
    tx.x.insert('boom', 2);
    tx.x.insert('keep', 99);
    tx.l.push('two');
    tx.l.pop();
    tx.l.pop();
    throw new Error('boom');
  });
} catch (e) { err = e.message; }
const r = (() => {`+read+`})();
r.err = err;
return r;`, &during)
	if during.Err != "boom" {
		t.Fatalf("the transaction rejected with %q, want the thrown error", during.Err)
	}
	during.Err = ""
	if !reflect.DeepEqual(during, before) {
		t.Fatalf("after the throwing transaction: %+v, want %+v", during, before)
	}
	// The database still takes writes.
	b.js(t, `await db.tables.x.insert('after', 3); await db.close(); return null;`, nil)

	b.run(t, chromedp.Reload())
	b.waitReady(t)
	b.js(t, openDB+read, &reloaded)
	b.js(t, `return db.tables.x.get('after')`, &after.Keep)
	if reloaded.Boom != nil || reloaded.Keep != float64(1) || reloaded.Len != 1 {
		t.Fatalf("after a reload: %+v", reloaded)
	}
	if after.Keep != float64(3) {
		t.Fatalf("after a reload, the write after the failed transaction is %v", after.Keep)
	}
	// schema + 2 commits before, + 1 commit after; nothing of the failed one.
	if reloaded.Records != before.Records+1 {
		t.Errorf("the log has %v records after the reload, want %v", reloaded.Records, before.Records+1)
	}
}

// TestShim_BrowserRestartKeepsData writes through the shim, stops Chromium
// gracefully, starts it again on the same profile, and reads.
func TestShim_BrowserRestartKeepsData(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	b.js(t, `
const db = await dbrs.open('restart', { kv: dbrs.lookupTable(), order: dbrs.list() });
await db.transaction((tx) => {
  for (let i = 0; i < 100; i++) { tx.kv.insert('k' + i, { i, s: 'v' + i }); tx.order.push(i); }
});
await db.tables.kv.insert('last', 'durable');
return null;`, nil) // the database stays open: the browser is closed under it

	b.stop(t)
	b = startBrowser(t, b.UserDataDir)
	openShimPage(t, b, base)
	var got struct {
		K42   map[string]any `json:"k42"`
		Last  string         `json:"last"`
		Len   int            `json:"len"`
		Order []int          `json:"order"`
	}
	b.js(t, `
const db = await dbrs.open('restart', { kv: dbrs.lookupTable(), order: dbrs.list() });
return { k42: db.tables.kv.get('k42'), last: db.tables.kv.get('last'), len: db.tables.kv.entries().length, order: db.tables.order.all().slice(0, 5) };`, &got)
	if got.Last != "durable" || got.Len != 101 || got.K42["s"] != "v42" || got.K42["i"] != float64(42) || !reflect.DeepEqual(got.Order, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("after a browser restart: %+v", got)
	}
}

// nativeCard is a struct value written by Go and read in the browser. Its
// msgpack field names are the JS property names.
type nativeCard struct {
	Title  string   `msgpack:"title"`
	Points int64    `msgpack:"points"`
	Done   bool     `msgpack:"done"`
	Labels []string `msgpack:"labels"`
	Ratio  float64  `msgpack:"ratio"`
}

type nativeSchema struct {
	Cards  core.LookupTable[string, nativeCard]  `dbrs:"cards"`
	Tags   core.LookupSet[string, string]        `dbrs:"tags"`
	Order  core.List[string]                     `dbrs:"order"`
	Owner  core.Single[string]                   `dbrs:"owner"`
	Counts core.LookupTable[int64, int64]        `dbrs:"counts"`
	Grid   core.LookupMap[string, int64, string] `dbrs:"grid"`
	Hist   core.LookupList[string, int64]        `dbrs:"hist"`
}

const nativeTSSchema = `{
  cards: dbrs.lookupTable(), tags: dbrs.lookupSet(), order: dbrs.list(), owner: dbrs.single(),
  counts: dbrs.lookupTable(), grid: dbrs.lookupMap(), hist: dbrs.lookupList(),
}`

// segmentsJS renders segments as a JS array expression of {id, data}.
func segmentsJS(segs []core.Segment) string {
	var sb strings.Builder
	sb.WriteString("[")
	for _, s := range segs {
		sb.WriteString("{ id: " + itoa(int(s.ID)) + ", data: Uint8Array.from(atob('" + base64.StdEncoding.EncodeToString(s.Data) + "'), (c) => c.charCodeAt(0)) },")
	}
	sb.WriteString("]")
	return sb.String()
}

// TestShim_NativeLogOpensInBrowser writes a log with native Go code (a
// struct schema), imports its segments into the browser with the shim's
// importLog, opens it with a matching TS schema and compares the values.
// Then the reverse: the browser writes, exports, and Go opens the exported
// segments natively with the struct schema.
func TestShim_NativeLogOpensInBrowser(t *testing.T) {
	base := serveSite(t)

	dir := t.TempDir()
	db, err := native.Open[nativeSchema](dir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := int64(1) << 60
	err = db.Update(func(s *nativeSchema) error {
		for _, e := range []error{
			s.Cards.Insert("c1", nativeCard{Title: "Write docs", Points: 3, Labels: []string{"docs", "p1"}, Ratio: 0.5}),
			s.Cards.Insert("c2", nativeCard{Title: "Ünïcødé ✓", Points: -7, Done: true}),
			s.Tags.Insert("c1", "urgent"),
			s.Tags.Insert("c1", "core"),
			s.Order.Push("c2"),
			s.Order.Push("c1"),
			s.Owner.Insert("parth"),
			s.Counts.Insert(big, -big),
			s.Counts.Insert(5, 500),
			s.Grid.Insert("row", 1, "a"),
			s.Grid.Insert("row", 2, "b"),
			s.Hist.Push("h", 10),
			s.Hist.Push("h", 20),
		} {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Cards.Insert("c3", nativeCard{Title: "later"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Cards.Remove("c3"); err != nil {
		t.Fatal(err)
	}
	segs, err := db.Export()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got map[string]any
	b.js(t, `
await dbrs.importLog('from-go', `+segmentsJS(segs)+`);
const db = await dbrs.open('from-go', `+nativeTSSchema+`);
window.db = db;
const t = db.tables;
return {
  c1: t.cards.get('c1'), c2: t.cards.get('c2'), c3: t.cards.get('c3') ?? null,
  tags: t.tags.get('c1'), order: t.order.all(), owner: t.owner.get(),
  bigKey: String(t.counts.get(2n ** 60n)), bigType: typeof t.counts.get(2n ** 60n), five: t.counts.get(5),
  countKeys: t.counts.keys().map(String),
  grid: Object.fromEntries(t.grid.getInner('row')), hist: t.hist.get('h'),
};`, &got)
	want := map[string]any{
		"c1":        map[string]any{"title": "Write docs", "points": float64(3), "done": false, "labels": []any{"docs", "p1"}, "ratio": 0.5},
		"c2":        map[string]any{"title": "Ünïcødé ✓", "points": float64(-7), "done": true, "labels": nil, "ratio": float64(0)},
		"c3":        nil,
		"tags":      []any{"core", "urgent"},
		"order":     []any{"c2", "c1"},
		"owner":     "parth",
		"bigKey":    "-1152921504606846976",
		"bigType":   "bigint",
		"five":      float64(500),
		"countKeys": []any{"5", "1152921504606846976"},
		"grid":      map[string]any{"1": "a", "2": "b"},
		"hist":      []any{float64(10), float64(20)},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: the browser reads %#v, want %#v", k, got[k], w)
		}
	}

	// The reverse: the browser writes, exports; Go opens it natively.
	var exported []struct {
		ID   uint64 `json:"id"`
		Data string `json:"data"` // base64
	}
	b.js(t, `
const t = db.tables;
await db.transaction((tx) => {
  tx.cards.insert('js1', { title: 'from JS', points: 42, done: true, labels: ['x'], ratio: 1.25 });
  tx.cards.remove('c2');
  tx.tags.insert('js1', 'web');
  tx.order.push('js1');
  tx.owner.insert('browser');
  tx.counts.insert(-(2n ** 62n), 7);
  tx.grid.insert('row', 3, 'c');
  tx.hist.push('h', 30);
});
const segs = await db.exportLog();
await db.close();
const b64 = (u) => { let s = ''; for (const c of u) s += String.fromCharCode(c); return btoa(s); };
return segs.map((s) => ({ id: s.id, data: b64(s.data) }));`, &exported)

	dir2 := t.TempDir()
	nb, err := native.NewBackend(dir2, native.BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range exported {
		data, err := base64.StdEncoding.DecodeString(s.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := nb.Install(s.ID, [][]byte{data}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := nb.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := native.Open[nativeSchema](dir2, core.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open the browser's log natively: %v", err)
	}
	defer db2.Close()
	tb := db2.Tables
	if c, ok := tb.Cards.Get("js1"); !ok || !reflect.DeepEqual(c, nativeCard{Title: "from JS", Points: 42, Done: true, Labels: []string{"x"}, Ratio: 1.25}) {
		t.Errorf("js1 = %+v, %v", c, ok)
	}
	if c, ok := tb.Cards.Get("c1"); !ok || c.Title != "Write docs" || c.Points != 3 {
		t.Errorf("c1 = %+v, %v", c, ok)
	}
	if tb.Cards.Has("c2") {
		t.Error("c2 was removed in the browser")
	}
	if !tb.Tags.Has("js1", "web") || !tb.Tags.Has("c1", "core") {
		t.Error("tags")
	}
	if o, _ := tb.Owner.Get(); o != "browser" {
		t.Errorf("owner = %q", o)
	}
	if v, ok := tb.Counts.Get(-(int64(1) << 62)); !ok || v != 7 {
		t.Errorf("counts[-2^62] = %v, %v", v, ok)
	}
	if v, ok := tb.Counts.Get(big); !ok || v != -big {
		t.Errorf("counts[2^60] = %v, %v", v, ok)
	}
	if v, ok := tb.Grid.Get("row", 3); !ok || v != "c" {
		t.Errorf("grid[row][3] = %q, %v", v, ok)
	}
	if h := tb.Hist.Get("h"); !reflect.DeepEqual(h, []int64{10, 20, 30}) {
		t.Errorf("hist = %v", h)
	}
	if all := tb.Order.Slice(); !reflect.DeepEqual(all, []string{"c2", "c1", "js1"}) {
		t.Errorf("order = %v", all)
	}
}

// TestShim_TypeTests runs the shim's compile-time type tests (tsc --strict
// over js/test/types.test-d.ts, whose @ts-expect-error lines must fail).
func TestShim_TypeTests(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	jsDir := filepath.Join(root, "js")
	if err := npmCI(jsDir); err != nil {
		if !InCI() {
			t.Skipf("skipping: %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "run", "--silent", "typetest")
	cmd.Dir = jsDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm run typetest: %v\n%s", err, out.String())
	}
	t.Logf("tsc --noEmit --strict -p tsconfig.typetest.json passed in %v", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(jsDir, "test", "types.test-d.ts")); err != nil {
		t.Fatal(err)
	}
}

// TestShim_RollbackLetsWaitersRun rolls back a transaction while a
// compaction waits for its lock. Go runs goroutines only while JS has
// called into it, and a rollback makes no commit whose wake-up would run
// the compaction: the shim must let Go run after a rollback too, or the
// compaction's Promise waits for some unrelated later call.
func TestShim_RollbackLetsWaitersRun(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got string
	b.js(t, `
window.db = await dbrs.open('rollback-wakes', { x: dbrs.lookupTable() });
await db.tables.x.insert('a', 1);
let compacted;
try {
  await db.transaction((tx) => {
    tx.x.insert('b', 2);
    compacted = db.compact();
    throw new Error('boom');
  });
} catch (e) {}
// A timer does not call into Go: only the shim's wake-up can run it.
return await Promise.race([
  compacted.then(() => 'compacted', (e) => 'failed: ' + e.message),
  new Promise((res) => setTimeout(() => res('still waiting after 5 s'), 5000)),
]);`, &got)
	if got != "compacted" {
		t.Fatalf("compact() started inside a rolled-back transaction: %s", got)
	}
}

// TestShim_ManyCommitsInOneTurnSettle makes 2,000 commits in one JS turn
// and awaits them all. Before dbrs_run waited for every runnable goroutine,
// the settler could be left runnable with no event to run it (it had run
// once during the turn, then waited for a lock an export released), and
// every one of these commits waited forever.
func TestShim_ManyCommitsInOneTurnSettle(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got string
	b.js(t, `
const db = await dbrs.open('one-turn', { x: dbrs.lookupTable() }, { durability: 'relaxed' });
const all = [];
for (let i = 0; i < 2000; i++) all.push(db.tables.x.insert('k' + String(i).padStart(8, '0'), { name: 'user-' + i, n: i, tags: ['a', 'b'] }));
// A timer does not call into Go: only the shim's wake-up can run it.
const r = await Promise.race([
  Promise.all(all).then(() => 'settled ' + db.tables.x.len(), (e) => 'failed: ' + e.message),
  new Promise((res) => setTimeout(() => res('still waiting after 10 s: ' + JSON.stringify(db.stats())), 10000)),
]);
await db.close();
return r;`, &got)
	if got != "settled 2000" {
		t.Fatalf("2,000 commits of one turn: %s", got)
	}
}

// TestShim_FailedFlushRejectsTheCommit makes the IndexedDB transaction of a
// flush fail, once by aborting it and once by a put that throws while the
// shim issues it: each commit rejects, is undone in memory and leaves nothing
// in the log, and the next commit and a reopen go on from the ones before.
func TestShim_FailedFlushRejectsTheCommit(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got string
	b.js(t, `
const db = await dbrs.open('flush-fails', { x: dbrs.lookupTable() }, { exclusive: true });
await db.tables.x.insert('a', 1);
const out = [];
const flushTx = (tx) => tx.mode === 'readwrite' && tx.objectStoreNames.contains('chunks');
const commit = IDBTransaction.prototype.commit;
IDBTransaction.prototype.commit = function () {
  if (!flushTx(this)) return commit.call(this);
  IDBTransaction.prototype.commit = commit;
  this.abort();
};
try { await db.tables.x.insert('b', 2); out.push('b committed'); } catch (e) { out.push('b: ' + e.code); }
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (...a) {
  if (!flushTx(this.transaction)) return put.apply(this, a);
  IDBObjectStore.prototype.put = put;
  throw new DOMException('injected', 'DataError');
};
try { await db.tables.x.insert('c', 3); out.push('c committed'); } catch (e) { out.push('c: ' + e.code); }
await db.tables.x.insert('d', 4);
out.push(JSON.stringify(['a', 'b', 'c', 'd'].map((k) => db.tables.x.get(k) ?? null)));
await db.close();
const db2 = await dbrs.open('flush-fails', { x: dbrs.lookupTable() }, { exclusive: true });
out.push(JSON.stringify(['a', 'b', 'c', 'd'].map((k) => db2.tables.x.get(k) ?? null)));
await db2.close();
return out.join(' | ');`, &got)
	const want = `b: Abort | c: IDB | [1,null,null,4] | [1,null,null,4]`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
