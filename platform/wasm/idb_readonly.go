//go:build js && wasm

package wasm

// Read-only opens of IndexedDB (IDBOptions.ReadOnly), for follower tabs.

import (
	"fmt"
	"syscall/js"

	"github.com/dbrs-db/dbrs/core"
)

// mustExist returns core.ErrNotExist unless the IndexedDB database name
// exists, so that a read-only open never creates it: indexedDB.open creates
// a missing database, and go-indexeddb cannot abort its upgrade. (A
// database deleted between this check and the open is created empty: the
// window is one IndexedDB round trip.) Where indexedDB.databases() is
// missing the check is skipped. It waits for IndexedDB, so it must not run
// inside a js.FuncOf callback.
func mustExist(name string) error {
	idbGlobal := js.Global().Get("indexedDB")
	if idbGlobal.Get("databases").Type() != js.TypeFunction {
		return nil
	}
	type result struct {
		exists bool
		err    error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		list := arg(args, 0)
		found := false
		for i := range list.Length() {
			if n := list.Index(i).Get("name"); n.Type() == js.TypeString && n.String() == name {
				found = true
			}
		}
		ch <- result{exists: found}
		return nil
	})
	defer ok.Release()
	bad := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: fmt.Errorf("indexedDB.databases() failed: %s", js.Global().Get("String").Invoke(arg(args, 0)).String())}
		return nil
	})
	defer bad.Release()
	var err error
	if jerr := jsTry(func() { idbGlobal.Call("databases").Call("then", ok, bad) }); jerr != nil {
		err = jerr
	}
	if err != nil {
		return wrapIDBError("open", name, err)
	}
	r := <-ch
	switch {
	case r.err != nil:
		return &IDBError{Op: "open", DB: name, Err: r.err}
	case !r.exists:
		return fmt.Errorf("%w: no IndexedDB database %q to follow", core.ErrNotExist, name)
	}
	return nil
}
