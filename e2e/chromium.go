//go:build !js

// Package e2e holds the end-to-end tests that drive a real headless
// Chromium: the IndexedDB persistence mechanics, and (in later tests) the
// dbrs.wasm bridge, the TypeScript shim and the demo. They run under plain
// `go test ./...` and take a few seconds.
//
// They need a Chromium-based browser. e2e/setup.sh finds one, or installs
// Debian's chromium, and also installs wasmbrowsertest for the GOOS=js tests.
// Without a browser the tests skip, except under CI=true, where they fail:
// a CI run must never pass by skipping its browser tests.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// browserNames are the programs FindChromium looks for on PATH, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser is returned by FindChromium when no browser is found.
var ErrNoBrowser = errors.New("dbrs: no Chromium-based browser found (run e2e/setup.sh, or set CHROME to the browser binary)")

// FindChromium returns the path of the browser the e2e tests use: $CHROME
// if it is set (a path or a program name on PATH), else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable found
// on PATH. A CHROME that names nothing runnable is an error, not a reason
// to fall back to another browser.
func FindChromium() (string, error) {
	if c := os.Getenv("CHROME"); c != "" {
		p, err := exec.LookPath(c)
		if err != nil {
			return "", fmt.Errorf("dbrs: CHROME=%q: %w", c, err)
		}
		return p, nil
	}
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// InCI reports whether the tests run in continuous integration (CI=true),
// where a missing browser must fail the tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") == "true" }
