package harness

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Report is results.json.
type Report struct {
	Meta      Meta             `json:"meta"`
	Config    Config           `json:"config"`
	Stores    []StoreInfo      `json:"stores"`
	Workloads []WorkloadResult `json:"workloads"`
	Ratios    []Ratio          `json:"ratios"`
	Scaling   *Scaling         `json:"scaling,omitempty"`
	Notes     []string         `json:"notes"`
}

// StoreInfo describes a store as configured.
type StoreInfo struct {
	Name    string `json:"name"`
	Desc    string `json:"desc"`
	Version string `json:"version,omitempty"`
}

// WorkloadResult holds one workload's numbers for every store.
type WorkloadResult struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	Unit          string `json:"unit"`
	LowerIsBetter bool   `json:"lower_is_better"`
	Cells         []Cell `json:"cells"`
}

// Cell is one store in one workload: every round's sample and their median.
type Cell struct {
	Store   string   `json:"store"`
	Median  float64  `json:"median"`
	Min     float64  `json:"min"`
	Max     float64  `json:"max"`
	OK      int      `json:"ok"` // samples without error
	Samples []Sample `json:"samples"`
}

// Sample is one child run.
type Sample struct {
	Round       int     `json:"round"`
	Value       float64 `json:"value"`
	WallSeconds float64 `json:"wall_seconds"`
	Err         string  `json:"error,omitempty"`
	Result      *Result `json:"result,omitempty"`
}

// Ratio compares dbrs with a reference store against a target.
type Ratio struct {
	Workload string  `json:"workload"`
	Against  string  `json:"against"`
	DBRS     float64 `json:"dbrs"`
	Ref      float64 `json:"reference"`
	Ratio    float64 `json:"ratio"`
	// Paired is the median over rounds of dbrs ÷ reference within a
	// round: less moved by load that comes and goes between rounds.
	Paired float64 `json:"paired_ratio"`
	Target float64 `json:"target"`
	AtMost bool    `json:"at_most"` // the ratio must be ≤ Target (else ≥)
	Met    bool    `json:"met"`
}

// Scaling is dbrs's curve over database sizes.
type Scaling struct {
	BatchSize int          `json:"batch_size"`
	Points    []ScalePoint `json:"points"`
	Fits      []Fit        `json:"fits"`
}

// ScalePoint is one database size.
type ScalePoint struct {
	N            int     `json:"n"`
	DataBytes    int64   `json:"data_bytes"`
	LoadSeconds  float64 `json:"load_seconds"`
	LogBytes     int64   `json:"log_bytes"`     // after the load
	CompactMs    float64 `json:"compact_ms"`    // db.Compact()
	CompactBytes int64   `json:"compact_bytes"` // log after compaction
	OpenMs       float64 `json:"open_ms"`       // fresh process, until the first Get
	RSS          int64   `json:"rss"`           // after open + runtime.GC()
	BaselineRSS  int64   `json:"baseline_rss"`  // the same process before open
	HeapInuse    int64   `json:"heap_inuse"`
	Err          string  `json:"error,omitempty"`
}

// Fit says whether a quantity grows linearly with the record count: it
// compares the marginal cost per record over the first interval from 10k
// records up with that over the last. A ratio within [1/1.5, 1.5] is linear.
type Fit struct {
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"` // of the marginal cost, per record
	From     []int     `json:"from"`
	To       []int     `json:"to"`
	Marginal []float64 `json:"marginal"`
	Growth   float64   `json:"growth"` // last marginal ÷ first marginal
	Slope    float64   `json:"loglog_slope"`
	Verdict  string    `json:"verdict"`
}

func newReport(c Config) *Report {
	rep := &Report{Meta: machineMeta(c.TmpDir), Config: c}
	vers := moduleVersions()
	for _, s := range Stores {
		si := StoreInfo{Name: s.Name, Desc: s.Desc}
		if mod, ok := storeModules[s.Name]; ok {
			si.Version = vers[mod]
		}
		rep.Stores = append(rep.Stores, si)
	}
	return rep
}

// targets are the project's goals for dbrs.
var targets = []struct {
	workload, against string
	target            float64
	atMost            bool
}{
	{"P1", "raw-prealloc", 0.95, false},
	{"P2", "pebble", 1.5, false},
	{"P3", "pebble", 1.0, false},
	{"P4-string", "raw", 0.9, false},
	{"P4-bytes", "raw", 0.9, false},
	{"P5", "raw", 0.8, true},
	{"P6", "raw", 1.0, true},
}

