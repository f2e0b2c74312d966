package core

import (
	"strings"
	"testing"
)

// A large transaction does not leave its write buffer behind once it has
// committed: what stays for the next one is at most maxKeptWriteBuffer.
func TestCommit_ReleasesLargeWriteBuffer(t *testing.T) {
	type S struct{ T LookupTable[int, string] }
	db, err := Open[S](NewMemBackend(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := strings.Repeat("x", 1000)
	if err := db.Update(func(s *S) error {
		for i := range 3000 {
			if err := s.T.Insert(i, big); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := db.e.w.buf.Cap(); c > maxKeptWriteBuffer {
		t.Fatalf("write buffer kept at %d bytes after a 3 MB commit", c)
	}
}
