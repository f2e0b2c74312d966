//go:build !js

package wasm

import (
	"bufio"
	"go/build/constraint"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAllFilesHaveWasmTag runs on the host (go test ./... natively) and
// fails if a Go file in this folder, other than this one, lacks the
// //go:build js && wasm line: such a file would be compiled into native
// builds, where syscall/js does not exist.
func TestAllFilesHaveWasmTag(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if path == "wasm_tags_test.go" {
			continue
		}
		if !hasJSWasmTag(t, path) {
			t.Errorf("%s lacks a //go:build js && wasm line", path)
		}
	}
}

func hasJSWasmTag(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "//") {
			return false // the package clause: build lines must come before it
		}
		if !constraint.IsGoBuild(line) {
			continue
		}
		expr, err := constraint.Parse(line)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return false
		}
		// The file must be excluded from every build that is not js/wasm.
		return expr.Eval(func(tag string) bool { return tag == "js" || tag == "wasm" }) &&
			!expr.Eval(func(tag string) bool { return tag == "js" }) &&
			!expr.Eval(func(tag string) bool { return tag == "wasm" }) &&
			!expr.Eval(func(tag string) bool { return tag == "linux" || tag == "amd64" })
	}
	return false
}
