//go:build !js

package core

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestOpNamesMatchShim checks the one table of ops against its copies: every
// op of dynOps has a code in OpNames and every code names an op, and the
// shim's OP_NAMES (js/src/ops.ts) lists the same names in the same order.
func TestOpNamesMatchShim(t *testing.T) {
	all := map[string]bool{}
	for _, ops := range dynOps {
		for op := range ops {
			all[op] = true
		}
	}
	for op := range all {
		if !slices.Contains(OpNames[:], op) {
			t.Errorf("op %q has no code in OpNames", op)
		}
	}
	for i, op := range OpNames {
		if i > 0 && !all[op] {
			t.Errorf("OpNames[%d] = %q is no op of any kind", i, op)
		}
	}
	src, err := os.ReadFile("../js/src/ops.ts")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?s)OP_NAMES = \[(.*?)\]`).FindSubmatch(src)
	if list == nil {
		t.Fatal("js/src/ops.ts: no OP_NAMES list")
	}
	var shim []string
	for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllSubmatch(list[1], -1) {
		shim = append(shim, string(m[1]))
	}
	if !slices.Equal(shim, OpNames[:]) {
		t.Errorf("js/src/ops.ts OP_NAMES = %q, core.OpNames = %q", shim, OpNames)
	}
}
