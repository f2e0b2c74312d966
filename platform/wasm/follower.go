//go:build js && wasm

package wasm

// Tabs: one leader writes a database, the other tabs follow it
// (js/src/follower.ts runs the protocol between tabs; core/follow.go
// applies the commits). This file is the bridge's part:
//
//   - open(name, tables, {follower: true}) opens read-only: the IndexedDB
//     backend writes nothing (IDBOptions.ReadOnly) and core refuses commits;
//     begin then starts a scratch transaction (core.TryBeginScratch) whose
//     ops JS records and rolls back, for the leader to run.
//   - tap(h) makes a leader keep each durable commit's records and
//     position; shipped(h) hands them to JS, in log order. core queues a
//     commit before its durability is reported (onSettle), so by the time a
//     commit's Promise settles, shipped(h) returns it.
//   - applyCommit(h, segment, offset, record) applies a shipped commit to a
//     follower and returns the names of the tables it wrote, or an Error
//     with code 'Gap', 'Duplicate', 'MustReopen', 'Corrupt' or 'BadEntry'.
//   - catchUp(h) (a Promise) reads what a follower missed from IndexedDB,
//     or reopens it read-only when a compaction moved the log; promote(h)
//     (a Promise) catches up and reopens for writing, once the tab holds the
//     database's Web Lock. Both resolve to {reopened, changes}: changes
//     lists, per commit applied, the tables it wrote; after a reopen it is
//     empty and every table may have changed.
//   - position(h) is [segment, offset]: the end of the log as the handle
//     has it.
//
// A reopen swaps the handle's DB and backend between two JS turns (Go's
// goroutines run on the JS thread, and nothing here yields while the
// handle is half swapped), so the exports always see one DB or the other.

import (
	"context"
	"errors"
	"sync"
	"syscall/js"

	"github.com/dbrs-db/dbrs/core"
)

// followHandle is a handle's part in following.
type followHandle struct {
	follower bool // opened read-only to follow a leader; false once promoted
	specs    []core.TableSpec
	idbOpts  IDBOptions
	opts     core.Options // the open's options, ReadOnly aside (a reopen uses them)

	mu      sync.Mutex
	shipped []core.Committed // tapped, not yet taken by JS
	busy    bool             // a catch-up or promotion is running
}

// installFollow adds the methods of this file to the bridge object o.
func (b *Bridge) installFollow(o js.Value) {
	o.Set("tap", syncMethod(b.tap))
	o.Set("shipped", syncMethod(b.shipped))
	o.Set("applyCommit", syncMethod(b.applyCommit))
	o.Set("position", syncMethod(b.position))
	o.Set("catchUp", promiseMethod(func(args []js.Value) any { return b.refollow(args, false) }))
	o.Set("promote", promiseMethod(func(args []js.Value) any { return b.refollow(args, true) }))
}

func (b *Bridge) tap(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	f := h.follow
	h.db.Tap(func(c core.Committed) {
		f.mu.Lock()
		f.shipped = append(f.shipped, c)
		f.mu.Unlock()
	})
	return js.Undefined()
}

// shipped returns the tapped commits not yet taken, oldest first, as
// [{segment, offset, end, record, tables}].
func (b *Bridge) shipped(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	f := h.follow
	f.mu.Lock()
	cs := f.shipped
	f.shipped = nil
	f.mu.Unlock()
	out := jsArray.New(len(cs))
	for i, c := range cs {
		o := jsObject.New()
		o.Set("segment", float64(c.Segment))
		o.Set("offset", float64(c.Offset))
		o.Set("end", float64(c.End))
		o.Set("record", toBytesJS(c.Record))
		o.Set("tables", stringsJS(c.Tables))
		out.SetIndex(i, o)
	}
	return out
}

func stringsJS(ss []string) js.Value {
	a := jsArray.New(len(ss))
	for i, s := range ss {
		a.SetIndex(i, s)
	}
	return a
}

