package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Float keys are refused when the schema is bound: a NaN key could never be
// found again (so an insert could not be undone) and -0 equals 0 with other
// bytes.
func TestRegressFloatKeysRefused(t *testing.T) {
	type T struct{ T LookupTable[float64, int] }
	type L struct{ L LookupList[[2]float32, int] }
	type M struct {
		M LookupMap[string, float64, int]
	}
	type P struct {
		P LookupSet[string, struct{ X float64 }]
	}
	for name, open := range map[string]func() error{
		"table": func() error { _, err := Open[T](NewMemBackend(), Options{}); return err },
		"array": func() error { _, err := Open[L](NewMemBackend(), Options{}); return err },
		"inner": func() error { _, err := Open[M](NewMemBackend(), Options{}); return err },
		"field": func() error { _, err := Open[P](NewMemBackend(), Options{}); return err },
	} {
		if err := open(); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: Open = %v, want ErrSchema", name, err)
		}
	}
}

// panicUndo is a custom table whose undo panics.
type panicUndo struct{ n int }

func (p *panicUndo) Kind() string { return "test.panic-undo" }
func (p *panicUndo) Apply([]byte) (func(), error) {
	p.n++
	return func() { panic("undo failed") }, nil
}
func (p *panicUndo) Compact(func([]byte) error) error { return nil }

// A panicking undo step must not leave the write lock held, and leaves
// the database refusing writes.
func TestRegressPanickingUndoReleasesLock(t *testing.T) {
	type S struct {
		P Custom[panicUndo, *panicUndo]
		K LookupTable[string, int]
	}
	db, err := Open[S](NewMemBackend(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	func() {
		defer func() { _ = recover() }()
		_ = db.Update(func(tx *S) error {
			if err := tx.P.Apply([]byte{0x01}); err != nil {
				return err
			}
			return errors.New("abort")
		})
	}()
	done := make(chan error, 1)
	go func() { done <- db.Tables.K.Insert("next", 1) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPoisoned) {
			t.Fatalf("write after a panicking undo = %v, want ErrPoisoned (memory is unknown)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next write blocks: the write lock was never released")
	}
}

// record > MaxRecordSize: compaction fails forever with ErrTooLarge.
func TestRegressCompactionChunkOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB value")
	}
	type S struct {
		L List[string]
	}
	db, err := Open[S](NewMemBackend(), Options{CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Repeat("x", 1000)
	for i := 0; i < 1000; i++ { // ~1 MiB, below the chunk size
		if err := db.Tables.L.Push(small); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("y", MaxRecordSize-64) // fits one commit record
	if err := db.Tables.L.Push(big); err != nil {
		t.Fatalf("push big: %v", err)
	}
	if err := db.Compact(); err != nil {
		t.Fatalf("Compact: %v", err)
	}
}
