//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbrs-db/dbrs/core"
	"github.com/hack-pad/go-indexeddb/idb"
)

// ImportIDB replaces the whole content of the IndexedDB database name with
// segs (IDs and bytes as given, for example read from a native dbrs folder
// or returned by core's DB.Export), in one readwrite transaction with
// strict durability: after a crash the database holds either its old
// content or all of segs. Each segment is stored up to its last whole
// record (core.TrimSegment); the next open checks the records. The database must not be open (core's single-writer rule); the
// bridge refuses an import of a database open in the page.
func ImportIDB(ctx context.Context, name string, segs []core.Segment) error {
	var newest uint64
	seen := map[uint64]bool{}
	for _, s := range segs {
		if s.ID > maxSafeInteger || int64(len(s.Data)) > maxSafeInteger {
			return fmt.Errorf("dbrs: import into %q: segment %d exceeds 2^53-1", name, s.ID)
		}
		if seen[s.ID] {
			return fmt.Errorf("dbrs: import into %q: segment %d is given twice", name, s.ID)
		}
		seen[s.ID] = true
		newest = max(newest, s.ID)
	}
	// Native segment files end in preallocated zeros, and the newest may
	// end torn. IndexedDB stores what it is given, and bytes it holds cannot
	// be cut in place, so store each segment up to its last whole record.
	trimmed := make([]core.Segment, len(segs))
	for i, s := range segs {
		trimmed[i] = core.Segment{ID: s.ID, Data: core.TrimSegment(s.Data, s.ID == newest)}
	}
	segs = trimmed
	b, err := OpenIDB(ctx, name, IDBOptions{Durability: DurabilityStrict})
	if errors.Is(err, ErrCorruptStore) {
		// Restoring over a damaged store is what an import is for: start
		// from an empty database instead of reading the old content.
		if err := DeleteIDB(ctx, name); err != nil {
			return err
		}
		b, err = OpenIDB(ctx, name, IDBOptions{Durability: DurabilityStrict})
	}
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
