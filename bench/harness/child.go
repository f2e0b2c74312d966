package harness

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Work names what a child process measures.
type Work string

const (
	WorkP1     Work = "P1" // durable single-key commits, one goroutine
	WorkP2     Work = "P2" // durable single-key commits, Goroutines goroutines
	WorkP3     Work = "P3" // bulk load of N records, synced at the end
	WorkP4     Work = "P4" // random Gets after a load
	WorkP6     Work = "P6" // RSS after a load
	WorkSBuild Work = "scale-build"
	WorkSOpen  Work = "scale-open"
)

// childEnv carries a child's Spec (as JSON) from parent to child.
const childEnv = "DBRS_BENCH_CHILD"

// Spec is one child's job.
type Spec struct {
	Work       Work          `json:"work"`
	Store      string        `json:"store"`
	Variant    Variant       `json:"variant"`
	Dir        string        `json:"dir"`
	N          int           `json:"n"`
	Duration   time.Duration `json:"duration"`
	Goroutines int           `json:"goroutines"`
	// Batches makes dbrs load in batches without trying one transaction.
	Batches    bool   `json:"batches"`
	BatchSize  int    `json:"batch_size"`
	Reopens    int    `json:"reopens"`
	CPUProfile string `json:"cpu_profile,omitempty"`
	ResultPath string `json:"result_path"`
}

// Result is what a child reports.
type Result struct {
	Ops     int64   `json:"ops,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`
	// Rate is ops (or records) per second.
	Rate float64 `json:"rate,omitempty"`

	Load *LoadInfo `json:"load,omitempty"`

	// P4: Gets per second by value type.
	GetRates map[Variant]float64 `json:"get_rates,omitempty"`

	// P5: the first reopen after the load, then further reopens of the
	// settled store.
	ReopenMs     float64   `json:"reopen_ms,omitempty"`
	WarmReopenMs []float64 `json:"warm_reopen_ms,omitempty"`

	// Memory, in bytes: VmRSS after runtime.GC(), the process's VmRSS
	// before opening the store, VmHWM (peak), and the Go heap in use.
	RSS         int64 `json:"rss,omitempty"`
	BaselineRSS int64 `json:"baseline_rss,omitempty"`
	PeakRSS     int64 `json:"peak_rss,omitempty"`
	HeapInuse   int64 `json:"heap_inuse,omitempty"`

	// Scaling (dbrs).
	LoadSeconds  float64 `json:"load_seconds,omitempty"`
	LogBytes     int64   `json:"log_bytes,omitempty"`
	CompactMs    float64 `json:"compact_ms,omitempty"`
	CompactBytes int64   `json:"compact_bytes,omitempty"`
	OpenMs       float64 `json:"open_ms,omitempty"`

	Extra map[string]float64 `json:"extra,omitempty"`
}

// monotonic time helpers (time.Now carries a monotonic reading).
func nowMono() time.Time                  { return time.Now() }
func sinceMono(t time.Time) time.Duration { return time.Since(t) }

// MaybeChild runs the child job and exits if this process was started as a
// child; otherwise it returns. Call it first in main (and TestMain).
func MaybeChild() {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	var spec Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "dbrsbench child: bad spec:", err)
		os.Exit(2)
	}
	res, err := runChild(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbrsbench child %s %s: %v\n", spec.Work, spec.Store, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	if err := os.WriteFile(spec.ResultPath, out, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "dbrsbench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(spec Spec) (res *Result, err error) {
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
	}
	def, err := storeByName(spec.Store)
	if err != nil {
		return nil, err
	}
	if spec.Variant == "" {
		spec.Variant = VarString
	}
	switch spec.Work {
	case WorkP1:
		return runCommits(def, spec, 1)
	case WorkP2:
		return runCommits(def, spec, spec.Goroutines)
	case WorkP3, WorkP6:
		return runLoad(def, spec)
	case WorkP4:
		return runGets(def, spec)
	case WorkSBuild:
		return runScaleBuild(spec)
	case WorkSOpen:
		return runScaleOpen(spec)
	}
	return nil, fmt.Errorf("unknown work %q", spec.Work)
}

