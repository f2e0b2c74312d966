package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// bundleName is the shim's bundle, served next to dbrs.wasm (/dbrs/), so
// that the shim finds dbrs.wasm at its own URL as it does unbundled.
const bundleName = "dbrs.bundle.mjs"

// bundleShim bundles the shim (build/site/dbrs/index.js, with
// @msgpack/msgpack and wasm_exec.js) into one minified ES module with
// esbuild, as an application's build does (and as Dexie comes, in one
// minified file), into dir. Loaded unbundled, the shim is 31 modules whose
// imports the browser discovers level by level: that took some 250 ms of
// every page load here, before dbrs.wasm's fetch could start.
func bundleShim(siteDir, dir string) (string, error) {
	msgpack, err := filepath.Abs(filepath.Join(siteDir, "vendor", "msgpack", "index.mjs"))
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, bundleName)
	cmd := exec.Command(filepath.Join("node_modules", ".bin", "esbuild"), filepath.Join(siteDir, "dbrs", "index.js"),
		"--bundle", "--format=esm", "--minify", "--log-level=warning",
		"--alias:@msgpack/msgpack="+msgpack, "--outfile="+out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("bundle the shim with esbuild (run npm ci in bench/browser, or make bench-browser): %w", err)
	}
	return out, nil
}
