// Command browser runs the browser benchmark of dbrs: dbrs.wasm through its
// TypeScript shim, Dexie and raw IndexedDB, on the same data, in one
// headless Chromium, interleaved (every repeat runs every library once, in
// alternating order, each in a fresh page and a fresh database that is
// deleted afterwards).
//
// It serves build/site (the shim, dbrs.wasm, wasm_exec.js, msgpack), the
// page in page/ and Dexie from node_modules on 127.0.0.1, drives the page
// with chromedp, and writes results/results.json, results/results.md and
// results/chart.svg, and the "Browser benchmarks" section of the
// repository's README.md.
//
// Run it with `make bench-browser` (short mode, under 3 minutes) or
// `make bench-browser-full`. These are measurements, not tests: nothing
// here fails on a timing. It exits non-zero only when a run fails (an
// error in the page), after writing what it measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Config is the size of a run.
type Config struct {
	Mode           string `json:"mode"`           // "short" or "full"
	Commits        int    `json:"commits"`        // rows 1-2: commits per sample
	CommitRepeats  int    `json:"commitRepeats"`  // rows 1-2: samples per library
	Records        int    `json:"records"`        // rows 3-6: records loaded
	Reads          int    `json:"reads"`          // rows 4-5: reads per sample
	RecordsRepeats int    `json:"recordsRepeats"` // rows 3-6: samples per library
}

var (
	shortConfig = Config{Mode: "short", Commits: 1000, CommitRepeats: 3, Records: 20000, Reads: 5000, RecordsRepeats: 5}
	fullConfig  = Config{Mode: "full", Commits: 1000, CommitRepeats: 7, Records: 100000, Reads: 10000, RecordsRepeats: 5}
)

// variant is one library set up one way.
type variant struct {
	Key        string // series key in the results
	Lib        string // dbrs, idb or dexie (bench.js)
	Durability string // strict, relaxed or default
	Many       bool   // dbrs with insertMany/getMany (only if the shim has them)
}

func main() {
	short := flag.Bool("short", false, "short mode, under 3 minutes: 20k records in rows 3-6, 5k reads, 3 repeats of rows 1-2 and 5 of rows 3-6")
	siteDir := flag.String("site", "../../build/site", "the assembled site (make site)")
	outDir := flag.String("out", "results", "where to write results.json, results.md and chart.svg")
	readme := flag.String("readme", "../../README.md", "README whose Browser benchmarks section to update (\"\" to skip)")
	commits := flag.Int("commits", 0, "override: commits per sample in rows 1-2")
	records := flag.Int("records", 0, "override: records in rows 3-6")
	reads := flag.Int("reads", 0, "override: reads per sample in rows 4-5")
	repeats := flag.Int("repeats", 0, "override: samples per library, every row")
	rows := flag.String("rows", "", "measure only these row groups, comma-separated: 1, 2, 3 (rows 3-6); empty: all")
	render := flag.Bool("render", false, "measure nothing: rewrite results.md, chart.svg and the README from results.json")
	tiering := flag.Int("tiering", 0, "measure only what V8 compiles during row 3's load for dbrs, in this many fresh pages of a browser of its own (tiering.go); writes OUT/tiering.md")
	phases := flag.Int("phases", 0, "measure only where the time of rows 1-2's commits goes, for every library, in this many rounds (phases.go; -commits sets the commits per run, 500 by default); writes OUT/phases.md")
	flag.Parse()
	log.SetFlags(0)

	if *tiering > 0 {
		n := shortConfig.Records
		if *records > 0 {
			n = *records
		}
		if err := runTiering(*siteDir, *outDir, n, *tiering); err != nil {
			log.Fatalf("bench-browser: %v", err)
		}
		return
	}

	if *phases > 0 {
		n := 500
		if *commits > 0 {
			n = *commits
		}
		if err := runPhases(*siteDir, *outDir, n, *phases); err != nil {
			log.Fatalf("bench-browser: %v", err)
		}
		return
	}

	if *render {
		if err := rerender(*outDir, *readme); err != nil {
			log.Fatalf("bench-browser: %v", err)
		}
		return
	}

	cfg := fullConfig
	if *short {
		cfg = shortConfig
	}
	if *commits > 0 {
		cfg.Commits = *commits
	}
	if *records > 0 {
		cfg.Records = *records
	}
	if *reads > 0 {
		cfg.Reads = *reads
	}
	if *repeats > 0 {
		cfg.CommitRepeats, cfg.RecordsRepeats = *repeats, *repeats
	}
	only := map[string]bool{}
	for _, r := range strings.Split(*rows, ",") {
		switch r = strings.TrimSpace(r); r {
		case "":
		case "1", "2", "3":
			only[r] = true
		default:
			log.Fatalf("bench-browser: -rows: unknown row group %q (want 1, 2 or 3)", r)
		}
	}
	if err := run(cfg, only, *siteDir, *outDir, *readme); err != nil {
		log.Fatalf("bench-browser: %v", err)
	}
}

