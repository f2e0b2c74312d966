// Command dbrsbench runs dbrs's native benchmarks against bbolt, badger,
// pebble, buntdb and two raw fdatasync loops, and writes results.json,
// results.md and SVG charts; see the "Native benchmarks" section of the
// repository's README.
//
//	go run ./cmd/dbrsbench -short -out results -readme ../README.md
//
// Each measurement runs in a fresh child process (this binary, re-executed),
// so every store gets its own RSS.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dbrs-db/dbrs/bench/harness"
)

func main() {
	harness.MaybeChild()

	short := flag.Bool("short", false, "short mode (the default): 100k records for P3–P6, 5 × 0.6 s per P1/P2; under 3 minutes on 2 cores")
	full := flag.Bool("full", false, "full mode: 1M records for P3–P6, 5 × 3 s per P1/P2, and 10M records on the scaling curve")
	out := flag.String("out", "results", "folder for results.json, results.md and the SVG charts")
	readme := flag.String("readme", "", "README to update between its bench markers (empty: none)")
	tmp := flag.String("tmp", "", "parent folder for the scratch data (default: the system temp folder); it is deleted afterwards")
	n := flag.Int("n", 0, "override the record count for P3–P6")
	rounds := flag.Int("rounds", 0, "override the number of interleaved rounds (P1/P2 and P3–P6 alike)")
	dur := flag.Duration("dur", 0, "override the duration of one P1/P2 run")
	getDur := flag.Duration("getdur", 0, "override the duration of one P4 run")
	noScaling := flag.Bool("noscaling", false, "skip the scaling curve")
	stores := flag.String("stores", "", "comma-separated stores to run (default: all): "+harness.StoreNames())
	profile := flag.String("cpuprofile", "", "write a CPU profile of every child of this store (e.g. dbrs) into OUT/profiles")
	flag.Parse()

	if *short && *full {
		fmt.Fprintln(os.Stderr, "dbrsbench: -short and -full exclude each other")
		os.Exit(2)
	}
	c := harness.Short()
	if *full {
		c = harness.Full()
	}
	if *n > 0 {
		c.N, c.Mode = *n, "custom"
	}
	if *rounds > 0 {
		c.Rounds, c.CommitRounds, c.Mode = *rounds, *rounds, "custom"
	}
	if *dur > 0 {
		c.CommitDur, c.Mode = *dur, "custom"
	}
	if *getDur > 0 {
		c.GetDur, c.Mode = *getDur, "custom"
	}
	if *noScaling {
		c.ScaleNs, c.Mode = nil, "custom"
	}
	if *stores != "" {
		c.Stores, c.Mode = strings.Split(*stores, ","), "custom"
	}
	c.OutDir, c.TmpDir, c.Readme, c.ProfileStore = *out, *tmp, *readme, *profile

	start := time.Now()
	_, err := harness.Run(c)
	fmt.Fprintf(os.Stderr, "dbrsbench: %s mode took %s\n", c.Mode, time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbrsbench:", err)
		os.Exit(1)
	}
}
