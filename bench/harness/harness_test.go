package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the harness's child process.
func TestMain(m *testing.M) {
	MaybeChild()
	os.Exit(m.Run())
}

func TestData(t *testing.T) {
	seen := map[string]bool{}
	for i := uint64(0); i < 10_000; i++ {
		k := keyString(i)
		if len(k) != KeySize || seen[k] {
			t.Fatalf("key %d = %q: wrong size or duplicate", i, k)
		}
		seen[k] = true
		if v := appendValue(nil, i); len(v) != ValueSize {
			t.Fatalf("value %d has %d bytes", i, len(v))
		}
	}
}

// TestTinyRun runs the whole harness (every store, every workload, the
// scaling curve, the report) at a tiny scale. It checks that the run
// completes and its outputs are well formed; it asserts no timing.
func TestTinyRun(t *testing.T) {
	out := t.TempDir()
	readme := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(readme, []byte("# x\n\n"+readmeBegin+"\nold\n"+readmeEnd+"\n\nafter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Config{
		Mode: "test", N: 1_000, CommitDur: 200 * time.Millisecond, GetDur: 100 * time.Millisecond,
		Rounds: 1, CommitRounds: 2, Goroutines: 4, Reopens: 2, BatchSize: 100_000,
		ScaleNs: []int{1_000, 10_000, 20_000, 30_000}, Timeout: time.Minute,
		OutDir: out, TmpDir: t.TempDir(), Readme: readme, Log: testLog{t},
	}
	rep, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Workloads {
		for _, cl := range w.Cells {
			if cl.OK == 0 || cl.OK != len(cl.Samples) || cl.Median <= 0 {
				t.Errorf("%s %s: ok=%d median=%v", w.ID, cl.Store, cl.OK, cl.Median)
			}
		}
	}
	if len(rep.Ratios) != len(targets) {
		t.Errorf("%d ratios, want %d", len(rep.Ratios), len(targets))
	}
	if rep.Scaling == nil || len(rep.Scaling.Points) != 4 || len(rep.Scaling.Fits) != 4 {
		t.Fatalf("scaling: %+v", rep.Scaling)
	}
	var back Report
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"results.md", "p1.svg", "p4-bytes.svg", "p6.svg", "scaling.svg"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".svg") && !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("%s is not an SVG", name)
		}
	}
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "\nold\n") || !strings.Contains(s, "| **dbrs** |") || !strings.HasSuffix(s, readmeEnd+"\n\nafter\n") {
		t.Errorf("README not updated between the markers:\n%s", s)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
