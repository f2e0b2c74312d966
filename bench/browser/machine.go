package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// Machine describes where the benchmark ran.
type Machine struct {
	CPUs     int    `json:"cpus"` // logical CPUs (nproc)
	CPUModel string `json:"cpuModel"`
	MemoryMB int    `json:"memoryMB"`
	OS       string `json:"os"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB")); err == nil {
					m.MemoryMB = kb / 1024
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// WasmSize is row 7: the size of dbrs.wasm as served.
type WasmSize struct {
	Path       string `json:"path"`
	SHA256     string `json:"sha256"`
	Raw        int    `json:"raw"`
	Gzip9      int    `json:"gzip9"`
	GzipTool   string `json:"gzipTool"`
	Brotli11   int    `json:"brotli11"`
	BrotliTool string `json:"brotliTool"`
	// BrotliReused: Brotli11 comes from the previous results.json, which
	// measured the same file (brotli -q 11 takes some 12 s of CPU).
	BrotliReused bool `json:"brotliReused,omitempty"`
}

// wasmSize measures path raw, with gzip -9 (GNU gzip when on PATH, else Go's
// compress/gzip at level 9) and with brotli quality 11 (the brotli program
// when on PATH, else github.com/andybalholm/brotli). When prev measured a
// file with the same SHA-256, its brotli size is reused.
func wasmSize(path string, prev WasmSize) (WasmSize, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return WasmSize{}, err
	}
	sum := sha256.Sum256(data)
	s := WasmSize{Path: path, SHA256: hex.EncodeToString(sum[:]), Raw: len(data)}
	if out, err := exec.Command("gzip", "-9", "-c", path).Output(); err == nil {
		s.Gzip9, s.GzipTool = len(out), "gzip -9"
	} else {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		s.Gzip9, s.GzipTool = buf.Len(), "Go compress/gzip level 9"
	}
	if prev.SHA256 == s.SHA256 && prev.Brotli11 > 0 {
		s.Brotli11, s.BrotliTool, s.BrotliReused = prev.Brotli11, prev.BrotliTool, true
	} else if out, err := exec.Command("brotli", "-c", "-q", "11", path).Output(); err == nil {
		s.Brotli11, s.BrotliTool = len(out), "brotli -q 11"
	} else {
		var buf bytes.Buffer
		w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		s.Brotli11, s.BrotliTool = buf.Len(), "github.com/andybalholm/brotli level 11"
	}
	return s, nil
}

// packageVersion returns the version field of a package.json.
func packageVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Version
}

// gitCommit returns the short commit of the repository at dir, with
// "-dirty" when the work tree has changes outside bench/browser/results and
// README.md (which the benchmark writes).
func gitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", ".", ":(exclude)bench/browser/results", ":(exclude)README.md").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}

// loadAvg returns /proc/loadavg's 1-minute load average, or -1. Other
// work on the machine shows here, and it slows every library.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