func (rep *Report) cell(workload, store string) *Cell {
	for i := range rep.Workloads {
		if rep.Workloads[i].ID != workload {
			continue
		}
		for j := range rep.Workloads[i].Cells {
			if rep.Workloads[i].Cells[j].Store == store {
				return &rep.Workloads[i].Cells[j]
			}
		}
	}
	return nil
}

// finish computes medians, ratios, fits and notes.
func (rep *Report) finish(wall time.Duration) {
	rep.Meta.WallSeconds = math.Round(wall.Seconds()*10) / 10
	rep.Meta.LoadEnd = loadAvg()
	for i := range rep.Workloads {
		for j := range rep.Workloads[i].Cells {
			cl := &rep.Workloads[i].Cells[j]
			var vals []float64
			for _, s := range cl.Samples {
				if s.Err == "" {
					vals = append(vals, s.Value)
				}
			}
			cl.OK = len(vals)
			if len(vals) > 0 {
				cl.Median = median(vals)
				cl.Min, cl.Max = vals[0], vals[0]
				for _, v := range vals {
					cl.Min, cl.Max = min(cl.Min, v), max(cl.Max, v)
				}
			}
		}
	}
	for _, t := range targets {
		d, r := rep.cell(t.workload, "dbrs"), rep.cell(t.workload, t.against)
		if d == nil || r == nil || d.OK == 0 || r.OK == 0 || r.Median == 0 {
			continue
		}
		ra := Ratio{Workload: t.workload, Against: t.against, DBRS: d.Median, Ref: r.Median,
			Ratio: d.Median / r.Median, Target: t.target, AtMost: t.atMost}
		ra.Paired = pairedRatio(d, r)
		if t.atMost {
			ra.Met = ra.Ratio <= t.target
		} else {
			ra.Met = ra.Ratio >= t.target
		}
		rep.Ratios = append(rep.Ratios, ra)
	}
	if rep.Scaling != nil {
		rep.Scaling.fit()
	}
	rep.notes()
}

// pairedRatio is the median of d ÷ r over the rounds where both have a value.
func pairedRatio(d, r *Cell) float64 {
	byRound := map[int]float64{}
	for _, s := range r.Samples {
		if s.Err == "" && s.Value > 0 {
			byRound[s.Round] = s.Value
		}
	}
	var ratios []float64
	for _, s := range d.Samples {
		if v, ok := byRound[s.Round]; ok && s.Err == "" {
			ratios = append(ratios, s.Value/v)
		}
	}
	return median(ratios)
}

func (sc *Scaling) fit() {
	var pts []ScalePoint
	for _, p := range sc.Points {
		if p.Err == "" {
			pts = append(pts, p)
		}
	}
	quantities := []struct {
		name, unit string
		f          func(ScalePoint) float64
	}{
		{"open time", "µs/record", func(p ScalePoint) float64 { return p.OpenMs * 1000 }},
		{"RSS above the process baseline", "bytes/record", func(p ScalePoint) float64 { return float64(p.RSS - p.BaselineRSS) }},
		{"compaction time", "µs/record", func(p ScalePoint) float64 { return p.CompactMs * 1000 }},
		{"log size after compaction", "bytes/record", func(p ScalePoint) float64 { return float64(p.CompactBytes) }},
	}
	sc.Fits = nil
	for _, q := range quantities {
		f := Fit{Quantity: q.name, Unit: q.unit}
		var prev *ScalePoint
		for i := range pts {
			p := &pts[i]
			if prev != nil && prev.N >= 10_000 {
				f.From = append(f.From, prev.N)
				f.To = append(f.To, p.N)
				f.Marginal = append(f.Marginal, (q.f(*p)-q.f(*prev))/float64(p.N-prev.N))
			}
			prev = p
		}
		switch {
		case len(f.Marginal) == 0:
			f.Verdict = "not enough points"
		case len(f.Marginal) == 1:
			f.Verdict = "one interval only"
		default:
			first, last := f.Marginal[0], f.Marginal[len(f.Marginal)-1]
			a, b := pts[len(pts)-2], pts[len(pts)-1]
			if ya, yb := q.f(a), q.f(b); ya > 0 && yb > 0 {
				f.Slope = math.Log(yb/ya) / math.Log(float64(b.N)/float64(a.N))
			}
			if first > 0 {
				f.Growth = last / first
			}
			switch {
			case first <= 0:
				f.Verdict = "undetermined (no growth over the first interval)"
			case f.Growth > 1.5:
				f.Verdict = fmt.Sprintf("superlinear: the cost per added record grew %.2f×", f.Growth)
			case f.Growth < 1/1.5:
				f.Verdict = fmt.Sprintf("sublinear: the cost per added record fell to %.2f×", f.Growth)
			default:
				f.Verdict = fmt.Sprintf("linear (cost per added record ×%.2f from the first interval to the last)", f.Growth)
			}
		}
		sc.Fits = append(sc.Fits, f)
	}
}

func (rep *Report) notes() {
	rep.Notes = nil
	if d := rep.cell("P3", "dbrs"); d != nil {
		modes := map[string]int{}
		for _, s := range d.Samples {
			if s.Result != nil && s.Result.Load != nil {
				modes[s.Result.Load.Mode]++
			}
		}
		var ms []string
		for m, k := range modes {
			ms = append(ms, fmt.Sprintf("%s (%d of %d runs)", m, k, len(d.Samples)))
		}
		sort.Strings(ms)
		if len(ms) > 0 {
			rep.Notes = append(rep.Notes, "dbrs P3 load: "+strings.Join(ms, "; ")+".")
		}
	}
}

// Write writes results.json, results.md and the charts into dir, and the
// Markdown into readme between its markers if readme is not "".
func (rep *Report) Write(dir, readme string) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	for _, w := range rep.Workloads {
		if err := os.WriteFile(filepath.Join(dir, chartName(w.ID)), []byte(barChart(w)), 0o644); err != nil {
			return err
		}
	}
	if rep.Scaling != nil {
		if err := os.WriteFile(filepath.Join(dir, "scaling.svg"), []byte(scalingChart(rep.Scaling)), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(rep.Markdown("")), 0o644); err != nil {
		return err
	}
	if readme == "" {
		return nil
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	absReadme, err := filepath.Abs(readme)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(absReadme), absDir)
	if err != nil {
		return err
	}
	return updateReadme(readme, rep.Markdown(filepath.ToSlash(rel)+"/"))
}

func chartName(id string) string { return strings.ToLower(id) + ".svg" }

// Markers delimit the generated part of the README.
const (
	readmeBegin = "<!-- bench:begin (generated by bench/cmd/dbrsbench; `make bench` rewrites this part) -->"
	readmeEnd   = "<!-- bench:end -->"
)

func updateReadme(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i := strings.Index(s, readmeBegin)
	j := strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q … %q not found", path, readmeBegin, readmeEnd)
	}
	s = s[:i+len(readmeBegin)] + "\n\n" + md + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}

// count formats a record count: 1k, 100k, 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

// fmtNum formats a measurement: thousands separators from 1,000, and
// fewer decimals as numbers grow.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		s := fmt.Sprintf("%.0f", v)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func mb(b int64) string { return fmtNum(float64(b) / 1e6) }

