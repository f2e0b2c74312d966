package main

// The -tiering mode: what V8 compiles while dbrs loads row 3's records.
//
// Row 3 runs in a fresh page, right after the page loaded dbrs.wasm. V8
// compiles each wasm function lazily, on its first call, with its baseline
// compiler (Liftoff, on the page's thread), and recompiles the hot ones
// with TurboFan on background threads; on a 2-core machine those jobs
// share the CPUs with the page. This mode starts a Chromium of its own with
// V8's --trace-wasm-compilation-times, runs row 3's load for dbrs alone in
// fresh pages of that browser (the first is cold; a later page may reuse
// the code V8 compiled for an earlier one), and reports for each page the
// load's time and what V8 compiled while it ran, and for the first page
// the functions that took TurboFan longest, named from a build of
// dbrs.wasm with its name section (bench/cmd/wasmsize -index).

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// wasmFunc is one function of dbrs.wasm's index space.
type wasmFunc struct {
	name string
	body int // bytes of its body in the code section
}

// compileLine is one line of V8's --trace-wasm-compilation-times:
// "Compiled function 0x…#2909 using TurboFan, took 44682 μs and …".
var compileLine = regexp.MustCompile(`Compiled function \S*#(\d+) using (Liftoff|TurboFan), took (\d+) `)

// compiled is what V8 compiled in one interval.
type compiled struct {
	liftoff, turbofan     int
	liftoffUs, turbofanUs int64
	turbofanBy            map[int]int64 // function index → µs
}

func (c *compiled) add(fn int, tier string, us int64) {
	if tier == "Liftoff" {
		c.liftoff++
		c.liftoffUs += us
		return
	}
	c.turbofan++
	c.turbofanUs += us
	if c.turbofanBy == nil {
		c.turbofanBy = map[int]int64{}
	}
	c.turbofanBy[fn] += us
}

// chromeLog collects the lines Chromium writes to stdout and stderr.
type chromeLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *chromeLog) read(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, s.Text())
		l.mu.Unlock()
	}
}

// waitFor returns the index of the first line from `from` on that contains
// s, waiting up to d for it.
func (l *chromeLog) waitFor(s string, from int, d time.Duration) (int, bool) {
	deadline := time.Now().Add(d)
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if strings.Contains(l.lines[i], s) {
				l.mu.Unlock()
				return i, true
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// compiledIn sums the compilation trace in lines [from, to).
func (l *chromeLog) compiledIn(from, to int) compiled {
	l.mu.Lock()
	defer l.mu.Unlock()
	var c compiled
	for _, line := range l.lines[from:to] {
		m := compileLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fn, _ := strconv.Atoi(m[1])
		us, _ := strconv.ParseInt(m[3], 10, 64)
		c.add(fn, m[2], us)
	}
	return c
}

// wasmNames returns the functions of dbrs.wasm by index, from a build with
// its name section (bench/cmd/wasmsize -index), and whether that build is
// the served file (the same sha256 once stripped): if not, the names may be
// wrong, and the caller says so.
func wasmNames(served string) (map[int]wasmFunc, bool, error) {
	cmd := exec.Command("go", "run", "./cmd/wasmsize", "-index")
	cmd.Dir = ".."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, false, fmt.Errorf("wasmsize -index: %w", err)
	}
	data, err := os.ReadFile(served)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(data)
	fns := map[int]wasmFunc{}
	same := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if h, ok := strings.CutPrefix(line, "sha256 "); ok {
			same = h == hex.EncodeToString(sum[:])
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		i, err1 := strconv.Atoi(f[0])
		n, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		fns[i] = wasmFunc{name: f[2], body: n}
	}
	return fns, same, nil
}

// runTiering runs row 3's load for dbrs in `pages` fresh pages of one
// browser and prints (and writes to outDir/tiering.md) what V8 compiled.
func runTiering(siteDir, outDir string, records, pages int) error {
	fns, same, err := wasmNames(filepath.Join(siteDir, "dbrs", "dbrs.wasm"))
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	var chrome chromeLog
	go chrome.read(pr)
	defer pw.Close()
	t, closeBench, err := openBench(siteDir, "dbrs-bench-tiering-", false,
		chromedp.Flag("js-flags", "--trace-wasm-compilation-times"),
		chromedp.Flag("enable-logging", "stderr"),
		chromedp.CombinedOutput(pw),
	)
	if err != nil {
		return err
	}
	defer closeBench()

	type pageResult struct {
		bulkMs float64
		during compiled
	}
	var results []pageResult
	for p := 1; p <= pages; p++ {
		if err := t.fresh(); err != nil {
			return err
		}
		db := fmt.Sprintf("bench-tiering-%d-%d", time.Now().UnixNano(), p)
		var out struct {
			BulkMs float64 `json:"bulkMs"`
		}
		if err := t.call("tieringBulk", spec{Lib: "dbrs", DB: db, N: records}, &out); err != nil {
			return err
		}
		start, ok := chrome.waitFor(`"dbrs-tiering: start"`, 0, 5*time.Second)
		end, ok2 := chrome.waitFor(`"dbrs-tiering: end"`, start+1, 5*time.Second)
		if !ok || !ok2 {
			return fmt.Errorf("page %d: the console markers did not reach Chromium's log", p)
		}
		results = append(results, pageResult{out.BulkMs, chrome.compiledIn(start, end)})
		// The next page's markers come after these.
		chrome.mu.Lock()
		chrome.lines = chrome.lines[end+1:]
		chrome.mu.Unlock()
	}

	var b strings.Builder
	fmt.Fprintf(&b, "What V8 compiled while dbrs loaded %d records in one transaction (row 3), %s, %s. Each page is fresh; page 1 is the browser's first.\n\n", records, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine().CPUModel)
	fmt.Fprintf(&b, "| page | load ms | records/s | Liftoff compiles | Liftoff ms | TurboFan compiles | TurboFan ms (background) |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, r := range results {
		c := r.during
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %d | %.1f | %d | %.1f |\n", i+1, r.bulkMs, rate(records, r.bulkMs), c.liftoff, float64(c.liftoffUs)/1e3, c.turbofan, float64(c.turbofanUs)/1e3)
	}
	if len(results) > 0 && results[0].during.turbofan > 0 {
		by := results[0].during.turbofanBy
		idx := make([]int, 0, len(by))
		for i := range by {
			idx = append(idx, i)
		}
		slices.SortFunc(idx, func(x, y int) int { return int(by[y] - by[x]) })
		fmt.Fprintf(&b, "\nPage 1, the functions TurboFan took longest on (compile time is wall time on a background thread):\n\n| function | body bytes | TurboFan ms |\n| --- | ---: | ---: |\n")
		for _, i := range idx[:min(15, len(idx))] {
			f, ok := fns[i]
			name := f.name
			if !ok || name == "" {
				name = fmt.Sprintf("#%d", i)
			}
			fmt.Fprintf(&b, "| %s | %d | %.1f |\n", name, f.body, float64(by[i])/1e3)
		}
		if !same {
			fmt.Fprintf(&b, "\nThe names come from a build of the working tree that differs from the served dbrs.wasm (run `make site`): they may be wrong.\n")
		}
	}
	return report(outDir, "tiering.md", b.String())
}

// report prints a mode's Markdown and writes it to outDir/name.
func report(outDir, name, md string) error {
	fmt.Print(md)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(outDir, name)
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	log.Printf("bench-browser: wrote %s", path)
	return nil
}
