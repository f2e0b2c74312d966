//go:build !js

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The tests in this file install the dbrs npm package as its users do: they
// pack js/ with npm pack, install the tarball into fresh projects in a
// temporary folder, build each with a bundler, and run the result in
// Chromium. The bundlers come from the npm registry (cached in ~/.npm), at
// these versions, which install on Node 20 with npm 11.
const (
	viteVersion    = "7.3.8"
	esbuildVersion = "0.28.2"
)

// bundlerMainJS is the app of every project: it opens a database and
// publishes it as window.app, then sets <body data-ready>. With
// ?wasm=URL it passes dbrs.wasm as a Response (LoadOptions.wasm), and
// when globalThis.dbrsWasmURL is set it passes that as wasmURL, instead of
// letting the shim find dbrs.wasm.
const bundlerMainJS = `import { open, lookupTable } from 'dbrs';

const wasm = new URLSearchParams(location.search).get('wasm');
const opts = wasm ? { wasm: fetch(wasm) } : globalThis.dbrsWasmURL ? { wasmURL: globalThis.dbrsWasmURL } : {};
open('bundled', { kv: lookupTable() }, opts).then(
  (db) => {
    window.app = { db };
    document.body.dataset.ready = 'true';
  },
  (e) => {
    const p = document.createElement('p');
    p.dataset.testid = 'fatal';
    p.textContent = String(e && e.message || e);
    document.body.append(p);
    document.body.dataset.ready = 'error';
  },
);
`

const bundlerIndexHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>dbrs bundled</title>
<link rel="icon" href="data:,">
<script type="module" src="./main.js"></script>
</head><body></body></html>
`

// viteURLPage and viteURLJS are the app again, with dbrs.wasm's URL from
// Vite's ?url import of the package's "./dbrs.wasm" export: what
// js/README.md offers for Vite's dev server without configuration.
var viteURLPage = strings.Replace(bundlerIndexHTML, "./main.js", "./url.js", 1)

const viteURLJS = `import wasmURL from 'dbrs/dbrs.wasm?url';

