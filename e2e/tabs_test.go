//go:build !js

package e2e

import "testing"

// TestShim_OneTabAtATime opens one database from two browsing contexts of
// the same origin, each with its own dbrs.wasm (the page and a same-origin
// iframe, which share Web Locks and IndexedDB exactly as two tabs do): the
// second open is refused with 'Locked' instead of both appending to the same
// log, and succeeds once the first closes the database.
func TestShim_OneTabAtATime(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)

	b.js(t, `
const frame = document.createElement('iframe');
frame.src = '/e2e.html';
document.body.appendChild(frame);
await new Promise((resolve, reject) => {
  const deadline = Date.now() + 20000;
  const check = () => {
    if (frame.contentWindow?.dbrs) return resolve();
    if (Date.now() > deadline) return reject(new Error('iframe did not load the shim'));
    setTimeout(check, 20);
  };
  check();
});
window.other = frame.contentWindow.dbrs;
return null;`, nil)

	const schema = `{ n: dbrs.single() }`
	const otherSchema = `{ n: other.single() }`
	b.js(t, `window.db = await dbrs.open('two-tabs', `+schema+`); await db.tables.n.insert(1); return null;`, nil)

	var refused struct {
		Code string `json:"code"`
	}
	b.js(t, `try { await other.open('two-tabs', `+otherSchema+`); return { code: 'opened' }; }
catch (e) { return { code: e.code ?? String(e) }; }`, &refused)
	if refused.Code != "Locked" {
		t.Fatalf("second context's open: %q, want Locked", refused.Code)
	}

	// With lockTimeoutMs the second context waits, and gets the database
	// once the first closes it.
	var got struct {
		N float64 `json:"n"`
	}
	b.js(t, `setTimeout(() => db.close(), 300);
const d = await other.open('two-tabs', `+otherSchema+`, { lockTimeoutMs: 10000 });
await d.tables.n.insert(d.tables.n.get() + 1);
const n = d.tables.n.get(); await d.close(); return { n };`, &got)
	if got.N != 2 {
		t.Fatalf("second context read %v after the first closed, want 2", got.N)
	}
}
