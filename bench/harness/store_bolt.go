package harness

import (
	"bytes"
	"fmt"
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

// boltBatch is bbolt's bulk-load transaction size. One transaction for
// everything would be quadratic: bbolt splits nodes only at commit, so a
// leaf grows without bound inside one transaction and every random insert
// shifts it.
const boltBatch = 10_000

func (s *boltStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	var kb, vb []byte
	for from := 0; from < n; from += boltBatch {
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(boltBucket)
			for i := from; i < min(from+boltBatch, n); i++ {
				kb = appendKey(kb[:0], uint64(i))
				vb = appendValue(vb[:0], uint64(i))
				// Put's slices must stay valid until the commit.
				if err := b.Put(bytes.Clone(kb), bytes.Clone(vb)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return LoadInfo{}, err
		}
	}
	return LoadInfo{Mode: fmt.Sprintf("durable transactions of %d records (DB.Update; one transaction of everything is quadratic in bbolt)", boltBatch)}, nil
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

// SwitchVariant changes how Get copies values out; the data serves both.
func (s *boltStore) SwitchVariant(v Variant, _ int, _ LoadOptions) error {
	s.variant = v
	return nil
}
