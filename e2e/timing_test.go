//go:build !js

package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTimings measures, in headless Chromium on real IndexedDB, through the
// shim: 10 transactions of 10k inserts each (100k records), single-op
// commits under strict and relaxed durability (awaited one by one, and 100
// issued at once, which group commit shares), and opening the 100k-record
// database after a reload. It logs the numbers and asserts only on
// correctness, never on time.
func TestTimings(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)

	var w struct {
		TxMs           []float64      `json:"txMs"`
		StrictCommitMs float64        `json:"strictCommitMs"`
		RelaxCommitMs  float64        `json:"relaxedCommitMs"`
		Burst100Ms     float64        `json:"burst100Ms"`
		Stats          map[string]any `json:"stats"`
	}
	b.jsTimeout(t, 90*time.Second, `
const schema = { kv: dbrs.lookupTable() };
const db = await dbrs.open('bench', schema, { durability: 'strict' });
const txMs = [];
for (let b = 0; b < 10; b++) {
  const t0 = performance.now();
  await db.transaction((tx) => {
    for (let i = 0; i < 10000; i++) {
      const k = b * 10000 + i;
      tx.kv.insert(k, { title: 'item ' + k, n: k, done: k % 3 === 0 });
    }
  });
  txMs.push(performance.now() - t0);
}
const N = 40;
let t0 = performance.now();
for (let i = 0; i < N; i++) await db.tables.kv.insert('strict' + i, i);
const strictCommitMs = (performance.now() - t0) / N;
t0 = performance.now();
const ps = [];
for (let i = 0; i < 100; i++) ps.push(db.tables.kv.insert('burst' + i, i));
await Promise.all(ps);
const burst100Ms = performance.now() - t0;
const stats = db.stats();
await db.close();

const rdb = await dbrs.open('bench-relaxed', schema, { durability: 'relaxed' });
t0 = performance.now();
for (let i = 0; i < N; i++) await rdb.tables.kv.insert('relaxed' + i, i);
const relaxedCommitMs = (performance.now() - t0) / N;
await rdb.close();
return { txMs, strictCommitMs, relaxedCommitMs, burst100Ms, stats };`, &w)

	// A fresh page: the first open loads dbrs.wasm too; time it apart.
	b.run(t, chromedp.Reload())
	b.waitReady(t)
	var r struct {
		LoadMs  float64        `json:"loadMs"`
		OpenMs  float64        `json:"openMs"`
		Len     int            `json:"len"`
		Last    map[string]any `json:"last"`
		Stats   map[string]any `json:"stats"`
		Reopen  float64        `json:"reopenMs"`
		WasmRaw float64        `json:"wasmBytes"`
	}
	b.jsTimeout(t, 60*time.Second, `
const schema = { kv: dbrs.lookupTable() };
let t0 = performance.now();
const small = await dbrs.open('tiny', { x: dbrs.single() });
const loadMs = performance.now() - t0;
await small.close();
t0 = performance.now();
let db = await dbrs.open('bench', schema);
const openMs = performance.now() - t0;
const len = db.tables.kv.len(), last = db.tables.kv.get(99999), stats = db.stats();
await db.close();
t0 = performance.now();
db = await dbrs.open('bench', schema);
const reopenMs = performance.now() - t0;
await db.close();
const wasmBytes = performance.getEntriesByType('resource').find((e) => e.name.endsWith('dbrs.wasm'))?.encodedBodySize ?? 0;
return { loadMs, openMs, len, last, stats, reopenMs, wasmBytes };`, &r)

	if r.Len != 100000+40+100 {
		t.Errorf("reopened database has %d records, want %d", r.Len, 100000+40+100)
	}
	if r.Last["title"] != "item 99999" {
		t.Errorf("record 99999 = %v", r.Last)
	}
	var txSum float64
	for _, ms := range w.TxMs {
		txSum += ms
	}
	t.Logf("10k-op transaction (10k inserts of a small object, strict): %.0f ms on average; each: %.0f", txSum/float64(len(w.TxMs)), w.TxMs)
	t.Logf("single-op commit, awaited one at a time: %.1f ms (strict), %.1f ms (relaxed)", w.StrictCommitMs, w.RelaxCommitMs)
	t.Logf("100 single-op commits issued at once (group commit, strict): %.0f ms in all", w.Burst100Ms)
	t.Logf("stats after the writes: %v", w.Stats)
	t.Logf("load dbrs.wasm + open a 1-table empty db: %.0f ms", r.LoadMs)
	t.Logf("open the 100k-record db (%v log bytes): %.0f ms after a page reload (engine openMs %v, replay %v ms), %.0f ms for a second open",
		r.Stats["logBytes"], r.OpenMs, r.Stats["openMs"], r.Stats["replayMs"], r.Reopen)
}
