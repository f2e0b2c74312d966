package harness

import (
	"errors"
	"path/filepath"

	"github.com/tidwall/buntdb"
)

type buntStore struct {
	db      *buntdb.DB
	variant Variant
}

func openBunt(dir string, o OpenOptions) (Store, error) {
	db, err := buntdb.Open(filepath.Join(dir, "bunt.db"))
	if err != nil {
		return nil, err
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		db.Close()
		return nil, err
	}
	cfg.SyncPolicy = buntdb.Always
	if err := db.SetConfig(cfg); err != nil {
		db.Close()
		return nil, err
	}
	return &buntStore{db: db, variant: o.Variant}, nil
}

func (s *buntStore) Put(k, v []byte) error {
	return s.db.Update(func(tx *buntdb.Tx) error {
		_, _, err := tx.Set(string(k), string(v), nil)
		return err
	})
}

func (s *buntStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	err := s.db.Update(func(tx *buntdb.Tx) error {
		var kb, vb []byte
		for i := 0; i < n; i++ {
			kb = appendKey(kb[:0], uint64(i))
			vb = appendValue(vb[:0], uint64(i))
			if _, _, err := tx.Set(string(kb), string(vb), nil); err != nil {
				return err
			}
		}
		return nil
	})
	return LoadInfo{Mode: "one transaction (DB.Update)"}, err
}

func (s *buntStore) Get(ks string, _ []byte) (n int, ok bool, err error) {
	err = s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(ks)
		if errors.Is(err, buntdb.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		// buntdb holds strings: the string variant needs no copy.
		if s.variant == VarBytes {
			sinkBytes = []byte(v)
			n = len(sinkBytes)
		} else {
			sinkString = v
			n = len(v)
		}
		return nil
	})
	return n, ok, err
}

func (s *buntStore) Close() error { return s.db.Close() }

// SwitchVariant changes how Get copies values out; the data serves both.
func (s *buntStore) SwitchVariant(v Variant, _ int, _ LoadOptions) error {
	s.variant = v
	return nil
}
