package main

// The -phases mode: where the time of an awaited single-record commit goes
// (rows 1 and 2), for dbrs and raw IndexedDB, cut at the moments IndexedDB
// shows.
//
// A library's commit is its own work around one IndexedDB readwrite
// transaction. The page (commitPhases in page/bench.js) stamps, for each
// commit, the call, the return of the call's promise, the creation of the
// readwrite transaction, its complete event and the moment the awaiting
// code resumes. The IndexedDB part (transaction → complete) is the same
// work for every library; what lies around it is the library's:
//
//	call → transaction    encoding, the library's bookkeeping, and for dbrs
//	                      the append to its log and the flush that issues
//	                      the transaction (a microtask later)
//	complete → resolved   from IndexedDB's event to the caller's await
//
// Rounds interleave dbrs and raw IndexedDB (the floor every library's
// commit is built on), each in a fresh page with a fresh database, strict
// then relaxed; the table gives the median over the rounds of each run's
// per-commit medians. Dexie is not among them: its transactions do not
// reach the wrapped IDBDatabase.prototype.transaction.

import (
	"fmt"
	"log"
	"math"
	"strings"
	"time"
)

// phaseStats is one phase of one run: quantiles over its commits, in ms.
type phaseStats struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Mean   float64 `json:"mean"`
	N      int     `json:"n"`
}

// phasesRun is what commitPhases returns.
type phasesRun struct {
	Ms     float64                `json:"ms"`
	Warmup int                    `json:"warmup"` // untimed commits before the timed ones
	Seen   int                    `json:"seen"`   // commits whose transaction the wrapper saw complete
	Phases map[string]*phaseStats `json:"phases"`
}

// phaseOrder is the phases as the table shows them, with their headings.
var phaseOrder = []struct{ key, heading string }{
	{"returned", "call → returned"},
	{"transaction", "call → transaction"},
	{"complete", "transaction → complete"},
	{"resolved", "complete → resolved"},
	{"total", "call → resolved"},
}

// runPhases runs commits awaited commits per library and durability in
// each of rounds rounds, and prints (and writes to outDir/phases.md) the
// medians of each phase.
func runPhases(siteDir, outDir string, commits, rounds int) error {
	t, closeBench, err := openBench(siteDir, "dbrs-bench-phases-", true)
	if err != nil {
		return err
	}
	defer closeBench()

	type series struct{ lib, durability string }
	var order []series
	for _, d := range []string{"strict", "relaxed"} {
		for _, l := range []string{"dbrs", "idb"} {
			order = append(order, series{l, d})
		}
	}
	runs := map[series][]phasesRun{}
	warmup := 0
	start := time.Now()
	for r := 1; r <= rounds; r++ {
		for _, s := range order {
			if err := t.fresh(); err != nil {
				return err
			}
			db := fmt.Sprintf("bench-phases-%d-%d", time.Now().UnixNano(), r)
			var out phasesRun
			if err := t.call("commitPhases", spec{Lib: s.lib, Durability: s.durability, DB: db, N: commits}, &out); err != nil {
				t.cleanup(spec{Lib: s.lib, DB: db})
				return fmt.Errorf("round %d, %s %s: %w", r, s.lib, s.durability, err)
			}
			if out.Seen < commits {
				return fmt.Errorf("round %d, %s %s: the wrapper saw %d of %d commits' transactions complete", r, s.lib, s.durability, out.Seen, commits)
			}
			runs[s] = append(runs[s], out)
			warmup = out.Warmup
			log.Printf("[%5.1fs] round %d, %s %s: %.0f commits/s", time.Since(start).Seconds(), r, s.lib, s.durability, rate(commits, out.Ms))
		}
	}

	names := map[string]string{"dbrs": "dbrs", "idb": "raw IndexedDB"}
	var b strings.Builder
	m := machine()
	fmt.Fprintf(&b, "Where an awaited single-record commit's time goes (rows 1 and 2), %s, %d × %s, Chromium headless. %d rounds; in each, each library ran %d commits (after %d untimed) in a fresh page. Each cell is the median over the rounds of a run's median, in ms.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), m.CPUs, m.CPUModel, rounds, commits, warmup)
	b.WriteString("| library | durability | commits/s |")
	for _, p := range phaseOrder {
		fmt.Fprintf(&b, " %s |", p.heading)
	}
	b.WriteString(" call → resolved, p90 | call → resolved, mean | outside IndexedDB |\n| --- | --- | ---: |")
	for range phaseOrder {
		b.WriteString(" ---: |")
	}
	b.WriteString(" ---: | ---: | ---: |\n")
	for _, s := range order {
		rs := runs[s]
		rates := make([]float64, len(rs))
		for i, r := range rs {
			rates[i] = rate(commits, r.Ms)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f |", names[s.lib], s.durability, median(rates))
		over := func(key string, of func(*phaseStats) float64) float64 {
			xs := make([]float64, 0, len(rs))
			for _, r := range rs {
				if st := r.Phases[key]; st != nil {
					xs = append(xs, of(st))
				}
			}
			if len(xs) == 0 {
				return math.NaN()
			}
			return median(xs)
		}
		med := func(st *phaseStats) float64 { return st.Median }
		for _, p := range phaseOrder {
			fmt.Fprintf(&b, " %.3f |", over(p.key, med))
		}
		fmt.Fprintf(&b, " %.3f | %.3f | %.3f |\n",
			over("total", func(st *phaseStats) float64 { return st.P90 }),
			over("total", func(st *phaseStats) float64 { return st.Mean }),
			over("transaction", med)+over("resolved", med))
	}
	b.WriteString("\n\"outside IndexedDB\" is call → transaction plus complete → resolved: the library's own time per commit, around the IndexedDB transaction that every library waits for alike.\n")
	return report(outDir, "phases.md", b.String())
}
