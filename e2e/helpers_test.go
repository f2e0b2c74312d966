//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveSite()
	os.Exit(code)
}

// shimPage is a blank page whose import map resolves 'dbrs' to the shim of
// the assembled site, for tests that drive the shim directly. It sets
// window.dbrs to the module and <body data-ready> once it is loaded.
const shimPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>dbrs e2e</title>
<link rel="icon" href="data:,">
<script type="importmap">
{ "imports": { "dbrs": "/dbrs/index.js", "@msgpack/msgpack": "/vendor/msgpack/index.mjs" } }
</script>
</head><body>
<script type="module">
import * as dbrs from 'dbrs';
window.dbrs = dbrs;
document.body.dataset.ready = 'true';
</script>
</body></html>
`

// serveSite serves the assembled site (see siteDir) on 127.0.0.1 until the
// test ends, plus the shim test page at /e2e.html, and returns the base URL.
// The origin, which IndexedDB data belongs to, stays the same for the whole
// test, across reloads and browser restarts.
func serveSite(t *testing.T) string {
	t.Helper()
	dir := siteDir(t)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/e2e.html" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, shimPage)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Header().Set("Content-Type", "application/wasm")
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// evalJSON evaluates expr (which may be a Promise; it should produce
// JSON text) and decodes the result into out. The timeout covers this call
// only.
func (b *browser) evalJSON(t *testing.T, timeout time.Duration, expr string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", short(expr), err)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal([]byte(v), out); err != nil {
		t.Fatalf("evaluate %s: result %q: %v", short(expr), v, err)
	}
}

// js runs an async JS function body (it may use await and must return a
// JSON-able value) and decodes its result into out.
func (b *browser) js(t *testing.T, body string, out any) {
	t.Helper()
	b.jsTimeout(t, 20*time.Second, body, out)
}

func (b *browser) jsTimeout(t *testing.T, timeout time.Duration, body string, out any) {
	t.Helper()
	b.evalJSON(t, timeout, "(async () => { const __r = await (async () => {\n"+body+"\n})(); return JSON.stringify(__r === undefined ? null : __r); })()", out)
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// waitReady waits until the page sets <body data-ready="true">, failing
// the test if it sets "error" (the demo could not open its database).
func (b *browser) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	state, err := chromedp.Run(ctx, chromedp.Poll[string](
		`['true', 'error'].includes(document.body && document.body.dataset.ready) ? document.body.dataset.ready : false`,
		chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		t.Fatalf("page did not get ready: %v", err)
	}
	if state != "true" {
		var msg string
		b.js(t, `return document.querySelector('[data-testid=fatal]')?.textContent ?? ''`, &msg)
		t.Fatalf("page failed to start: %s", msg)
	}
}

// poll waits until the JS expression is truthy.
func (b *browser) poll(t *testing.T, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, short(expr), err)
	}
}

// screenshot saves a PNG of the whole page as e2e/artifacts/name.
func (b *browser) screenshot(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("artifacts", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot %s", abs)
	return abs
}

// q quotes s as a JS string literal.
func q(s string) string { return strconv.Quote(s) }

// testid returns a CSS selector for data-testid=id.
func testid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }
