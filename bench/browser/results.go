package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Results is what results.json holds.
type Results struct {
	Meta Meta     `json:"meta"`
	Rows []*Row   `json:"rows"`
	Wasm WasmSize `json:"wasm"`
}

// Meta says when, where and how the benchmark ran.
type Meta struct {
	Date        string  `json:"date"` // UTC, RFC 3339
	Chromium    string  `json:"chromium"`
	V8          string  `json:"v8"`
	UserAgent   string  `json:"userAgent"`
	Machine     Machine `json:"machine"`
	Dexie       string  `json:"dexie"`
	DbrsCommit  string  `json:"dbrsCommit"`
	ShimHasMany bool    `json:"shimHasMany"` // the shim has insertMany and getMany
	Config      Config  `json:"config"`
	Seconds     float64 `json:"seconds"` // wall time of the whole run
	// The machine's 1-minute load average when the run started and ended:
	// above the CPU count, other programs competed for the CPUs.
	LoadStart float64 `json:"loadStart"`
	LoadEnd   float64 `json:"loadEnd"`
}

// Row is one workload.
type Row struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Unit    string    `json:"unit"`
	Higher  bool      `json:"higherIsBetter"`
	Series  []*Series `json:"series"`
	Targets []*Target `json:"targets"`
}

// Series is one library's samples in a row.
type Series struct {
	Key     string    `json:"key"`
	Label   string    `json:"label"`
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Errors  []string  `json:"errors,omitempty"`
}

// Target is one goal of the issue: dbrs's median against another's.
type Target struct {
	Text  string  `json:"text"`
	Vs    string  `json:"vs"`    // the series dbrs is compared with
	Le    bool    `json:"le"`    // the ratio must be <= Want (else >=)
	Want  float64 `json:"want"`  // the ratio wanted
	Ratio float64 `json:"ratio"` // dbrs median ÷ the other's median; 0 when unknown
	Pass  *bool   `json:"pass"`  // nil when a median is missing
}

var labels = map[string]string{
	"dbrs":      "dbrs",
	"idb":       "raw IndexedDB",
	"dexie":     "Dexie",
	"dbrs-many": "dbrs (insertMany/getMany)",
}

func newResults(cfg Config) *Results {
	n, c, rd := num(float64(cfg.Records)), num(float64(cfg.Commits)), num(float64(cfg.Reads))
	row := func(id, title, unit string, higher bool, targets ...*Target) *Row {
		return &Row{ID: id, Title: title, Unit: unit, Higher: higher, Targets: targets}
	}
	return &Results{Rows: []*Row{
		row("1", c+" single-record commits, each awaited, strict durability", "commits/s", true,
			&Target{Text: "≥ 1.0× raw IDB", Vs: "idb", Want: 1.0}, &Target{Text: "≥ 1.8× Dexie", Vs: "dexie", Want: 1.8}),
		row("2", c+" single-record commits, each awaited, relaxed durability", "commits/s", true,
			&Target{Text: "≥ 1.0× raw IDB", Vs: "idb", Want: 1.0}),
		row("3", n+" records in one transaction", "records/s", true,
			&Target{Text: "≥ 10× Dexie", Vs: "dexie", Want: 10}),
		row("4", rd+" random point reads, each awaited (dbrs: sync get)", "reads/s", true,
			&Target{Text: "≥ 50× Dexie", Vs: "dexie", Want: 50}),
		row("5", "the same "+rd+" reads in one read transaction (dbrs: view)", "reads/s", true,
			&Target{Text: "≥ 20× Dexie", Vs: "dexie", Want: 20}),
		row("6", "page load until the last of "+n+" records is readable", "ms", false,
			&Target{Text: "≤ 0.5× Dexie", Vs: "dexie", Le: true, Want: 0.5}),
		row("6b", "page load until all "+n+" records are in memory (getAll / toArray / entries())", "ms", false),
		row("6c", "page load until a new, empty database is open (dbrs: fetch and compile dbrs.wasm, start Go)", "ms", false),
	}}
}

func (r *Results) row(id string) *Row {
	for _, row := range r.Rows {
		if row.ID == id {
			return row
		}
	}
	panic("no row " + id)
}

