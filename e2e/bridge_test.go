//go:build !js

package e2e

import (
	"reflect"
	"testing"
	"time"
)

// TestBridge_ExportsInUse checks, in Chromium with the real dbrs.wasm, that
// the shim talks protocol 2 (wasm exports) and that every kind of call that
// protocol carries works end to end: reads, a transaction, auto-commits,
// getMany and insertMany, errors, and data that survives a reload.
func TestBridge_ExportsInUse(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)

	var got struct {
		Protocol   float64 `json:"protocol"`
		Many       []any   `json:"many"`
		Len        float64 `json:"len"`
		InTx       []any   `json:"inTx"`
		NotFound   string  `json:"notFound"`
		AfterError float64 `json:"afterError"`
	}
	b.js(t, `
const db = await dbrs.open('exports', { kv: dbrs.lookupTable() });
await db.tables.kv.insertMany([['a', 1], ['b', { n: 2 }]]);
let inTx;
await db.transaction((tx) => {
  tx.kv.insert('c', 3);
  tx.kv.insertMany([['d', 4]]);
  inTx = tx.kv.getMany(['c', 'd', 'zz']);
});
let notFound = '';
try { await db.tables.kv.remove('nobody'); } catch (e) { notFound = e.code; }
await db.tables.kv.insert('e', 5);
const r = { protocol: globalThis.__dbrs.protocol, many: db.tables.kv.getMany(['b', 'x', 'a']),
  len: db.tables.kv.len(), inTx, notFound, afterError: db.tables.kv.get('e') };
await db.close();
return r;`, &got)
	if got.Protocol != 2 {
		t.Errorf("exportsProtocol = %v, want 2", got.Protocol)
	}
	if want := []any{map[string]any{"n": 2.0}, nil, 1.0}; !reflect.DeepEqual(got.Many, want) {
		t.Errorf("getMany = %v, want %v", got.Many, want)
	}
	if want := []any{3.0, 4.0, nil}; !reflect.DeepEqual(got.InTx, want) {
		t.Errorf("getMany in the transaction = %v, want %v", got.InTx, want)
	}
	if got.Len != 5 || got.NotFound != "NotFound" || got.AfterError != 5 {
		t.Errorf("len %v (want 5), remove of an absent key %q, value after the error %v", got.Len, got.NotFound, got.AfterError)
	}

	var reloaded []any
	b.js(t, `
const db = await dbrs.open('exports', { kv: dbrs.lookupTable() });
const r = db.tables.kv.getMany(['a', 'c', 'd', 'e']);
await db.close();
return r;`, &reloaded)
	if want := []any{1.0, 3.0, 4.0, 5.0}; !reflect.DeepEqual(reloaded, want) {
		t.Errorf("after reopening: %v, want %v", reloaded, want)
	}
}

// TestShim_SubscribeAndLiveQuery checks change notifications on the real
// engine: one per durable commit, in order, nothing for a rollback, and a
// live query that re-runs when a table it read changes.
func TestShim_SubscribeAndLiveQuery(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got struct {
		Changes [][]string `json:"changes"`
		Live    []any      `json:"live"`
	}
	b.js(t, `
const db = await dbrs.open('subs', { kv: dbrs.lookupTable(), log: dbrs.list() });
const changes = [], live = [];
db.subscribe((c) => changes.push(c.tables));
const stop = db.liveQuery((v) => v.kv.get('n') ?? null, (r) => live.push(r));
await db.tables.kv.insert('n', 1);
try { await db.transaction((tx) => { tx.kv.insert('n', 99); throw new Error('no'); }); } catch {}
await db.transaction((tx) => { tx.log.push('a'); tx.kv.insert('n', 2); });
const ps = [db.tables.log.push('b'), db.tables.kv.insert('n', 3), db.tables.log.push('c')];
await Promise.all(ps);
stop();
await db.tables.kv.insert('n', 4);
await db.close();
return { changes, live };`, &got)
	wantChanges := [][]string{{"kv"}, {"kv", "log"}, {"log"}, {"kv"}, {"log"}, {"kv"}}
	if !reflect.DeepEqual(got.Changes, wantChanges) {
		t.Errorf("changes %v, want %v", got.Changes, wantChanges)
	}
	if want := []any{nil, 1.0, 2.0, 3.0}; !reflect.DeepEqual(got.Live, want) {
		t.Errorf("live query results %v, want %v", got.Live, want)
	}
}

