package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Config is one benchmark run.
type Config struct {
	Mode      string        `json:"mode"`       // "short", "full" or "custom"
	N         int           `json:"records"`    // records for P3–P6
	CommitDur time.Duration `json:"commit_dur"` // one P1 or P2 run
	GetDur    time.Duration `json:"get_dur"`    // one P4 run
	Rounds    int           `json:"rounds"`     // interleaved repeats of P3–P6; medians are reported
	// CommitRounds is the number of interleaved P1/P2 repeats: short runs,
	// many of them, so that a burst of other disk traffic moves the median
	// less.
	CommitRounds int           `json:"commit_rounds"`
	Goroutines   int           `json:"goroutines"`       // P2 writers
	Reopens      int           `json:"reopens"`          // P5 reopens per child (the first is reported)
	BatchSize    int           `json:"batch_size"`       // dbrs fallback batch
	ScaleNs      []int         `json:"scale_ns"`         // scaling-curve sizes
	Timeout      time.Duration `json:"child_limit"`      // per child process
	Stores       []string      `json:"stores,omitempty"` // only these stores; empty means all

	OutDir       string    `json:"-"`
	TmpDir       string    `json:"-"` // parent of the scratch folder; "" means os.TempDir()
	Readme       string    `json:"-"` // README to update between the markers; "" for none
	ProfileStore string    `json:"-"` // write CPU profiles of this store's children into OutDir/profiles
	Log          io.Writer `json:"-"`
}

// Short is `make bench`: under 3 minutes on 2 cores.
func Short() Config {
	return Config{
		Mode: "short", N: 100_000, CommitDur: 600 * time.Millisecond, GetDur: 500 * time.Millisecond,
		Rounds: 3, CommitRounds: 5, Goroutines: 16, Reopens: 3, BatchSize: 100_000,
		ScaleNs: []int{1_000, 10_000, 100_000, 1_000_000}, Timeout: 2 * time.Minute,
	}
}

// Full is `make bench-full`: 1M records, longer runs, and 10M on the curve.
func Full() Config {
	return Config{
		Mode: "full", N: 1_000_000, CommitDur: 3 * time.Second, GetDur: 2 * time.Second,
		Rounds: 3, CommitRounds: 5, Goroutines: 16, Reopens: 3, BatchSize: 100_000,
		ScaleNs: []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000}, Timeout: 15 * time.Minute,
	}
}

// workload describes one column of the report.
type workload struct {
	ID      string
	Work    Work
	Variant Variant
	Title   string
	Unit    string
	Lower   bool // lower is better
}

func workloads(c Config) []workload {
	return []workload{
		{"P1", WorkP1, VarString, "P1: durable single-key commits, 1 goroutine", "ops/s", false},
		{"P2", WorkP2, VarString, fmt.Sprintf("P2: durable single-key commits, %d goroutines", c.Goroutines), "ops/s", false},
		{"P3", WorkP3, VarString, fmt.Sprintf("P3: bulk load of %s records, synced at the end", count(c.N)), "records/s", false},
		{"P4-string", WorkP4, VarString, "P4: random Get, 1 goroutine, string values", "ops/s", false},
		{"P4-bytes", WorkP4, VarBytes, "P4: random Get, 1 goroutine, []byte values", "ops/s", false},
		{"P5", WorkP3, VarString, "P5: close + reopen until the first Get succeeds", "ms", true},
		{"P6", WorkP3, VarString, fmt.Sprintf("P6: RSS after loading %s records", count(c.N)), "MB", true},
	}
}

// roundsOf is the number of rounds of a job.
func (c Config) roundsOf(j Work) int {
	if (j == WorkP1 || j == WorkP2) && c.CommitRounds > 0 {
		return c.CommitRounds
	}
	return c.Rounds
}

// storesFor lists the stores that take part in a workload.
func storesFor(c Config, w workload) []StoreDef {
	var out []StoreDef
	for _, s := range Stores {
		switch {
		case len(c.Stores) > 0 && !slices.Contains(c.Stores, s.Name):
		case s.P1Only && w.Work != WorkP1:
		case s.WriteOnly && w.Work != WorkP1 && w.Work != WorkP2:
		default:
			out = append(out, s)
		}
	}
	return out
}

// value extracts a workload's number from a child's result.
func (w workload) value(r *Result) float64 {
	switch w.ID {
	case "P5":
		return r.ReopenMs
	case "P6":
		return float64(r.RSS) / 1e6
	case "P4-string", "P4-bytes":
		return r.GetRates[w.Variant]
	}
	return r.Rate
}

