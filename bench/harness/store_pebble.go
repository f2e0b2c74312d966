package harness

import (
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

type pebbleStore struct {
	db      *pebble.DB
	variant Variant
}

// quietLogger drops pebble's informational messages; errors still reach the
// caller through return values.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

func openPebble(dir string, o OpenOptions) (Store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	return &pebbleStore{db: db, variant: o.Variant}, nil
}

func (s *pebbleStore) Put(k, v []byte) error { return s.db.Set(k, v, pebble.Sync) }

func (s *pebbleStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	b := s.db.NewBatch()
	defer b.Close()
	var kb, vb []byte
	for i := 0; i < n; i++ {
		kb = appendKey(kb[:0], uint64(i))
		vb = appendValue(vb[:0], uint64(i))
		if err := b.Set(kb, vb, nil); err != nil { // a Batch copies
			return LoadInfo{}, err
		}
	}
	return LoadInfo{Mode: "one Batch, Commit(pebble.Sync)"}, b.Commit(pebble.Sync)
}

func (s *pebbleStore) Get(_ string, kb []byte) (int, bool, error) {
	v, closer, err := s.db.Get(kb)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n := copyOut(s.variant, v)
	return n, true, closer.Close()
}

func (s *pebbleStore) Close() error { return s.db.Close() }

// SwitchVariant changes how Get copies values out; the data serves both.
func (s *pebbleStore) SwitchVariant(v Variant, _ int, _ LoadOptions) error {
	s.variant = v
	return nil
}