// runCommits commits single keys durably from g goroutines for the spec's
// duration; goroutine j writes records j<<40, j<<40+1, …
func runCommits(def StoreDef, spec Spec, g int) (*Result, error) {
	s, err := def.Open(spec.Dir, OpenOptions{Variant: spec.Variant, Concurrent: g > 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var (
		ops      atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		firstErr error
		errOnce  sync.Once
	)
	start := time.Now()
	timer := time.AfterFunc(spec.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	for j := 0; j < g; j++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kb, vb []byte
			for i := uint64(j) << 40; !stop.Load(); i++ {
				kb = appendKey(kb[:0], i)
				vb = appendValue(vb[:0], i)
				if err := s.Put(kb, vb); err != nil {
					errOnce.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if firstErr != nil {
		return nil, firstErr
	}
	n := ops.Load()
	res := &Result{Ops: n, Seconds: elapsed, Rate: float64(n) / elapsed}
	if d, ok := s.(*dbrsStore); ok {
		st := d.db.Stats()
		res.Extra = map[string]float64{"commits_per_sync": float64(st.Commits) / float64(max(st.Syncs, 1))}
	}
	return res, nil
}

// runLoad is the P3/P5/P6 child: it loads N records (P3, timed), reads the
// RSS after runtime.GC() (P6), then closes the store and times reopen + the
// first Get (P5), Reopens times; the first reopen is P5's number. A P6
// child stops after the RSS: the parent starts one when dbrs's P3 load had
// to fall back to batches, so that the refused transaction's garbage does
// not count in dbrs's RSS.
func runLoad(def StoreDef, spec Spec) (*Result, error) {
	base := readRSS()
	s, err := def.Open(spec.Dir, OpenOptions{Variant: spec.Variant})
	if err != nil {
		return nil, err
	}
	opts := LoadOptions{Batches: spec.Batches, BatchSize: spec.BatchSize}
	start := time.Now()
	info, err := s.Load(spec.N, opts)
	elapsed := time.Since(start)
	if err != nil {
		s.Close()
		return nil, err
	}
	loadTime := elapsed - info.FailedAttempt
	res := &Result{Ops: int64(spec.N), Seconds: loadTime.Seconds(), Rate: float64(spec.N) / loadTime.Seconds(), Load: &info}
	if _, _, err := mustGet(s, 0); err != nil {
		s.Close()
		return nil, err
	}
	fillMemory(res, base)
	if err := s.Close(); err != nil {
		return nil, err
	}
	if spec.Work == WorkP6 {
		return res, nil
	}
	for k := 0; k < max(spec.Reopens, 1); k++ {
		runtime.GC()
		start := time.Now()
		s, err := def.Open(spec.Dir, OpenOptions{Variant: spec.Variant})
		if err != nil {
			return nil, err
		}
		if _, _, err := mustGet(s, 0); err != nil {
			s.Close()
			return nil, err
		}
		ms := float64(time.Since(start).Microseconds()) / 1000
		if err := s.Close(); err != nil {
			return nil, err
		}
		if k == 0 {
			res.ReopenMs = ms
		} else {
			res.WarmReopenMs = append(res.WarmReopenMs, ms)
		}
	}
	return res, nil
}

func fillMemory(res *Result, base procMem) {
	runtime.GC()
	m := readRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.RSS, res.PeakRSS, res.BaselineRSS = m.rss, m.hwm, base.rss
	res.HeapInuse = int64(ms.HeapInuse)
}

// mustGet reads record i and fails if it is missing.
func mustGet(s Store, i uint64) (int, bool, error) {
	ks := keyString(i)
	n, ok, err := s.Get(ks, []byte(ks))
	if err == nil && !ok {
		err = fmt.Errorf("record %d (key %s) not found", i, ks)
	}
	return n, ok, err
}

// runGets loads N records (untimed), then reads random ones from one
// goroutine for the spec's duration, once with string values and once with
// []byte values (dbrs moves the data to its []byte table in between), each
// after an untimed warm-up of a quarter of that. The keys to read are
// generated before the clock starts.
func runGets(def StoreDef, spec Spec) (*Result, error) {
	s, err := def.Open(spec.Dir, OpenOptions{Variant: VarString})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	lo := LoadOptions{Batches: spec.Batches, BatchSize: spec.BatchSize}
	if _, err := s.Load(spec.N, lo); err != nil {
		return nil, err
	}
	m := min(spec.N, 1<<20)
	ks := make([]string, m)
	kb := make([][]byte, m)
	r := rng(0x9e3779b97f4a7c15)
	for j := range ks {
		ks[j] = keyString(r.next() % uint64(spec.N))
		kb[j] = []byte(ks[j])
	}
	res := &Result{GetRates: map[Variant]float64{}}
	for _, v := range []Variant{VarString, VarBytes} {
		if err := s.SwitchVariant(v, spec.N, lo); err != nil {
			return nil, err
		}
		// An untimed warm-up of the same loop first, as the browser bench
		// does: whichever timed loop first allocated a lot would otherwise
		// also pay for growing the heap to its GC goal (thousands of page
		// faults), which depended on the store's other variant, not on
		// its Gets.
		if _, err := spinGets(s, v, ks, kb, spec.Duration/4); err != nil {
			return nil, err
		}
		runtime.GC()
		start := time.Now()
		ops, err := spinGets(s, v, ks, kb, spec.Duration)
		if err != nil {
			return nil, err
		}
		res.GetRates[v] = float64(ops) / time.Since(start).Seconds()
	}
	return res, nil
}

// spinGets reads ks in order, round and round, for d, and returns how many
// Gets it made.
func spinGets(s Store, v Variant, ks []string, kb [][]byte, d time.Duration) (int64, error) {
	var ops int64
	deadline := time.Now().Add(d)
	for j := 0; ; {
		for range 256 {
			n, ok, err := s.Get(ks[j], kb[j])
			if err != nil {
				return ops, err
			}
			if !ok || n != ValueSize {
				return ops, fmt.Errorf("get %s (%s): ok=%v len=%d", ks[j], v, ok, n)
			}
			if j++; j == len(ks) {
				j = 0
			}
		}
		ops += 256
		if time.Now().After(deadline) {
			return ops, nil
		}
	}
}

// runScaleBuild loads N records into dbrs in durable transactions of
// BatchSize, then times a compaction.
func runScaleBuild(spec Spec) (*Result, error) {
	s, err := openDBRS(spec.Dir, OpenOptions{Variant: VarString})
	if err != nil {
		return nil, err
	}
	d := s.(*dbrsStore)
	defer d.Close()
	start := time.Now()
	if _, err := d.Load(spec.N, LoadOptions{Batches: true, BatchSize: spec.BatchSize}); err != nil {
		return nil, err
	}
	res := &Result{LoadSeconds: time.Since(start).Seconds()}
	res.LogBytes = d.db.Stats().LogBytes
	start = time.Now()
	if err := d.db.Compact(); err != nil {
		return nil, err
	}
	res.CompactMs = float64(time.Since(start).Microseconds()) / 1000
	res.CompactBytes = d.db.Stats().LogBytes
	return res, d.Close()
}

// runScaleOpen opens the folder runScaleBuild left, in a fresh process, and
// times it until the first Get succeeds; then reads the RSS.
func runScaleOpen(spec Spec) (*Result, error) {
	base := readRSS()
	start := time.Now()
	s, err := openDBRS(spec.Dir, OpenOptions{Variant: VarString})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, _, err := mustGet(s, 0); err != nil {
		return nil, err
	}
	res := &Result{OpenMs: float64(time.Since(start).Microseconds()) / 1000}
	fillMemory(res, base)
	return res, nil
}

type procMem struct{ rss, hwm int64 }

// readRSS reads VmRSS and VmHWM from /proc/self/status.
func readRSS() procMem {
	var m procMem
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	return m
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