// rerender rewrites the reports of a previous run from its results.json.
func rerender(outDir, readme string) error {
	b, err := os.ReadFile(filepath.Join(outDir, "results.json"))
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	res.finish()
	if err := res.write(outDir); err != nil {
		return err
	}
	if readme != "" {
		return res.updateReadme(readme)
	}
	return nil
}

// findChromium returns $CHROME, or the first Chromium-based browser on PATH.
func findChromium() (string, error) {
	if c := os.Getenv("CHROME"); c != "" {
		return exec.LookPath(c)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium-based browser found (set CHROME, or run e2e/setup.sh)")
}

// openBench serves the benchmark page (isolated: see server), with the shim
// bundled into a new browser profile folder, and starts a headless Chromium
// on that profile with browserOptions and extra; closeBench stops both and
// removes the folder.
func openBench(siteDir, prefix string, isolated bool, extra ...chromedp.ExecAllocatorOption) (t *tab, closeBench func(), err error) {
	exe, err := findChromium()
	if err != nil {
		return nil, nil, err
	}
	profile, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, err
	}
	bundle, err := bundleShim(siteDir, profile)
	var srv *server
	if err == nil {
		srv, err = startServer("page", siteDir, bundle, filepath.Join("node_modules", "dexie", "dist", "modern"), isolated)
	}
	if err != nil {
		os.RemoveAll(profile)
		return nil, nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(browserOptions(exe, profile), extra...)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	closeBench = func() {
		cancelTab()
		cancelAlloc()
		srv.Close()
		os.RemoveAll(profile)
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		closeBench()
		return nil, nil, fmt.Errorf("start %s: %w", exe, err)
	}
	return &tab{ctx: ctx, base: srv.URL}, closeBench, nil
}

// browserOptions are the flags of the headless Chromium at exe, with its
// profile in the folder profile.
func browserOptions(exe, profile string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
}

// tab is the headless Chromium tab every run uses.
type tab struct {
	ctx  context.Context
	base string
	seq  int
}

func (t *tab) navigate(u string) error {
	ctx, cancel := context.WithTimeout(t.ctx, time.Minute)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(u))
}

// fresh loads the benchmark page as a new document.
func (t *tab) fresh() error {
	t.seq++
	return t.navigate(fmt.Sprintf("%s/?run=%d", t.base, t.seq))
}

// call evaluates bench.<fn>(spec) in the page, awaits it and decodes the
// result into out. A result with an error field is returned as an error.
func (t *tab) call(fn string, spec any, out any) error {
	arg := "undefined"
	if spec != nil {
		b, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		arg = string(b)
	}
	expr := fmt.Sprintf(`(async () => {
		while (!window.bench) await new Promise((r) => setTimeout(r, 5));
		const f = window.bench[%q];
		return JSON.stringify(await (typeof f === 'function' ? f(%s) : f));
	})()`, fn, arg)
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Minute)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("bench.%s: %w", fn, err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return fmt.Errorf("bench.%s: result %q: %w", fn, s, err)
	}
	if e.Error != "" {
		return fmt.Errorf("bench.%s: %s", fn, e.Error)
	}
	return json.Unmarshal([]byte(s), out)
}

// spec is the argument of bench.commits / fill / cleanup.
type spec struct {
	Lib        string `json:"lib"`
	Durability string `json:"durability"`
	DB         string `json:"db"`
	N          int    `json:"n"`
	Reads      int    `json:"reads,omitempty"`
	Seed       int    `json:"seed,omitempty"`
	Many       bool   `json:"many,omitempty"`
}