// argPos returns argument i as a segment ID or offset: an integer in
// [0, 2^53).
func argPos(args []js.Value, i int, what string) (uint64, error) {
	v := arg(args, i)
	if v.Type() != js.TypeNumber || v.Float() < 0 || v.Float() > maxSafeInteger || v.Float() != float64(uint64(v.Float())) {
		return 0, badValue(what + " must be an integer in [0, 2^53)")
	}
	return uint64(v.Float()), nil
}

func (b *Bridge) applyCommit(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	if h.tx != nil {
		return toJSError(errTxOpen)
	}
	seg, err := argPos(args, 1, "segment")
	if err != nil {
		return toJSError(err)
	}
	off, err := argPos(args, 2, "offset")
	if err != nil {
		return toJSError(err)
	}
	rec, err := argBytes(args, 3, "record")
	if err != nil {
		return toJSError(err)
	}
	c, err := h.db.ApplyCommit(seg, int64(off), rec)
	if err != nil {
		return toJSError(followError(err))
	}
	return stringsJS(c.Tables)
}

func (b *Bridge) position(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	p := h.db.Position()
	a := jsArray.New(2)
	a.SetIndex(0, float64(p.Segment))
	a.SetIndex(1, float64(p.Offset))
	return a
}

// followError gives the errors of following their bridge codes.
func followError(err error) error {
	for _, m := range []struct {
		target error
		code   string
	}{
		{core.ErrGap, "Gap"},
		{core.ErrDuplicate, "Duplicate"},
		{core.ErrMustReopen, "MustReopen"},
		{core.ErrNotFollower, "ReadOnly"},
	} {
		if errors.Is(err, m.target) {
			return newBridgeError(m.code, err.Error())
		}
	}
	return err
}

// refollow is catchUp (promote false) and promote (promote true).
func (b *Bridge) refollow(args []js.Value, promote bool) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return rejected(errUnknownHandle)
	}
	f := h.follow
	if !f.follower {
		if promote {
			return rejected(newBridgeError("ReadOnly", "promote: the handle is not a follower"))
		}
		return rejected(newBridgeError("ReadOnly", "catchUp: the handle is not a follower"))
	}
	f.mu.Lock()
	if f.busy {
		f.mu.Unlock()
		return rejected(errBusy)
	}
	f.busy = true
	f.mu.Unlock()
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		defer func() {
			f.mu.Lock()
			f.busy = false
			f.mu.Unlock()
		}()
		changes, err := h.db.CatchUp()
		reopen := promote || errors.Is(err, core.ErrMustReopen)
		if err != nil && !reopen {
			return nil, followError(err)
		}
		if reopen {
			if err := b.reopen(h, promote); err != nil {
				return nil, err
			}
		}
		o := jsObject.New()
		o.Set("reopened", err != nil)
		cs := jsArray.New(len(changes))
		for i, c := range changes {
			cs.SetIndex(i, stringsJS(c.Tables))
		}
		o.Set("changes", cs)
		return o, nil
	})
	return pr.p
}

// reopen opens the handle's database again from IndexedDB, read-only or,
// to promote it, for writing, and swaps it in.
func (b *Bridge) reopen(h *handle, write bool) error {
	f := h.follow
	opts := f.idbOpts
	opts.ReadOnly = !write
	be, err := OpenIDB(context.Background(), h.name, opts)
	if err != nil {
		return err
	}
	db, err := core.OpenDynamic(be, f.specs, f.reopenOptions(write))
	if err != nil {
		_ = be.Close()
		return err
	}
	if h.tx != nil { // cannot happen: a transaction lives within one JS turn
		h.tx.Rollback()
		h.tx = nil
	}
	old := h.db
	h.db, h.backend, f.idbOpts = db, be, opts
	f.follower = !write
	h.cached = db.Stats()
	_ = old.Close() // read-only: nothing to sync, and reads are done with it
	return nil
}

// reopenOptions are the open's options for a reopen: read-only unless
// write. The upgrade function is left out: a reopen finds the log at the
// version the open left it (a newer one fails with ErrVersion).
func (f *followHandle) reopenOptions(write bool) core.Options {
	o := f.opts
	o.Upgrade = nil
	o.ReadOnly = !write
	return o
}