// TestShim_LostDatabaseIsRefused deletes a database's IndexedDB store
// behind dbrs's back, as a browser does when it finds its storage corrupt:
// the next open must fail with 'Lost' instead of starting over silently,
// keep failing until the app accepts the loss, and then work.
func TestShim_LostDatabaseIsRefused(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got struct {
		First, Second string
		Accepted      float64
		After         any
		Healthy       string
	}
	b.js(t, `
const schema = { kv: dbrs.lookupTable() };
let db = await dbrs.open('lost', schema);
await db.tables.kv.insert('a', 1);
await db.close();
await new Promise((res, rej) => { const q = indexedDB.deleteDatabase('lost'); q.onsuccess = res; q.onerror = () => rej(q.error); });
const code = async (p) => { try { const d = await p; await d.close(); return 'opened'; } catch (e) { return e.code ?? String(e); } };
const first = await code(dbrs.open('lost', schema));
const second = await code(dbrs.open('lost', schema));
db = await dbrs.open('lost', schema, { acceptLoss: true });
const accepted = db.tables.kv.len();
await db.tables.kv.insert('b', 2);
await db.close();
db = await dbrs.open('lost', schema);
const after = db.tables.kv.get('b') ?? null;
await db.close();
// A database that is whole opens as always, compacted or not.
db = await dbrs.open('healthy', schema);
await db.tables.kv.insert('x', 1);
await db.compact();
await db.tables.kv.insert('y', 2);
await db.close();
const healthy = await code(dbrs.open('healthy', schema));
return { First: first, Second: second, Accepted: accepted, After: after, Healthy: healthy };`, &got)
	if got.First != "Lost" || got.Second != "Lost" {
		t.Errorf("opens after the store was deleted: %q, %q; want Lost twice", got.First, got.Second)
	}
	if got.Accepted != 0 || got.After != 2.0 {
		t.Errorf("after acceptLoss: %v keys (want 0), then b = %v (want 2)", got.Accepted, got.After)
	}
	if got.Healthy != "opened" {
		t.Errorf("a healthy, compacted database: %q", got.Healthy)
	}
}

// TestShim_LostAfterImportIsRefused: a log restored with importLog is
// durable once importLog resolves, so a loss of it before any commit is
// refused with 'Lost' as well (the marker is set by the import, not only
// by the first commit after an open).
func TestShim_LostAfterImportIsRefused(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	var got struct {
		Restored float64
		Lost     string
	}
	b.js(t, `
const schema = { kv: dbrs.lookupTable() };
let db = await dbrs.open('source', schema);
await db.tables.kv.insert('a', 1);
const backup = await db.exportLog();
await db.close();
await dbrs.importLog('restored', backup);
db = await dbrs.open('restored', schema);
const restored = db.tables.kv.get('a');
await db.close();
await new Promise((res, rej) => { const q = indexedDB.deleteDatabase('restored'); q.onsuccess = res; q.onerror = () => rej(q.error); });
let lost = 'opened';
try { const d = await dbrs.open('restored', schema); await d.close(); } catch (e) { lost = e.code ?? String(e); }
return { Restored: restored, Lost: lost };`, &got)
	if got.Restored != 1 {
		t.Fatalf("the restored database reads a = %v, want 1", got.Restored)
	}
	if got.Lost != "Lost" {
		t.Errorf("open after the restored store was deleted: %q, want Lost", got.Lost)
	}
}

// TestBridge_CallsAfterMemoryGrows checks the shim's handling of a growing
// wasm memory: growing detaches every view JS holds of it, so the shim
// must make new ones before it writes a request or reads a reply. A
// transaction of 48 values of 1 MiB grows dbrs.wasm's memory by more than
// its size at open, in the calls that take the requests; then reads,
// writes and the commit's reply go through the new memory.
func TestBridge_CallsAfterMemoryGrows(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)

	var got struct {
		Before  float64 `json:"before"`
		After   float64 `json:"after"`
		First   string  `json:"first"`
		InTx    string  `json:"inTx"`
		Last    string  `json:"last"`
		Len     float64 `json:"len"`
		Removed bool    `json:"removed"`
	}
	b.jsTimeout(t, time.Minute, `
const instances = [];
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const r = await instantiate.apply(this, args);
  instances.push(r instanceof WebAssembly.Instance ? r : r.instance);
  return r;
};
let db;
try {
  db = await dbrs.open('memory-grows', { kv: dbrs.lookupTable() });
} finally {
  WebAssembly.instantiate = instantiate;
}
if (instances.length !== 1) throw new Error('saw ' + instances.length + ' instantiations');
const mem = instances[0].exports.mem;
const before = mem.buffer.byteLength;
await db.tables.kv.insert('first', 'a');
const mib = 'x'.repeat(1 << 20);
let inTx;
await db.transaction((tx) => {
  for (let i = 0; i < 48; i++) tx.kv.insert('big' + i, mib + i);
  inTx = tx.kv.get('big47').slice(-2);
});
const after = mem.buffer.byteLength;
await db.tables.kv.remove('big0');
const r = { before, after, first: db.tables.kv.get('first'), inTx, last: db.tables.kv.get('big47').slice(-2),
  len: db.tables.kv.len(), removed: !db.tables.kv.has('big0') };
await db.close();
await dbrs.deleteDatabase('memory-grows');
return r;`, &got)
	if got.After < got.Before+48<<20 {
		t.Fatalf("the memory grew from %v to %v bytes: the test did not grow it past its 48 MiB of values", got.Before, got.After)
	}
	if got.First != "a" || got.InTx != "47" || got.Last != "47" || got.Len != 48 || !got.Removed {
		t.Errorf("after the memory grew: first %q, in the transaction %q, after it %q, len %v (want 48), big0 removed %v",
			got.First, got.InTx, got.Last, got.Len, got.Removed)
	}
}