// run measures the row groups in only ("1", "2", "3"), or all of them
// when only is empty.
func run(cfg Config, only map[string]bool, siteDir, outDir, readme string) error {
	start := time.Now()
	if _, err := findChromium(); err != nil {
		return err
	}
	// Row 7 (brotli -q 11 takes some 12 s of one CPU) runs while the
	// browser starts, and is done before the first measured run.
	type sizeResult struct {
		WasmSize
		err error
	}
	sizes := make(chan sizeResult, 1)
	var prev Results
	if b, err := os.ReadFile(filepath.Join(outDir, "results.json")); err == nil {
		_ = json.Unmarshal(b, &prev)
	}
	go func() {
		ws, err := wasmSize(filepath.Join(siteDir, "dbrs", "dbrs.wasm"), prev.Wasm)
		sizes <- sizeResult{ws, err}
	}()

	t, closeBench, err := openBench(siteDir, "dbrs-bench-browser-", false)
	if err != nil {
		return err
	}
	defer closeBench()
	ctx := t.ctx
	defer func() {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_ = chromedp.Cancel(c)
	}()
	ver, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("browser version: %w", err)
	}

	res := newResults(cfg)
	res.Meta = Meta{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Chromium:   ver.Product,
		V8:         ver.JsVersion,
		UserAgent:  ver.UserAgent,
		Machine:    machine(),
		Dexie:      packageVersion(filepath.Join("node_modules", "dexie", "package.json")),
		DbrsCommit: gitCommit("../.."),
		Config:     cfg,
		LoadStart:  loadAvg(),
	}
	log.Printf("bench-browser: %s mode, %s, %d CPUs (%s), serving %s", cfg.Mode, ver.Product, res.Meta.Machine.CPUs, res.Meta.Machine.CPUModel, t.base)

	var feat struct {
		InsertMany bool `json:"insertMany"`
		GetMany    bool `json:"getMany"`
	}
	if err := t.fresh(); err != nil {
		return err
	}
	if err := t.call("features", nil, &feat); err != nil {
		return fmt.Errorf("load dbrs in the page: %w", err)
	}
	res.Meta.ShimHasMany = feat.InsertMany && feat.GetMany

	// Row 7 must not share the CPUs with a measured run.
	size := <-sizes
	if size.err != nil {
		return size.err
	}
	res.Wasm = size.WasmSize
	log.Printf("bench-browser: browser ready and dbrs.wasm measured in %.1fs", time.Since(start).Seconds())

	strict := []variant{{"dbrs", "dbrs", "strict", false}, {"idb", "idb", "strict", false}, {"dexie", "dexie", "strict", false}}
	relaxed := []variant{{"dbrs", "dbrs", "relaxed", false}, {"idb", "idb", "relaxed", false}, {"dexie", "dexie", "relaxed", false}}
	data := []variant{{"dbrs", "dbrs", "default", false}, {"idb", "idb", "default", false}, {"dexie", "dexie", "default", false}}
	if res.Meta.ShimHasMany {
		data = append(data, variant{"dbrs-many", "dbrs", "default", true})
	}
	type group struct {
		name     string
		repeats  int
		variants []variant
		run      func(r int, v variant) error
	}
	all := []group{
		{"1 strict commits", cfg.CommitRepeats, strict, func(r int, v variant) error { return runCommits(t, res, "1", cfg, r, v) }},
		{"2 relaxed commits", cfg.CommitRepeats, relaxed, func(r int, v variant) error { return runCommits(t, res, "2", cfg, r, v) }},
		{"3-6 records", cfg.RecordsRepeats, data, func(r int, v variant) error { return runRecords(t, res, cfg, r, v) }},
	}
	var groups []group
	for _, g := range all {
		if len(only) == 0 || only[g.name[:1]] {
			groups = append(groups, g)
		}
	}
	total, done := 0, 0
	for _, g := range groups {
		total += g.repeats * len(g.variants)
	}
	failed := 0
	for r := 0; ; r++ {
		more := false
		for _, g := range groups {
			if r >= g.repeats {
				continue
			}
			more = true
			vs := slices.Clone(g.variants)
			if r%2 == 1 { // A B C, C B A, A B C, …
				slices.Reverse(vs)
			}
			for _, v := range vs {
				done++
				t0 := time.Now()
				err := g.run(r, v)
				status := "ok"
				if err != nil {
					failed++
					status = "ERROR " + err.Error()
				}
				log.Printf("[%3d/%d %5.1fs] repeat %d, %s, %s (%s): %s in %.1fs", done, total, time.Since(start).Seconds(), r+1, g.name, v.Key, v.Durability, status, time.Since(t0).Seconds())
			}
		}
		if !more {
			break
		}
	}

	res.Meta.Seconds = time.Since(start).Seconds()
	res.Meta.LoadEnd = loadAvg()
	res.finish()

	if err := res.write(outDir); err != nil {
		return err
	}
	if readme != "" {
		if err := res.updateReadme(readme); err != nil {
			log.Printf("bench-browser: README not updated: %v", err)
		}
	}
	fmt.Println(res.markdown())
	log.Printf("bench-browser: wrote %s/results.json, results.md, chart.svg in %.0fs", outDir, res.Meta.Seconds)
	if failed > 0 {
		return fmt.Errorf("%d runs failed (see the ERROR lines above and results.json)", failed)
	}
	return nil
}

