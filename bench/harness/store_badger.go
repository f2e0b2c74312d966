package harness

import (
	"bytes"
	"errors"

	badger "github.com/dgraph-io/badger/v4"
)

type badgerStore struct {
	db      *badger.DB
	variant Variant
}

func openBadger(dir string, o OpenOptions) (Store, error) {
	db, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil))
	if err != nil {
		return nil, err
	}
	return &badgerStore{db: db, variant: o.Variant}, nil
}

func (s *badgerStore) Put(k, v []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) })
}

func (s *badgerStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var kb, vb []byte
	for i := 0; i < n; i++ {
		kb = appendKey(kb[:0], uint64(i))
		vb = appendValue(vb[:0], uint64(i))
		// A WriteBatch keeps the slices until it flushes: give it copies.
		if err := wb.Set(bytes.Clone(kb), bytes.Clone(vb)); err != nil {
			return LoadInfo{}, err
		}
	}
	if err := wb.Flush(); err != nil {
		return LoadInfo{}, err
	}
	return LoadInfo{Mode: "WriteBatch (internal transactions, synced), Flush"}, s.db.Sync()
}

func (s *badgerStore) Get(_ string, kb []byte) (n int, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(kb)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(v []byte) error {
			n = copyOut(s.variant, v)
			return nil
		})
	})
	return n, ok, err
}

func (s *badgerStore) Close() error { return s.db.Close() }

// SwitchVariant changes how Get copies values out; the data serves both.
func (s *badgerStore) SwitchVariant(v Variant, _ int, _ LoadOptions) error {
	s.variant = v
	return nil
}
