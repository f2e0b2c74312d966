//go:build js && wasm

package wasm

import (
	"context"
	"fmt"

	"github.com/dbrs-db/dbrs/core"
	"github.com/hack-pad/go-indexeddb/idb"
)

// ImportIDB replaces the whole content of the IndexedDB database name with
// segs (IDs and bytes as given, for example read from a native dbrs folder
// or returned by core's DB.Export), in one readwrite transaction with
// strict durability: after a crash the database holds either its old
// content or all of segs. It does not check the records; the next open
// does. The database must not be open (core's single-writer rule); the
// bridge refuses an import of a database open in the page.
func ImportIDB(ctx context.Context, name string, segs []core.Segment) error {
	for _, s := range segs {
		if s.ID > maxSafeInteger || int64(len(s.Data)) > maxSafeInteger {
			return fmt.Errorf("dbrs: import into %q: segment %d exceeds 2^53-1", name, s.ID)
		}
	}
	b, err := OpenIDB(ctx, name, IDBOptions{Durability: DurabilityStrict})
	if err != nil {
		return err
	}
	b.flushMu.Lock()
	b.mu.Lock()
	fault := b.takeFault()
	b.stats.Installs++
	b.mu.Unlock()
	err = b.write("import", idb.DurabilityStrict, fault, func(store *idb.ObjectStore) error {
		if _, err := store.Clear(); err != nil {
			return err
		}
		for _, s := range segs {
			if _, err := putChunks(store, s.ID, 0, s.Data); err != nil {
				return err
			}
		}
		return nil
	})
	b.flushMu.Unlock()
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}