globalThis.dbrsWasmURL = wasmURL;
await import('./main.js');
`

// requireNpm returns the path of npm. Without npm it skips the test, or
// fails it under CI=true.
func requireNpm(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		if InCI() {
			t.Fatalf("CI=true and npm is not on PATH: %v", err)
		}
		t.Skipf("skipping: npm (Node.js) is not on PATH, so the package cannot be packed and installed: %v", err)
	}
	return npm
}

// packShim runs npm pack in js/ (whose dist/ the site build completed)
// into dir, checks that the tarball holds what the package promises, and
// returns its path.
func packShim(t *testing.T, dir string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := command(t, filepath.Join(root, "js"), "npm", "pack", "--json", "--pack-destination", dir)
	var packed []struct {
		Filename string `json:"filename"`
		Files    []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &packed); err != nil || len(packed) != 1 {
		t.Fatalf("npm pack --json: %v\n%s", err, out)
	}
	var files []string
	for _, f := range packed[0].Files {
		files = append(files, f.Path)
	}
	for _, want := range []string{"package.json", "dist/index.js", "dist/index.d.ts", "dist/load.js", "dist/dbrs.wasm", "dist/wasm_exec.js"} {
		if !slices.Contains(files, want) {
			t.Errorf("the packed package lacks %s; it holds %v", want, files)
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f, "src/") || strings.HasPrefix(f, "test/") || strings.HasPrefix(f, "dist-test/") {
			t.Errorf("the packed package holds %s, which is not for users", f)
		}
	}
	return filepath.Join(dir, packed[0].Filename)
}

// newProject writes a fresh npm project into dir that depends on the
// tarball and on devDeps (name → version), with main.js and index.html,
// plus extra files (name → content), and installs it.
func newProject(t *testing.T, dir, tarball string, devDeps map[string]string, extra map[string]string) {
	t.Helper()
	pkg := map[string]any{
		"name":            "dbrs-" + filepath.Base(dir),
		"private":         true,
		"type":            "module",
		"dependencies":    map[string]string{"dbrs": "file:" + tarball},
		"devDependencies": devDeps,
	}
	data, err := json.MarshalIndent(pkg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"package.json": string(data), "main.js": bundlerMainJS, "index.html": bundlerIndexHTML}
	for name, content := range extra {
		files[name] = content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	command(t, dir, "npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")
	t.Logf("npm install in %s: %v", filepath.Base(dir), time.Since(start).Round(time.Millisecond))
}

// command runs name in dir and returns its standard output, failing the
// test with all the output if it fails.
func command(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s\n%s", name, strings.Join(args, " "), dir, err, out, stderr.String())
	}
	return string(out)
}

// insertReloadRead opens page in a fresh browser, writes a record, reloads
// the page (at reloadPage, on the same origin, when it is not ""), and
// checks that the record is read back. It returns the URLs of the .wasm
// files the pages fetched (with fetch, as the shim does).
func insertReloadRead(t *testing.T, page, reloadPage string) []string {
	t.Helper()
	b := startBrowser(t, "")
	b.run(t, chromedp.Navigate(page))
	b.waitReady(t)
	want := map[string]any{"n": float64(1), "page": page}
	var got map[string]any
	b.js(t, `await app.db.tables.kv.insert('k', { n: 1, page: `+q(page)+` }); return app.db.tables.kv.get('k');`, &got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read after insert: %v, want %v", got, want)
	}
	var wasm []string
	b.js(t, `return performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'fetch' && e.name.includes('.wasm')).map((e) => e.name);`, &wasm)

	if reloadPage == "" {
		b.run(t, chromedp.Reload())
	} else {
		b.run(t, chromedp.Navigate(reloadPage))
	}
	b.waitReady(t)
	got = nil
	b.js(t, `return app.db.tables.kv.get('k') ?? null;`, &got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read after reloading: %v, want %v", got, want)
	}
	var more []string
	b.js(t, `return performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'fetch' && e.name.includes('.wasm')).map((e) => e.name);`, &more)
	return append(wasm, more...)
}

// TestBundler_PackedPackage packs js/ and runs the tarball, installed into
// fresh projects, in Chromium: built by Vite, bundled by esbuild, and
// served by Vite's dev server. In each, a record written before a reload
// is read back after it.
func TestBundler_PackedPackage(t *testing.T) {
	requireChromium(t)
	requireNpm(t)
	siteDir(t) // builds js/dist, dbrs.wasm and wasm_exec.js included, unless DBRS_SITE says they are built
	tarball := packShim(t, t.TempDir())

	// Vite: the shim's new URL('./dbrs.wasm', import.meta.url) becomes an
	// emitted asset, and wasm_exec.js a chunk. The project has the
	// configuration js/README.md gives for the dev server (dbrs excluded
	// from dependency pre-bundling), which the build does not need.
	t.Run("Vite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		newProject(t, dir, tarball, map[string]string{"vite": viteVersion}, map[string]string{
			"vite.config.js":  "export default { optimizeDeps: { exclude: ['dbrs'] } };\n",
			"plain.config.js": "export default {};\n",
			"url.html":        viteURLPage,
			"url.js":          viteURLJS,
		})
		t.Run("Build", func(t *testing.T) {
			command(t, dir, filepath.Join("node_modules", ".bin", "vite"), "build", "--config", "plain.config.js", "--logLevel", "warn")
			assets, _ := filepath.Glob(filepath.Join(dir, "dist", "assets", "dbrs-*.wasm"))
			if len(assets) != 1 {
				t.Fatalf("vite build emitted %d dbrs-*.wasm assets, want 1", len(assets))
			}
			base := serveDir(t, filepath.Join(dir, "dist"))
			wasm := insertReloadRead(t, base+"/index.html", "")
			if want := base + "/assets/" + filepath.Base(assets[0]); len(wasm) != 2 || wasm[0] != want || wasm[1] != want {
				t.Errorf("the pages fetched %v, want the emitted %s each time", wasm, want)
			}
		})
		t.Run("Dev", func(t *testing.T) {
			base := startViteDev(t, dir, "vite.config.js")
			wasm := insertReloadRead(t, base+"/", "")
			if len(wasm) != 2 || !strings.HasSuffix(wasm[0], "/dbrs.wasm") || wasm[1] != wasm[0] {
				t.Errorf("the pages fetched %v, want one dbrs.wasm each time", wasm)
			}
			t.Logf("the dev server served dbrs.wasm at %s", wasm[0])
		})
		// Without that configuration the dev server pre-bundles dbrs away
		// from dbrs.wasm; the error says what to configure. Passing the
		// URL that Vite's ?url import gives works without it.
		t.Run("DevUnconfigured", func(t *testing.T) {
			base := startViteDev(t, dir, "plain.config.js")
			b := startBrowser(t, "")
			b.run(t, chromedp.Navigate(base+"/"))
			b.poll(t, "the page to fail", `document.body && document.body.dataset.ready === 'error'`)
			var msg string
			b.js(t, `return document.querySelector('[data-testid=fatal]').textContent;`, &msg)
			if !strings.Contains(msg, "/node_modules/.vite/deps/dbrs.wasm") || !strings.Contains(msg, "add optimizeDeps: { exclude: ['dbrs'] } to vite.config.js") {
				t.Errorf("the page failed with %q, want the URL it tried and the Vite configuration that fixes it", msg)
			}
			// The same server, with the URL of dbrs.wasm from Vite's ?url import.
			wasm := insertReloadRead(t, base+"/url.html", "")
			if len(wasm) != 2 || !strings.Contains(wasm[0], "/dbrs.wasm") || wasm[1] != wasm[0] {
				t.Errorf("the pages fetched %v, want one dbrs.wasm each time", wasm)
			}
			t.Logf("with ?url, the dev server served dbrs.wasm at %s", wasm[0])
		})
	})

	// esbuild bundles the shim and wasm_exec.js into main.js but does not
	// emit assets referenced with new URL(…, import.meta.url): dbrs.wasm is
	// copied beside the bundle, where the default URL finds it. The reload
	// passes it as a Response instead.
	t.Run("esbuild", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		newProject(t, dir, tarball, map[string]string{"esbuild": esbuildVersion}, nil)
		dist := filepath.Join(dir, "dist")
		command(t, dir, filepath.Join("node_modules", ".bin", "esbuild"), "main.js", "--bundle", "--format=esm", "--outdir=dist", "--log-level=warning")
		copyFile(t, filepath.Join(dir, "index.html"), filepath.Join(dist, "index.html"))
		copyFile(t, filepath.Join(dir, "node_modules", "dbrs", "dist", "dbrs.wasm"), filepath.Join(dist, "dbrs.wasm"))
		if js, _ := filepath.Glob(filepath.Join(dist, "*.js")); len(js) != 1 {
			t.Fatalf("esbuild wrote %v, want main.js alone (wasm_exec.js bundled into it)", js)
		}
		base := serveDir(t, dist)
		wasm := insertReloadRead(t, base+"/index.html", base+"/index.html?wasm=dbrs.wasm")
		if want := base + "/dbrs.wasm"; len(wasm) != 2 || wasm[0] != want || wasm[1] != want {
			t.Errorf("the pages fetched %v, want %s each time", wasm, want)
		}
	})

}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startViteDev starts Vite's dev server for the project in dir, with the
// configuration file config, on a free loopback port, waits until it
// answers, and stops it when the test ends. It returns the base URL.
func startViteDev(t *testing.T, dir, config string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // Vite takes the port; --strictPort fails instead of taking another
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join("node_modules", ".bin", "vite"),
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--strictPort", "--clearScreen", "false", "--config", config)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var log strings.Builder
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		local := regexp.MustCompile(`Local:\s+(http://\S+?)/?\s*$`)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			logMu.Lock()
			log.WriteString(s.Text() + "\n")
			logMu.Unlock()
			if m := local.FindStringSubmatch(s.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-done
		if t.Failed() {
			logMu.Lock()
			t.Logf("vite dev server output:\n%s", log.String())
			logMu.Unlock()
		}
	})
	select {
	case base := <-ready:
		// The server answers once it prints its URL; check, with a deadline.
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(base + "/")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return base
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("vite dev server at %s does not answer: %v", base, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	case <-done:
		t.Fatal("vite dev server exited before it printed its URL")
	case <-time.After(60 * time.Second):
		t.Fatal("vite dev server did not print its URL within 60s")
	}
	return ""
}
