package harness

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Meta describes where and when the run happened.
type Meta struct {
	Date       string `json:"date"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"nproc"`
	MemBytes   int64  `json:"mem_bytes"`
	Kernel     string `json:"kernel"`
	FileSystem string `json:"file_system"`
	GoVersion  string `json:"go_version"`
	Platform   string `json:"platform"`
	Commit     string `json:"dbrs_commit"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-minute load average
	// when the run began and ended: other work on the machine skews timings.
	LoadStart   string  `json:"loadavg_start"`
	LoadEnd     string  `json:"loadavg_end"`
	WallSeconds float64 `json:"wall_seconds"`
}

func machineMeta(tmpDir string) Meta {
	m := Meta{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		NumCPU:    runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		CPU:       "unknown CPU",
		LoadStart: loadAvg(),
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if f := strings.Fields(v); len(f) > 0 {
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			m.MemBytes = kb << 10
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if tmpDir == "" {
		tmpDir = os.TempDir()
	}
	m.FileSystem = fsType(tmpDir)
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		// Uncommitted changes to the library itself (not to bench/).
		if top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
			t := strings.TrimSpace(string(top))
			st, err := exec.Command("git", "-C", t, "status", "--porcelain", "--untracked-files=no", "--", "core", "platform", "go.mod").Output()
			if err == nil && len(st) > 0 {
				m.Commit += " (with uncommitted changes to the library)"
			}
		}
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fsType finds the file system holding dir in /proc/mounts (the longest
// mount point that is a prefix of it).
func fsType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	best, typ := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			continue
		}
		mp := fs[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, typ = mp, fs[2]
		}
	}
	return typ
}

// moduleVersions returns the versions of the stores' modules as built.
func moduleVersions() map[string]string {
	out := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, d := range bi.Deps {
		out[d.Path] = d.Version
	}
	return out
}

var storeModules = map[string]string{
	"bbolt":  "go.etcd.io/bbolt",
	"badger": "github.com/dgraph-io/badger/v4",
	"pebble": "github.com/cockroachdb/pebble/v2",
	"buntdb": "github.com/tidwall/buntdb",
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