func fmtDuration(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// Markdown renders the report; prefix is prepended to chart file names.
func (rep *Report) Markdown(prefix string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m, c := rep.Meta, rep.Config
	p("_Generated by `bench/cmd/dbrsbench` (%s mode) on %s. Machine: %s, %d CPUs (nproc), %.1f GiB RAM, Linux %s, %s file system. %s %s. dbrs commit %s. Wall time of the run: %s; 1-minute load average %s at the start, %s at the end._\n\n",
		c.Mode, m.Date, m.CPU, m.NumCPU, float64(m.MemBytes)/(1<<30), m.Kernel, m.FileSystem, m.GoVersion, m.Platform, orUnknown(m.Commit), fmtDuration(m.WallSeconds), orUnknown(m.LoadStart), orUnknown(m.LoadEnd))
	p("16-byte keys, 100-byte values, every write durable (fdatasync before the call returns). P3–P6 use %s records (%s MB of keys + values). Each run is a fresh child process with a fresh folder; the stores take turns in interleaved rounds (every store once per round, the order rotated each round) and the tables show medians: P1 and P2 %s of %s each, P3–P6 %s (P4: %s per value type).\n\n",
		count(c.N), mb(int64(c.N)*RecordBytes), plural(c.roundsOf(WorkP1), "round"), c.CommitDur, plural(c.Rounds, "round"), c.GetDur)

	// Main table.
	p("| store |")
	for _, w := range rep.Workloads {
		p(" %s %s |", w.ID, shortUnit(w))
	}
	p("\n|---|")
	for range rep.Workloads {
		p("---:|")
	}
	p("\n")
	for _, s := range Stores {
		name := s.Name
		if name == "dbrs" {
			name = "**dbrs**"
		}
		p("| %s |", name)
		for _, w := range rep.Workloads {
			cl := rep.cell(w.ID, s.Name)
			switch {
			case cl == nil:
				p(" – |")
			case cl.OK == 0:
				p(" error |")
			default:
				v := fmtNum(cl.Median)
				if s.Name == "dbrs" {
					v = "**" + v + "**"
				}
				if cl.OK < len(cl.Samples) {
					v += fmt.Sprintf(" (%d/%d ok)", cl.OK, len(cl.Samples))
				}
				p(" %s |", v)
			}
		}
		p("\n")
	}
	p("\nHigher is better except P5 (ms) and P6 (MB). P6 is the process's VmRSS after `runtime.GC()`; the data is %s MB.\n\n", mb(int64(c.N)*RecordBytes))

	// Targets.
	p("**dbrs against its targets** (ratio of medians):\n\n")
	p("| workload | dbrs | reference | ratio | median of per-round ratios | target | met (ratio of medians) |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Ratios {
		op, met := "≥", "yes"
		if r.AtMost {
			op = "≤"
		}
		if !r.Met {
			met = "**no**"
		}
		p("| %s | %s | %s %s | %.2f× | %.2f× | %s %.2f× | %s |\n", r.Workload, fmtNum(r.DBRS), r.Against, fmtNum(r.Ref), r.Ratio, r.Paired, op, r.Target, met)
	}
	p("\n")

	// Details.
	p("Details:\n\n")
	for _, n := range rep.Notes {
		p("- %s\n", n)
	}
	if d := rep.cell("P2", "dbrs"); d != nil {
		var cps []float64
		for _, s := range d.Samples {
			if s.Result != nil && s.Result.Extra != nil {
				cps = append(cps, s.Result.Extra["commits_per_sync"])
			}
		}
		if len(cps) > 0 {
			p("- P2: dbrs shared one fdatasync among %.1f commits (median; group commit). raw and raw-prealloc serialize write + fdatasync and do not group.\n", median(cps))
		}
	}
	p("- P3 load method per store: %s.\n", rep.loadModes())
	p("- P4 reads keys in a pseudo-random order over all records; the keys are built before the clock starts, and each timed run follows an untimed warm-up of a quarter of its length (the same loop), so that no store's timed reads pay for growing its heap. One child per store runs string values, then `[]byte` values (dbrs clears its string table and loads the same records into a `LookupTable[string, []byte]` in between; the other stores hold bytes and only change how they copy the value out). Stores that hand out bytes valid only for a moment (bbolt, badger, pebble) or mutable slices (raw) are read with a copy (`string(v)` or a new slice), as a caller must; dbrs returns its own copy of the `[]byte` values it holds and shares immutable strings. The reads (warm-up first) start right after the load: badger and pebble may still be flushing it in the background.\n")
	p("- P3, P5 and P6 come from one child per store and round: the load (P3, timed), then the RSS after `runtime.GC()` (P6), then close and reopen until the first Get (P5); a dbrs load that fell back to batches gets a second child for P6 that loads in batches from the start. P4 has a child of its own.\n")
	p("- P5 is the first reopen after the load (for badger and pebble it replays the WAL). Later reopens of the same settled folder (median): %s.\n", rep.warmReopens())
	p("- Spread, (max − min) ÷ median over the rounds, largest store per workload: %s.\n\n", rep.spreads())

	// P6 details.
	p("P6 memory in detail (MB, medians):\n\n| store | VmRSS | process before open | VmRSS − before | Go heap in use | peak (VmHWM) |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range Stores {
		cl := rep.cell("P6", s.Name)
		if cl == nil || cl.OK == 0 {
			continue
		}
		var rss, base, heap, peak []float64
		for _, smp := range cl.Samples {
			if r := smp.Result; r != nil {
				rss = append(rss, float64(r.RSS)/1e6)
				base = append(base, float64(r.BaselineRSS)/1e6)
				heap = append(heap, float64(r.HeapInuse)/1e6)
				peak = append(peak, float64(r.PeakRSS)/1e6)
			}
		}
		p("| %s | %s | %s | %s | %s | %s |\n", s.Name, fmtNum(median(rss)), fmtNum(median(base)), fmtNum(median(rss)-median(base)), fmtNum(median(heap)), fmtNum(median(peak)))
	}
	p("\n")

	// Scaling.
	if sc := rep.Scaling; sc != nil {
		p("**dbrs scaling** (one `LookupTable[string, string]`; loaded in durable transactions of %s, then `db.Compact()`; opened in a fresh process until the first Get; RSS after `runtime.GC()`; one run per size):\n\n", count(sc.BatchSize))
		p("| records | data MB | load s | log MB after load | compaction ms | log MB compacted | open ms | RSS MB | RSS − process before open, MB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, pt := range sc.Points {
			if pt.Err != "" {
				p("| %s | error: %s |\n", count(pt.N), strings.ReplaceAll(firstLine(pt.Err), "|", "/"))
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", count(pt.N), mb(pt.DataBytes), fmtNum(pt.LoadSeconds), mb(pt.LogBytes),
				fmtNum(pt.CompactMs), mb(pt.CompactBytes), fmtNum(pt.OpenMs), mb(pt.RSS), mb(pt.RSS-pt.BaselineRSS))
		}
		p("\nIs it linear? The marginal cost per added record, over each interval from 10k records up:\n\n")
		for _, f := range sc.Fits {
			var parts []string
			for i := range f.Marginal {
				parts = append(parts, fmt.Sprintf("%s→%s: %s", count(f.From[i]), count(f.To[i]), fmtNum(f.Marginal[i])))
			}
			p("- **%s**: %s. (%s %s; log-log slope of the last interval %.2f.)\n", f.Quantity, f.Verdict, strings.Join(parts, ", "), f.Unit, f.Slope)
		}
		p("\n")
	}

	// Charts.
	p("Charts (median bar; the whisker spans min–max over the rounds):\n\n")
	for _, w := range rep.Workloads {
		p("![%s](%s%s) ", w.Title, prefix, chartName(w.ID))
	}
	if rep.Scaling != nil {
		p("\n\n![dbrs scaling](%sscaling.svg)", prefix)
	}
	p("\n\nStores:\n\n")
	for _, s := range rep.Stores {
		v := ""
		if s.Version != "" {
			v = " " + s.Version
		}
		p("- **%s**%s: %s\n", s.Name, v, s.Desc)
	}
	return b.String()
}

func shortUnit(w WorkloadResult) string {
	switch w.ID {
	case "P4-string", "P4-bytes":
		return "Get/s"
	case "P1", "P2":
		return "commits/s"
	}
	return w.Unit
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (rep *Report) loadModes() string {
	var parts []string
	for _, s := range Stores {
		cl := rep.cell("P3", s.Name)
		if cl == nil {
			continue
		}
		for _, smp := range cl.Samples {
			if smp.Result != nil && smp.Result.Load != nil {
				parts = append(parts, fmt.Sprintf("%s: %s", s.Name, smp.Result.Load.Mode))
				break
			}
		}
	}
	return strings.Join(parts, "; ")
}

func (rep *Report) warmReopens() string {
	var parts []string
	for _, s := range Stores {
		cl := rep.cell("P5", s.Name)
		if cl == nil {
			continue
		}
		var all []float64
		for _, smp := range cl.Samples {
			if smp.Result != nil {
				all = append(all, smp.Result.WarmReopenMs...)
			}
		}
		if len(all) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s ms", s.Name, fmtNum(median(all))))
		}
	}
	if len(parts) == 0 {
		return "none measured"
	}
	return strings.Join(parts, ", ")
}

func (rep *Report) spreads() string {
	var parts []string
	for _, w := range rep.Workloads {
		worst, who := 0.0, ""
		for _, cl := range w.Cells {
			if cl.OK > 1 && cl.Median > 0 {
				if s := (cl.Max - cl.Min) / cl.Median; s >= worst {
					worst, who = s, cl.Store
				}
			}
		}
		if who != "" {
			parts = append(parts, fmt.Sprintf("%s %.0f%% (%s)", w.ID, worst*100, who))
		}
	}
	if len(parts) == 0 {
		return "one round only"
	}
	return strings.Join(parts, ", ")
}