func (row *Row) series(key string) *Series {
	for _, s := range row.Series {
		if s.Key == key {
			return s
		}
	}
	s := &Series{Key: key, Label: labels[key]}
	row.Series = append(row.Series, s)
	return s
}

func (r *Results) add(row, key string, v float64) {
	s := r.row(row).series(key)
	s.Samples = append(s.Samples, v)
}

func (r *Results) fail(key string, err error, rows ...string) {
	for _, row := range rows {
		s := r.row(row).series(key)
		s.Errors = append(s.Errors, errString(err))
	}
}

// finish computes the medians and the targets, and puts the series in the
// order dbrs, raw IndexedDB, Dexie, others.
func (r *Results) finish() {
	order := []string{"dbrs", "idb", "dexie", "dbrs-many"}
	for _, row := range r.Rows {
		slices.SortStableFunc(row.Series, func(a, b *Series) int {
			return slices.Index(order, a.Key) - slices.Index(order, b.Key)
		})
		for _, s := range row.Series {
			if len(s.Samples) > 0 {
				s.Median = median(s.Samples)
				s.Min, s.Max = slices.Min(s.Samples), slices.Max(s.Samples)
			}
		}
		for _, t := range row.Targets {
			d, o := row.median("dbrs"), row.median(t.Vs)
			if d > 0 && o > 0 {
				t.Ratio = d / o
				pass := t.Ratio >= t.Want
				if t.Le {
					pass = t.Ratio <= t.Want
				}
				t.Pass = &pass
			}
		}
	}
}

func (row *Row) median(key string) float64 {
	for _, s := range row.Series {
		if s.Key == key {
			return s.Median
		}
	}
	return 0
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// wasmTarget is row 7's goal: dbrs.wasm at most 1.0 MB (10^6 bytes) gzip -9.
const wasmTarget = 1_000_000

func (r *Results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(r.svg()), 0o644)
}

