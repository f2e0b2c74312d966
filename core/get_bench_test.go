package core_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

type benchBytes struct {
	T core.LookupTable[string, []byte]
}

// BenchmarkGetBytes measures LookupTable[string, []byte].Get over 100k
// records against a plain map whose caller copies the value, the floor of
// the bench's P4-bytes.
func BenchmarkGetBytes(b *testing.B) {
	const n = 100_000
	keys := make([]string, n)
	val := make([]byte, 100)
	plain := make(map[string][]byte, n)
	for i := range keys {
		keys[i] = strconv.FormatUint(mixKey(uint64(i)), 16)
		plain[keys[i]] = slices.Clone(val)
	}
	// The keys looked up are copies: a map compares keys that share their
	// bytes by pointer alone, and no caller looks up the very strings that
	// it inserted.
	order := make([]string, 1<<16)
	for i := range order {
		order[i] = strings.Clone(keys[mixKey(uint64(i+n))%n])
	}
	b.Run("map", func(b *testing.B) {
		var sink []byte
		for i := 0; b.Loop(); i++ {
			v := plain[order[i&(len(order)-1)]]
			sink = append([]byte(nil), v...)
		}
		_ = sink
	})
	b.Run("dbrs", func(b *testing.B) {
		db, err := core.Open[benchBytes](discardBackend{core.NewMemBackend()}, core.Options{CompactRatio: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		must(b, db.Update(func(s *benchBytes) error {
			for _, k := range keys {
				if err := s.T.Insert(k, val); err != nil {
					return err
				}
			}
			return nil
		}))
		t := &db.Tables.T
		var sink []byte
		for i := 0; b.Loop(); i++ {
			sink, _ = t.Get(order[i&(len(order)-1)])
		}
		_ = sink
	})
}
