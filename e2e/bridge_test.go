//go:build !js

package e2e

import (
	"reflect"
	"testing"
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
