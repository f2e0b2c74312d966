package core

import "testing"

// canonicalKey's fast path agrees with canonicalKeyAny on every header
// byte, whole or cut short, alone and inside a tuple.
func TestCanonicalKeyFastPathAgrees(t *testing.T) {
	for c := range 256 {
		for n := range 34 {
			b := make([]byte, 1+n)
			b[0] = byte(c)
			for i := 1; i < len(b); i++ {
				b[i] = 'a'
			}
			for _, key := range [][]byte{b, append([]byte{0x91}, b...)} {
				got, gotErr := canonicalKey(key, 0)
				want, wantErr := canonicalKeyAny(key, 0)
				if got != want || (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("key % x: canonicalKey = %d, %v; canonicalKeyAny = %d, %v", key, got, gotErr, want, wantErr)
				}
			}
		}
	}
}
