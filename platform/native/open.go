package native

import (
	"github.com/dbrs-db/dbrs/core"
)

// Open opens (or creates) the database in folder dir with the struct schema
// S. opts.ReadOnly opens with a shared lock and refuses writes;
// opts.LockTimeout bounds the wait for another opener (ErrLocked after it).
// Close releases the folder.
func Open[S any](dir string, opts core.Options) (*core.DB[S], error) {
	b, err := NewBackend(dir, BackendOptions{ReadOnly: opts.ReadOnly, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, err
	}
	db, err := core.Open[S](b, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// OpenDynamic opens the database in folder dir with a schema described at
// run time (see core.Dynamic).
func OpenDynamic(dir string, tables []core.TableSpec, opts core.Options) (*core.DB[core.Dynamic], error) {
	b, err := NewBackend(dir, BackendOptions{ReadOnly: opts.ReadOnly, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, err
	}
	db, err := core.OpenDynamic(b, tables, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}
