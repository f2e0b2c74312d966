//go:build !js

package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The static site the browser tests load: the boards demo at / (built by
// Vite), the shim at /dbrs/ (with dbrs.wasm and wasm_exec.js), and
// @msgpack/msgpack at /vendor/msgpack/, as web/demo/assemble.sh lays it out.
//
// If DBRS_SITE names a folder (the Makefile builds build/site and sets it),
// the tests use it as it is. Otherwise the first test that needs the site
// builds it, once per test run, as make site does: dbrs.wasm with go build
// into a temporary folder, js/dist with npm when it is missing or older
// than its sources (npm ci first when node_modules is missing), dbrs.wasm
// and wasm_exec.js copied into js/dist, the demo built by Vite, then
// assemble.sh into the temporary folder. RemoveSite deletes that folder;
// TestMain calls it.

var site struct {
	once sync.Once
	dir  string
	tmp  string // the folder to remove, when we built the site
	err  error
	log  []string
}

// siteDir returns the folder of the assembled site, building it if needed.
// A failure to build fails the test (or skips it when a tool is missing
// outside CI).
func siteDir(t *testing.T) string {
	t.Helper()
	site.once.Do(func() {
		start := time.Now()
		site.dir, site.err = buildSite()
		site.log = append(site.log, fmt.Sprintf("site ready in %v: %s", time.Since(start).Round(time.Millisecond), site.dir))
	})
	for _, l := range site.log {
		t.Log(l)
	}
	site.log = nil
	if site.err != nil {
		if errors.Is(site.err, errNoTool) && !InCI() {
			t.Skipf("skipping: cannot build the site: %v", site.err)
		}
		t.Fatalf("build the site: %v", site.err)
	}
	return site.dir
}

// RemoveSite deletes the site built by siteDir, if it built one.
func RemoveSite() {
	if site.tmp != "" {
		_ = os.RemoveAll(site.tmp)
	}
}

var errNoTool = errors.New("a build tool is missing")

// repoRoot returns the repository root: the parent of this package's
// folder, where go test runs.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no go.mod in %s: run the tests from the e2e folder (go test ./e2e/)", root)
	}
	return root, nil
}

func buildSite() (string, error) {
	if dir := os.Getenv("DBRS_SITE"); dir != "" {
		for _, f := range []string{"index.html", "dbrs/index.js", "dbrs/dbrs.wasm", "dbrs/wasm_exec.js"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return "", fmt.Errorf("DBRS_SITE=%s is not an assembled site: %v", dir, err)
			}
		}
		return filepath.Abs(dir)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "dbrs-e2e-site-")
	if err != nil {
		return "", err
	}
	site.tmp = tmp
	wasm := filepath.Join(tmp, "dbrs.wasm")
	if err := run(root, []string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-tags", "dbrs_noreflect", "-trimpath", "-gcflags=fmt=-l", "-ldflags=-s -w", "-o", wasm, "./platform/wasm/cmd/dbrs"); err != nil {
		return "", err
	}
	if err := npmBuild(filepath.Join(root, "js"), "dist/index.js"); err != nil {
		return "", err
	}
	if err := addWasm(root, wasm); err != nil {
		return "", err
	}
	demo := filepath.Join(root, "web", "demo")
	if err := npmCI(demo); err != nil {
		return "", err
	}
	if err := run(demo, nil, "npm", "run", "build"); err != nil {
		return "", err
	}
	out := filepath.Join(tmp, "site")
	if err := run(root, nil, "bash", filepath.Join(demo, "assemble.sh"), out); err != nil {
		return "", err
	}
	return out, nil
}

// addWasm puts dbrs.wasm and the wasm_exec.js of the Go that built it into
// js/dist, as the Makefile's js-pkg target does.
func addWasm(root, wasm string) error {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %v", err)
	}
	dist := filepath.Join(root, "js", "dist")
	for src, dst := range map[string]string{
		wasm: "dbrs.wasm",
		filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"): "wasm_exec.js",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dist, dst), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// npmBuild runs npm ci (if node_modules is missing) and npm run build in
// dir, unless output exists and is newer than every file under dir/src.
func npmBuild(dir, output string) error {
	if fresh(filepath.Join(dir, output), filepath.Join(dir, "src")) {
		return nil
	}
	if err := npmCI(dir); err != nil {
		return err
	}
	return run(dir, nil, "npm", "run", "build")
}

// npmCI runs npm ci in dir if its node_modules folder is missing.
func npmCI(dir string) error {
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("%w: npm (Node.js) is not on PATH", errNoTool)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil {
		return nil
	}
	return run(dir, nil, "npm", "ci", "--no-audit", "--no-fund")
}

// fresh reports whether out exists and is newer than every file in srcDir.
func fresh(out, srcDir string) bool {
	st, err := os.Stat(out)
	if err != nil {
		return false
	}
	newer := false
	_ = filepath.WalkDir(srcDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(st.ModTime()) {
			newer = true
			return filepath.SkipAll
		}
		return nil
	})
	return !newer
}

// run runs a command in dir and returns its output in the error if it fails.
func run(dir string, env []string, name string, args ...string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%w: %s is not on PATH", errNoTool, name)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return nil
}
