package harness

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// dbrsSchema is the benchmark schema: one table per value type. A run uses
// one of them; the other stays empty.
type dbrsSchema struct {
	KV  core.LookupTable[string, string] `dbrs:"kv"`
	Bin core.LookupTable[string, []byte] `dbrs:"bin"`
}

type dbrsStore struct {
	db      *core.DB[dbrsSchema]
	variant Variant
}

func dbrsOptions() core.Options { return core.Options{Sync: core.SyncAlways} }

func openDBRS(dir string, o OpenOptions) (Store, error) {
	db, err := native.Open[dbrsSchema](dir, dbrsOptions())
	if err != nil {
		return nil, err
	}
	return &dbrsStore{db: db, variant: o.Variant}, nil
}

func (s *dbrsStore) Put(k, v []byte) error {
	if s.variant == VarBytes {
		return s.db.Tables.Bin.Insert(string(k), v)
	}
	return s.db.Tables.KV.Insert(string(k), string(v))
}

// insertRange inserts records [from, to) inside one transaction.
func (s *dbrsStore) insertRange(tx *dbrsSchema, from, to int) error {
	var kb, vb []byte
	for i := from; i < to; i++ {
		kb = appendKey(kb[:0], uint64(i))
		vb = appendValue(vb[:0], uint64(i))
		var err error
		if s.variant == VarBytes {
			err = tx.Bin.Insert(string(kb), vb)
		} else {
			err = tx.KV.Insert(string(kb), string(vb))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Load tries one transaction (db.Update) for all n records. If dbrs refuses
// it with ErrTooLarge (a transaction is one log record, at most
// core.MaxRecordSize), it loads again in durable transactions of BatchSize
// and says so.
func (s *dbrsStore) Load(n int, o LoadOptions) (LoadInfo, error) {
	batch := o.BatchSize
	if batch <= 0 {
		batch = 100_000
	}
	var info LoadInfo
	if !o.Batches {
		start := nowMono()
		err := s.db.Update(func(tx *dbrsSchema) error { return s.insertRange(tx, 0, n) })
		if err == nil {
			info.Mode = "one transaction (db.Update)"
			return info, nil
		}
		if !errors.Is(err, core.ErrTooLarge) {
			return info, err
		}
		info.Fallback = true
		info.FailedAttempt = sinceMono(start)
	}
	for from := 0; from < n; from += batch {
		to := min(from+batch, n)
		if err := s.db.Update(func(tx *dbrsSchema) error { return s.insertRange(tx, from, to) }); err != nil {
			return info, err
		}
	}
	info.Mode = fmt.Sprintf("durable transactions of %d records", batch)
	if info.Fallback {
		info.Mode += fmt.Sprintf(" (one transaction failed with ErrTooLarge after %.2f s; not counted)", info.FailedAttempt.Seconds())
	}
	return info, nil
}

func (s *dbrsStore) Get(ks string, _ []byte) (int, bool, error) {
	if s.variant == VarBytes {
		v, ok := s.db.Tables.Bin.Get(ks)
		return len(v), ok, nil
	}
	v, ok := s.db.Tables.KV.Get(ks)
	return len(v), ok, nil
}

func (s *dbrsStore) Close() error { return s.db.Close() }

// SwitchVariant moves the data to the other table: it clears the current
// one (one log entry), collects the garbage, and loads n records into the
// other, so that the heap holds one copy of the data, as with one table.
func (s *dbrsStore) SwitchVariant(v Variant, n int, o LoadOptions) error {
	if v == s.variant {
		return nil
	}
	var err error
	if s.variant == VarBytes {
		err = s.db.Tables.Bin.Clear()
	} else {
		err = s.db.Tables.KV.Clear()
	}
	if err != nil {
		return err
	}
	runtime.GC()
	s.variant = v
	_, err = s.Load(n, o)
	return err
}
