package core

import "testing"

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