// Run runs the benchmarks and writes the report. It returns the report even
// when some child failed (the failures are in it); err is then non-nil.
func Run(c Config) (*Report, error) {
	if c.Log == nil {
		c.Log = os.Stderr
	}
	for _, name := range c.Stores {
		if _, err := storeByName(name); err != nil {
			return nil, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmpParent := c.TmpDir
	if tmpParent == "" {
		tmpParent = os.TempDir()
	}
	maxN := c.N
	for _, n := range c.ScaleNs {
		maxN = max(maxN, n)
	}
	// A generous bound: logs, LSM write amplification and a compaction's
	// second copy, all of one store at a time.
	need := int64(maxN)*RecordBytes*12 + 1<<30
	if free, err := freeBytes(tmpParent); err == nil && free < need {
		return nil, fmt.Errorf("%s has %.1f GB free; the run needs about %.1f GB", tmpParent, float64(free)/1e9, float64(need)/1e9)
	}
	tmp, err := os.MkdirTemp(tmpParent, "dbrsbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return nil, err
	}
	r := &runner{c: c, exe: exe, tmp: tmp, start: time.Now()}
	if c.ProfileStore != "" {
		r.profDir = filepath.Join(c.OutDir, "profiles")
		if err := os.MkdirAll(r.profDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep := newReport(c)
	ws := workloads(c)
	cells := map[string]*Cell{}
	for _, w := range ws {
		wr := WorkloadResult{ID: w.ID, Title: w.Title, Unit: w.Unit, LowerIsBetter: w.Lower}
		for _, s := range storesFor(c, w) {
			wr.Cells = append(wr.Cells, Cell{Store: s.Name})
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	for i := range rep.Workloads {
		for j := range rep.Workloads[i].Cells {
			cl := &rep.Workloads[i].Cells[j]
			cells[rep.Workloads[i].ID+"/"+cl.Store] = cl
		}
	}
	// One child per (job, store, round); P4-string and P4-bytes share a job.
	var jobs []Work
	byJob := map[Work][]workload{}
	for _, w := range ws {
		if byJob[w.Work] == nil {
			jobs = append(jobs, w.Work)
		}
		byJob[w.Work] = append(byJob[w.Work], w)
	}
	for _, j := range jobs {
		r.total += len(storesFor(c, byJob[j][0])) * c.roundsOf(j)
	}
	r.total += 2 * len(c.ScaleNs)

	dbrsBatches := false // set once a dbrs P3 load had to fall back to batches
	var failures []string
	for round := 0; round < max(c.Rounds, c.CommitRounds); round++ {
		for _, job := range jobs {
			if round >= c.roundsOf(job) {
				continue
			}
			group := byJob[job]
			stores := storesFor(c, group[0])
			// Interleave: every store once per round, the order rotated
			// each round.
			for k := range stores {
				s := stores[(k+round)%len(stores)]
				spec := Spec{
					Work: job, Store: s.Name, Variant: group[0].Variant, N: c.N,
					Goroutines: c.Goroutines, Reopens: c.Reopens, BatchSize: c.BatchSize,
				}
				switch job {
				case WorkP1, WorkP2:
					spec.Duration = c.CommitDur
				case WorkP4:
					spec.Duration = c.GetDur
				}
				// Only P3 measures the load; the others load the way P3
				// found to work.
				spec.Batches = s.Name == "dbrs" && dbrsBatches && job != WorkP3
				name := string(job)
				if len(group) > 1 {
					var ids []string
					for _, w := range group {
						ids = append(ids, w.ID)
					}
					name = strings.Join(ids, "+")
				}
				label := fmt.Sprintf("%s round %d %s", name, round+1, s.Name)
				res, wall, err := r.runOne(spec, fmt.Sprintf("%s-%s-r%d", job, s.Name, round+1), label)
				// When dbrs's one transaction was refused, its P6 comes
				// from a child that loads in batches from the start, so
				// that the refused transaction's garbage is not counted.
				var (
					p6       *Result
					p6Wall   float64
					err6     error
					fellBack bool
				)
				if err != nil {
					failures = append(failures, label+": "+err.Error())
					r.logf("%s: FAILED: %v", label, err)
				} else if job == WorkP3 && s.Name == "dbrs" && res.Load != nil && res.Load.Fallback {
					dbrsBatches, fellBack = true, true
					r.total++
					spec6 := spec
					spec6.Work, spec6.Batches = WorkP6, true
					label6 := fmt.Sprintf("P6 round %d %s (batches)", round+1, s.Name)
					p6, p6Wall, err6 = r.runOne(spec6, fmt.Sprintf("P6-%s-r%d", s.Name, round+1), label6)
					if err6 != nil {
						failures = append(failures, label6+": "+err6.Error())
						r.logf("%s: FAILED: %v", label6, err6)
					} else {
						r.logf("%s: %s MB", label6, mb(p6.RSS))
					}
				}
				var shown []string
				for _, w := range group {
					smp := Sample{Round: round + 1, WallSeconds: wall}
					out, e := res, err
					if w.ID == "P6" && fellBack {
						out, e, smp.WallSeconds = p6, err6, p6Wall
					}
					if e != nil {
						smp.Err = e.Error()
					} else {
						smp.Value = w.value(out)
						smp.Result = out
						v := fmt.Sprintf("%s %s", fmtNum(smp.Value), w.Unit)
						if len(group) > 1 {
							v = w.ID + " " + v
						}
						shown = append(shown, v)
					}
					cl := cells[w.ID+"/"+s.Name]
					cl.Samples = append(cl.Samples, smp)
				}
				if err == nil {
					r.logf("%s: %s", label, strings.Join(shown, ", "))
				}
			}
		}
	}
	if len(c.ScaleNs) > 0 {
		sc, errs := r.scaling()
		rep.Scaling = sc
		failures = append(failures, errs...)
	}
	rep.finish(time.Since(r.start))
	if err := rep.Write(c.OutDir, c.Readme); err != nil {
		return rep, err
	}
	r.logf("wrote %s (results.json, results.md, *.svg)", c.OutDir)
	if len(failures) > 0 {
		return rep, fmt.Errorf("%d child runs failed:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	return rep, nil
}

type runner struct {
	c       Config
	exe     string
	tmp     string
	profDir string
	start   time.Time
	done    int
	total   int
}

func (r *runner) logf(format string, args ...any) {
	el := time.Since(r.start).Round(time.Second)
	fmt.Fprintf(r.c.Log, "[%3d/%3d %6s] %s\n", r.done, r.total, el, fmt.Sprintf(format, args...))
}

// runOne runs spec in a fresh child process with a fresh folder.
func (r *runner) runOne(spec Spec, name, label string) (*Result, float64, error) {
	dir, err := os.MkdirTemp(r.tmp, "job-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	spec.Dir = filepath.Join(dir, "db")
	if err := os.Mkdir(spec.Dir, 0o700); err != nil {
		return nil, 0, err
	}
	return r.exec(spec, dir, name)
}

// exec runs one child; dir holds its result file.
func (r *runner) exec(spec Spec, dir, name string) (*Result, float64, error) {
	r.done++
	spec.ResultPath = filepath.Join(dir, "result-"+name+".json")
	if r.profDir != "" && spec.Store == r.c.ProfileStore {
		spec.CPUProfile = filepath.Join(r.profDir, name+".pprof")
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("killed after %s; %s", r.c.Timeout, msg)
		}
		return nil, wall, fmt.Errorf("%v: %s", err, msg)
	}
	data, err := os.ReadFile(spec.ResultPath)
	if err != nil {
		return nil, wall, err
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, wall, err
	}
	return &res, wall, nil
}

// scaling builds dbrs folders of each size (load, then a timed compaction)
// and opens each in a fresh process (open time, RSS).
func (r *runner) scaling() (*Scaling, []string) {
	sc := &Scaling{BatchSize: r.c.BatchSize}
	var failures []string
	for _, n := range r.c.ScaleNs {
		pt := ScalePoint{N: n, DataBytes: int64(n) * RecordBytes}
		err := func() error {
			dir, err := os.MkdirTemp(r.tmp, "scale-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			db := filepath.Join(dir, "db")
			spec := Spec{Work: WorkSBuild, Store: "dbrs", Dir: db, N: n, BatchSize: r.c.BatchSize}
			b, _, err := r.exec(spec, dir, fmt.Sprintf("scale-build-%d", n))
			if err != nil {
				return fmt.Errorf("build: %w", err)
			}
			spec = Spec{Work: WorkSOpen, Store: "dbrs", Dir: db, N: n}
			o, _, err := r.exec(spec, dir, fmt.Sprintf("scale-open-%d", n))
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			pt.LoadSeconds, pt.LogBytes, pt.CompactMs, pt.CompactBytes = b.LoadSeconds, b.LogBytes, b.CompactMs, b.CompactBytes
			pt.OpenMs, pt.RSS, pt.BaselineRSS, pt.HeapInuse = o.OpenMs, o.RSS, o.BaselineRSS, o.HeapInuse
			return nil
		}()
		if err != nil {
			pt.Err = err.Error()
			failures = append(failures, fmt.Sprintf("scaling %d: %v", n, err))
			r.logf("scaling %s: FAILED: %v", count(n), err)
		} else {
			r.logf("scaling %s: open %.1f ms, RSS %.1f MB, compaction %.1f ms, log %.1f MB (compacted %.1f MB)",
				count(n), pt.OpenMs, float64(pt.RSS)/1e6, pt.CompactMs, float64(pt.LogBytes)/1e6, float64(pt.CompactBytes)/1e6)
		}
		sc.Points = append(sc.Points, pt)
	}
	return sc, failures
}

func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
