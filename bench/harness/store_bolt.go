package harness

import (
	"bytes"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("kv")

type boltStore struct {
	db         *bolt.DB
	variant    Variant
	concurrent bool
}

func openBolt(dir string, o OpenOptions) (Store, error) {
	db, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o600, nil)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltStore{db: db, variant: o.Variant, concurrent: o.Concurrent}, nil
}

func (s *boltStore) Put(k, v []byte) error {
	fn := func(tx *bolt.Tx) error { return tx.Bucket(boltBucket).Put(k, v) }
	if s.concurrent {
		return s.db.Batch(fn)
	}
	return s.db.Update(fn)
}

func (s *boltStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		var kb, vb []byte
		for i := 0; i < n; i++ {
			kb = appendKey(kb[:0], uint64(i))
			vb = appendValue(vb[:0], uint64(i))
			if err := b.Put(bytes.Clone(kb), bytes.Clone(vb)); err != nil {
				return err
			}
		}
		return nil
	})
	return LoadInfo{Mode: "one transaction (DB.Update)"}, err
}

func (s *boltStore) Get(_ string, kb []byte) (n int, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltBucket).Get(kb)
		if v == nil {
			return nil
		}
		ok = true
		// The value is valid only inside the transaction: copy it out.
		n = copyOut(s.variant, v)
		return nil
	})
	return n, ok, err
}

func (s *boltStore) Close() error { return s.db.Close() }