func dbName(t *tab, r int, v variant) string {
	return fmt.Sprintf("bench-%s-%s-r%d-%d", v.Key, v.Durability, r, t.seq)
}

// runCommits is one sample of row 1 or 2 for one library.
func runCommits(t *tab, res *Results, row string, cfg Config, r int, v variant) error {
	if err := t.fresh(); err != nil {
		res.fail(v.Key, err, row)
		return err
	}
	s := spec{Lib: v.Lib, Durability: v.Durability, DB: dbName(t, r, v), N: cfg.Commits}
	var out struct {
		MS float64 `json:"ms"`
	}
	if err := t.call("commits", s, &out); err != nil {
		res.fail(v.Key, err, row)
		t.cleanup(s)
		return err
	}
	res.add(row, v.Key, rate(cfg.Commits, out.MS))
	return nil
}

// runRecords is one sample of rows 3 to 6 for one library: load the
// records, read them (rows 4, 5), then load the page again and time it
// until they are readable (row 6) and all in memory (6b); then load it
// once more and time it until a new, empty database is open (6c).
func runRecords(t *tab, res *Results, cfg Config, r int, v variant) error {
	rows := []string{"3", "4", "5", "6", "6b", "6c"}
	if v.Many {
		rows = []string{"3", "5"}
	}
	if err := t.fresh(); err != nil {
		res.fail(v.Key, err, rows...)
		return err
	}
	s := spec{Lib: v.Lib, Durability: v.Durability, DB: dbName(t, r, v), N: cfg.Records, Reads: cfg.Reads, Seed: r + 1, Many: v.Many}
	var fill struct {
		BulkMS    float64 `json:"bulkMs"`
		ReadsMS   float64 `json:"readsMs"`
		TxReadsMS float64 `json:"txReadsMs"`
	}
	if err := t.call("fill", s, &fill); err != nil {
		res.fail(v.Key, err, rows...)
		t.cleanup(s)
		return err
	}
	res.add("3", v.Key, rate(cfg.Records, fill.BulkMS))
	res.add("5", v.Key, rate(cfg.Reads, fill.TxReadsMS))
	if v.Many {
		t.cleanup(s)
		return nil
	}
	res.add("4", v.Key, rate(cfg.Reads, fill.ReadsMS))

	t.seq++
	q := url.Values{"reload": {v.Lib}, "db": {s.DB}, "n": {fmt.Sprint(cfg.Records)}, "durability": {v.Durability}, "run": {fmt.Sprint(t.seq)}}
	if err := t.navigate(t.base + "/?" + q.Encode()); err != nil {
		res.fail(v.Key, err, "6", "6b")
		t.cleanup(s)
		return err
	}
	var rl struct {
		ReadableMS float64 `json:"readableMs"`
		AllMS      float64 `json:"allMs"`
	}
	if err := t.call("reload", nil, &rl); err != nil {
		res.fail(v.Key, err, "6", "6b")
		t.cleanup(s)
		return err
	}
	res.add("6", v.Key, rl.ReadableMS)
	res.add("6b", v.Key, rl.AllMS)
	if err := t.call("cleanup", s, &struct{}{}); err != nil {
		return err
	}

	// 6c: the same page load with a new, empty database.
	t.seq++
	empty := s
	empty.DB += "-empty"
	q = url.Values{"open": {v.Lib}, "db": {empty.DB}, "run": {fmt.Sprint(t.seq)}}
	if err := t.navigate(t.base + "/?" + q.Encode()); err != nil {
		res.fail(v.Key, err, "6c")
		return err
	}
	var op struct {
		OpenMS float64 `json:"openMs"`
	}
	if err := t.call("open", nil, &op); err != nil {
		res.fail(v.Key, err, "6c")
		t.cleanup(empty)
		return err
	}
	res.add("6c", v.Key, op.OpenMS)
	return t.call("cleanup", empty, &struct{}{})
}

// cleanup deletes a run's database after a failure, from a fresh page.
func (t *tab) cleanup(s spec) {
	if err := t.fresh(); err != nil {
		return
	}
	if err := t.call("cleanup", s, &struct{}{}); err != nil {
		log.Printf("bench-browser: cleanup %s: %v", s.DB, err)
	}
}

func rate(n int, ms float64) float64 {
	if ms <= 0 {
		ms = 0.1 // below the resolution of performance.now() without cross-origin isolation
	}
	return float64(n) / (ms / 1000)
}

// errString shortens an error for the results.
func errString(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
