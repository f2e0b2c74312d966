package core

import "testing"

// FuzzFlatLen checks that checkMsgpack's fast path agrees with the walk it
// short-cuts: whatever flatLen takes, walkMsgpack takes with the same length.
func FuzzFlatLen(f *testing.F) {
	for _, seed := range [][]byte{
		{0x93, 0x01, 0xa1, 'k', 0xd9, 0x01, 'v'},
		{0x92, 0x02, 0xcd, 0x01},
		{0x91, 0xc1},
		{0xda, 0x00, 0x02, 'a', 'b'},
		{0x9f},
		{0xcb, 1, 2, 3, 4, 5, 6, 7, 8},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := flatLen(b)
		if n == 0 {
			return
		}
		m, err := walkMsgpack(b)
		if err != nil || m != n {
			t.Fatalf("flatLen(%x) = %d, walkMsgpack = %d, %v", b, n, m, err)
		}
	})
}
