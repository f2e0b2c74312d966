package core

import (
	"errors"
	"testing"
)

// Float keys are refused when the schema is bound: a NaN key could never be
// found again (so an insert could not be undone) and -0 equals 0 with other
// bytes.
func TestSchema_FloatKeysRefused(t *testing.T) {
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