// num formats a number for people: 1,234 / 56.7 / 8.90.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		s := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(v float64) string {
	if v == 0 {
		return "–"
	}
	if v >= 10 {
		return fmt.Sprintf("%.0f×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

func mb(n int) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

// header is the line that says when, where and how.
func (r *Results) header() string {
	m := r.Meta
	c := m.Config
	var b strings.Builder
	mode := c.Mode
	if mode != "" {
		mode = strings.ToUpper(mode[:1]) + mode[1:]
	}
	fmt.Fprintf(&b, "%s mode, %s. %s (V8 %s), headless. Machine: %d × %s, %s RAM, %s, Linux %s. Dexie %s",
		mode, m.Date[:10], strings.Replace(m.Chromium, "/", " ", 1), m.V8,
		m.Machine.CPUs, m.Machine.CPUModel, mbRAM(m.Machine.MemoryMB), m.Machine.OS, m.Machine.Kernel, m.Dexie)
	if m.DbrsCommit != "" {
		fmt.Fprintf(&b, ", dbrs %s", m.DbrsCommit)
	}
	fmt.Fprintf(&b, ". Rows 1–2: %s commits × %d repeats; rows 3–6: %s records, %s reads, × %d repeats", num(float64(c.Commits)), c.CommitRepeats, num(float64(c.Records)), num(float64(c.Reads)), c.RecordsRepeats)
	if c.Mode == "short" {
		fmt.Fprintf(&b, " (short mode: the full run, `make bench-browser-full`, has %s commits, %s records and %s reads)",
			num(float64(fullConfig.Commits)), num(float64(fullConfig.Records)), num(float64(fullConfig.Reads)))
	}
	fmt.Fprintf(&b, ". Whole run: %.0f s; load average %.1f at the start, %.1f at the end.", m.Seconds, m.LoadStart, m.LoadEnd)
	return b.String()
}

func mbRAM(mb int) string {
	if mb >= 1024 {
		return fmt.Sprintf("%.0f GB", float64(mb)/1024)
	}
	return fmt.Sprintf("%d MB", mb)
}

func cell(row *Row, key string) string {
	for _, s := range row.Series {
		if s.Key == key {
			if len(s.Samples) == 0 {
				return "error"
			}
			v := num(s.Median)
			if len(s.Errors) > 0 {
				v += fmt.Sprintf(" (%d errors)", len(s.Errors))
			}
			return v
		}
	}
	return "–"
}

func passText(t *Target) string {
	switch {
	case t.Pass == nil:
		return "no data"
	case *t.Pass:
		return "**pass**"
	default:
		return "miss"
	}
}

// markdown renders results.md: the summary table, then every series with
// its spread.
func (r *Results) markdown() string {
	var b strings.Builder
	b.WriteString(r.header() + "\n\n")
	b.WriteString("| # | workload | unit | dbrs | raw IndexedDB | Dexie | dbrs vs raw IDB | dbrs vs Dexie | target | result |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, row := range r.Rows {
		ri, rd := row.ratio("idb"), row.ratio("dexie")
		var tt, tp []string
		for _, t := range row.Targets {
			tt = append(tt, t.Text)
			tp = append(tp, passText(t))
		}
		target, result := strings.Join(tt, "; "), strings.Join(tp, "; ")
		if target == "" {
			target, result = "(information)", ""
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			row.ID, row.Title, row.Unit, cell(row, "dbrs"), cell(row, "idb"), cell(row, "dexie"), ratio(ri), ratio(rd), target, result)
	}
	w := r.Wasm
	pass := "miss"
	if w.Gzip9 <= wasmTarget {
		pass = "**pass**"
	}
	fmt.Fprintf(&b, "| 7 | `dbrs.wasm` size, gzip -9 (brotli -q 11; raw) | MB | %s (%s; %s) | | | | | ≤ 1.0 MB gzip -9 | %s |\n",
		mb(w.Gzip9), mb(w.Brotli11), mb(w.Raw), pass)

	b.WriteString(`
Medians of the repeats. Ratios are dbrs's median ÷ the other's: for rates
above 1× means dbrs is faster, for times (rows 6, 6b, 6c) below 1× means dbrs is
faster. Row 1 runs Dexie with ` + "`chromeTransactionDurability: 'strict'`" + ` and row 2
with ` + "`'relaxed'`" + `: Dexie's default is the browser's default, which is relaxed
since Chrome 121. Rows 3–6 use each library's defaults (dbrs: strict, raw
IndexedDB and Dexie: the browser's default). Row 6 counts from the
navigation (` + "`performance.timeOrigin`" + `) of a new document, with no HTTP
cache: for dbrs it includes fetching and compiling ` + "`dbrs.wasm`" + ` and
starting Go. Row 6b continues the same page load until every record is in
a JS array (dbrs: ` + "`entries()`" + `; it already holds them in memory at 6).
Row 6c is the floor under row 6: the same page load opening an empty
database. Rows 4 and 5 time warm code: each library first makes one
untimed pass of as many other random reads.
`)
	if r.Meta.ShimHasMany {
		b.WriteString("The shim has `insertMany`/`getMany`: the extra series \"dbrs (insertMany/getMany)\" in rows 3 and 5 uses them.\n")
	}
	b.WriteString("\n<details><summary>Every series: median, min, max, samples</summary>\n\n")
	b.WriteString("| # | library | unit | median | min | max | samples |\n| --- | --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.Rows {
		for _, s := range row.Series {
			errs := ""
			if len(s.Errors) > 0 {
				errs = fmt.Sprintf(" (%d errors: %s)", len(s.Errors), strings.ReplaceAll(s.Errors[0], "|", "/"))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d%s |\n", row.ID, s.Label, row.Unit, num(s.Median), num(s.Min), num(s.Max), len(s.Samples), errs)
		}
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// ratio is dbrs's median ÷ key's median, or 0.
func (row *Row) ratio(key string) float64 {
	d, o := row.median("dbrs"), row.median(key)
	if d > 0 && o > 0 {
		return d / o
	}
	return 0
}

const (
	readmeStart = "<!-- bench-browser:start (written by make bench-browser) -->"
	readmeEnd   = "<!-- bench-browser:end -->"
)

// updateReadme replaces the text between the markers of the README with
// the results table and the chart.
func (r *Results) updateReadme(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, readmeStart), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q markers", path, readmeStart, readmeEnd)
	}
	body := "\n" + r.markdown() + "\n![Browser benchmark chart](bench/browser/results/chart.svg)\n\n"
	s = s[:i+len(readmeStart)] + body + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
