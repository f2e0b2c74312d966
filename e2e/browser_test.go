//go:build !js

package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// requireChromium returns the browser to test with. Without one it skips
// the test, or fails it under CI=true.
func requireChromium(t *testing.T) string {
	t.Helper()
	path, err := FindChromium()
	if err != nil {
		if InCI() {
			t.Fatalf("CI=true and no browser: %v", err)
		}
		t.Skipf("skipping browser test: %v", err)
	}
	return path
}

// browser is one headless Chromium process and one tab in it.
type browser struct {
	ctx         context.Context // the tab's chromedp context; pass it to chromedp.Do and Run
	UserDataDir string          // the profile folder
	cancelTab   context.CancelFunc
	cancelAlloc context.CancelFunc
	stopped     bool
}

// startBrowser starts headless Chromium with the profile folder
// userDataDir, or with a fresh one in t.TempDir() if userDataDir is "".
// Passing the UserDataDir of a stopped browser restarts the browser on the
// same profile, IndexedDB included. The browser stops when the test ends,
// if it was not stopped before.
func startBrowser(t *testing.T, userDataDir string) *browser {
	t.Helper()
	exe := requireChromium(t)
	if userDataDir == "" {
		userDataDir = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(userDataDir),
		chromedp.Headless,
		chromedp.NoSandbox, // we run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx, UserDataDir: userDataDir, cancelTab: cancelTab, cancelAlloc: cancelAlloc}
	t.Cleanup(func() { b.stop(t) })

	start := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The first Do starts the browser. Its life is bound to ctx, not to
	// startCtx: see docs/API.md, "Set a timeout for one action".
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	if err := chromedp.Do(startCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Logf("started %s with profile %s in %v", filepath.Base(exe), userDataDir, time.Since(start).Round(time.Millisecond))
	return b
}

// stop closes the browser gracefully, so it writes out its profile
// (IndexedDB included), and waits for its process to exit. A second stop
// does nothing.
func (b *browser) stop(t *testing.T) {
	t.Helper()
	if b.stopped {
		return
	}
	b.stopped = true
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("close browser: %v", err)
	}
	b.cancelTab()
	b.cancelAlloc()
}

// run runs steps in the browser's tab with a timeout, failing the test on
// error.
func (b *browser) run(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JS expression in the tab, awaiting it if it is a
// Promise, and returns its value as a string.
func (b *browser) eval(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// serveDir serves the files of dir on 127.0.0.1, at a random port, until
// the test ends, and returns the base URL (no trailing slash). .wasm files
// are served as application/wasm, so WebAssembly.instantiateStreaming
// accepts them, and nothing is cached, so a reload sees new files. The
// origin, which IndexedDB data belongs to, stays the same for the whole
// test, across browser restarts.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Header().Set("Content-Type", "application/wasm")
		}
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// smokePage stores one value in IndexedDB and reads it back.
const smokePage = `<!doctype html>
<meta charset="utf-8">
<title>dbrs e2e smoke</title>
<script>
function openDB() {
	return new Promise((resolve, reject) => {
		const r = indexedDB.open("smoke", 1);
		r.onupgradeneeded = () => r.result.createObjectStore("kv");
		r.onsuccess = () => resolve(r.result);
		r.onerror = () => reject(r.error);
	});
}
async function put(key, value) {
	const db = await openDB();
	try {
		await new Promise((resolve, reject) => {
			const tx = db.transaction("kv", "readwrite", {durability: "strict"});
			tx.objectStore("kv").put(value, key);
			tx.oncomplete = () => resolve();
			tx.onabort = () => reject(tx.error);
		});
	} finally {
		db.close();
	}
	return "ok";
}
async function get(key) {
	const db = await openDB();
	try {
		return await new Promise((resolve, reject) => {
			const r = db.transaction("kv").objectStore("kv").get(key);
			r.onsuccess = () => resolve(r.result === undefined ? "<missing>" : r.result);
			r.onerror = () => reject(r.error);
		});
	} finally {
		db.close();
	}
}
async function wasmOK() {
	const {instance} = await WebAssembly.instantiateStreaming(fetch("empty.wasm"));
	return instance instanceof WebAssembly.Instance ? "ok" : "no instance";
}
</script>
`

// TestBrowser_IndexedDBPersists proves the mechanics the other e2e tests
// rely on: a value written to IndexedDB survives a page reload and a full
// browser restart on the same profile folder, and the file server serves
// .wasm so that instantiateStreaming accepts it.
func TestBrowser_IndexedDBPersists(t *testing.T) {
	requireChromium(t)
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte(smokePage), 0o644); err != nil {
		t.Fatal(err)
	}
	// The smallest valid module: the magic number and version 1.
	if err := os.WriteFile(filepath.Join(site, "empty.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := serveDir(t, site) + "/index.html"

	b := startBrowser(t, "")
	b.run(t, chromedp.Navigate(url))
	if got := b.eval(t, "wasmOK()"); got != "ok" {
		t.Fatalf("instantiateStreaming of a served .wasm: %s", got)
	}
	if got := b.eval(t, `get("k")`); got != "<missing>" {
		t.Fatalf("a fresh profile holds %q", got)
	}
	value := "v-" + time.Now().Format(time.RFC3339Nano)
	if got := b.eval(t, `put("k", "`+value+`")`); got != "ok" {
		t.Fatalf("put: %s", got)
	}

	b.run(t, chromedp.Reload())
	if got := b.eval(t, `get("k")`); got != value {
		t.Fatalf("after a reload, get = %q, want %q", got, value)
	}

	b.stop(t)
	b = startBrowser(t, b.UserDataDir)
	b.run(t, chromedp.Navigate(url))
	if got := b.eval(t, `get("k")`); got != value {
		t.Fatalf("after a browser restart, get = %q, want %q", got, value)
	}
}
