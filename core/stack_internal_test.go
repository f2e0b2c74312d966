package core

import (
	"fmt"
	"strings"
	"testing"
)

// A stack is last in, first out across block boundaries, with pushes and
// pops interleaved, and a stack of one change holds a small block, not a
// whole one.
func TestStackLIFOAcrossBlocks(t *testing.T) {
	var s stack[int]
	s.push(0)
	if c := cap(s.top); c > firstBlock {
		t.Fatalf("one push allocated room for %d changes, want at most %d", c, firstBlock)
	}
	var want []int
	want = append(want, 0)
	next := 1
	check := func(pops int) {
		t.Helper()
		for range pops {
			v := s.pop()
			if w := want[len(want)-1]; v != w {
				t.Fatalf("pop = %d, want %d", v, w)
			}
			want = want[:len(want)-1]
			if s.len() != len(want) {
				t.Fatalf("len = %d, want %d", s.len(), len(want))
			}
		}
	}
	for _, step := range []struct{ push, pop int }{
		{stackBlock - 1, 0}, {1, 1}, {3*stackBlock + 7, stackBlock + 3}, {stackBlock, 2*stackBlock + 10},
	} {
		for range step.push {
			s.push(next)
			want = append(want, next)
			next++
		}
		if s.len() != len(want) {
			t.Fatalf("len = %d, want %d", s.len(), len(want))
		}
		check(step.pop)
	}
	check(len(want))
}

// A keyStack gives back the keys pushed, last first: string keys of one
// length, of varied lengths, empty, and cut from a larger string, with
// pushes and pops interleaved; and keys of other types.
func TestKeyStackLIFO(t *testing.T) {
	big := strings.Repeat("0123456789", 200)
	var s keyStack[string]
	var want []string
	next := 0
	key := func(i int) string {
		switch i % 7 {
		case 0:
			return ""
		case 1, 2, 3:
			return fmt.Sprintf("key%012d", i) // one length: runs
		case 4:
			return big[i%100 : i%100+i%37]
		}
		return strings.Repeat("k", i%50)
	}
	for _, step := range []struct{ push, pop int }{{10, 3}, {3 * stackBlock, stackBlock}, {50, 2 * stackBlock}} {
		for range step.push {
			k := key(next)
			next++
			s.push(k)
			want = append(want, k)
		}
		for range step.pop {
			if k := s.pop(); k != want[len(want)-1] {
				t.Fatalf("pop = %q, want %q", k, want[len(want)-1])
			}
			want = want[:len(want)-1]
		}
		if s.len() != len(want) {
			t.Fatalf("len = %d, want %d", s.len(), len(want))
		}
	}
	if s.keys.len() != 0 {
		t.Fatal("string keys were held whole")
	}
	var ints keyStack[int]
	for i := range 3 {
		ints.push(i)
	}
	for i := 2; i >= 0; i-- {
		if k := ints.pop(); k != i {
			t.Fatalf("pop = %d, want %d", k, i)
		}
	}
}
