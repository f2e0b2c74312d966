//go:build js && wasm

package wasm

// The lean write path of a flush: one readwrite transaction per flush
// group, made and watched through syscall/js directly.
//
// go-indexeddb's Transaction.Await adds three js.FuncOf listeners and
// starts goroutines for every transaction, and its request wrappers add
// more; at one flush per commit, that was most of a commit's Go CPU. A
// flush instead sets the transaction's oncomplete and onabort to two
// js.Funcs made once per backend, which hand the outcome to the flushing
// goroutine over a channel. Flushes are serialized by flushMu, so at most
// one transaction waits at a time and one channel serves them all.
//
// Once its requests are issued, the transaction is committed explicitly
// (IDBTransaction.commit, where the browser has it) instead of letting it
// auto-commit: auto-commit waits until the renderer has seen every put's
// success event and the JS thread is free again, one more round trip
// between the renderer and IndexedDB per flush, longer whenever Go or the
// page keeps the JS thread busy after the flush is issued.
//
// go-indexeddb still opens and upgrades the database, runs cursors and
// writes compaction's Install, which are rare.

import (
	"syscall/js"
	"time"
)

// flushTx is the per-backend state of the lean write path.
type flushTx struct {
	done       chan js.Value // the transaction's error (null/undefined when it completed)
	onComplete js.Func
	onAbort    js.Func
	opts       js.Value // {durability: ...}
	store      js.Value // the JS string chunkStore
	readwrite  js.Value // the JS string "readwrite"
	commit     bool     // IDBTransaction.prototype.commit exists

	// durability is the durability the browser reports for flush
	// transactions ("" until the first flush). Every flush asks for the
	// same, so it is read once.
	durability string
}

func (b *IDBBackend) initFlushTx() {
	f := &b.ftx
	f.done = make(chan js.Value, 1)
	f.onComplete = js.FuncOf(func(js.Value, []js.Value) any {
		f.done <- js.Null()
		return nil
	})
	f.onAbort = js.FuncOf(func(this js.Value, _ []js.Value) any {
		e := this.Get("error")
		if e.IsNull() || e.IsUndefined() {
			e = jsObject.New() // aborted without an error: name "" → AbortError
		}
		f.done <- e
		return nil
	})
	f.opts = jsObject.New()
	f.opts.Set("durability", b.durability.String())
	f.store = js.ValueOf(chunkStore)
	f.readwrite = js.ValueOf("readwrite")
	if t := js.Global().Get("IDBTransaction"); t.Type() == js.TypeFunction {
		f.commit = t.Get("prototype").Get("commit").Type() == js.TypeFunction
	}
}

// releaseFlushTx frees the listeners. No flush may run afterwards.
func (b *IDBBackend) releaseFlushTx() {
	b.ftx.onComplete.Release()
	b.ftx.onAbort.Release()
}

// flushChunk is one put of a flush: data at offset off of segment seg.
type flushChunk struct {
	seg  uint64
	off  int64
	data []byte
}

// writeChunks puts chunks in one readwrite transaction and waits for it to
// complete. fault, if not nil, makes IndexedDB abort the transaction (see
// FailNextWrite), and writeChunks then returns fault. b.flushMu must be
// held, and b.mu must not be.
func (b *IDBBackend) writeChunks(chunks []flushChunk, fault error) error {
	f := &b.ftx
	start := time.Now()
	var txn js.Value
	// Everything up to the wait runs without blocking, so the transaction
	// cannot commit before every request is issued: the JS event loop runs
	// only when every goroutine is blocked.
	err := jsTry(func() {
		txn = b.jsDB.Call("transaction", f.store, f.readwrite, f.opts)
		store := txn.Call("objectStore", f.store)
		for _, c := range chunks {
			v := jsUint8Array.New(len(c.data))
			js.CopyBytesToJS(v, c.data)
			store.Call("put", v, jsArray.New(float64(c.seg), float64(c.off)))
		}
		if fault != nil {
			// A put then an add of the same key: the add fails with a
			// ConstraintError, and IndexedDB aborts the transaction.
			v := jsUint8Array.New(0)
			store.Call("put", v, faultKey)
			store.Call("add", v, faultKey)
		}
		txn.Set("oncomplete", f.onComplete)
		txn.Set("onabort", f.onAbort)
		if f.commit {
			// After a failing request (the injected fault) too: a request
			// that fails still aborts a committing transaction.
			txn.Call("commit")
		}
	})
	if err != nil {
		if txn.Type() == js.TypeObject {
			_ = jsTry(func() { txn.Call("abort") })
		}
		return wrapIDBError("flush", b.name, err)
	}
	if f.durability == "" {
		if d := txn.Get("durability"); d.Type() == js.TypeString {
			f.durability = d.String()
		}
	}
	e := <-f.done
	b.mu.Lock()
	if f.durability != "" {
		b.stats.Durability = f.durability
	}
	if e.IsNull() {
		b.stats.FlushTime += time.Since(start)
	}
	b.mu.Unlock()
	if e.IsNull() {
		return nil
	}
	if fault != nil {
		return injectedError("flush", b.name, fault)
	}
	return jsDOMExceptionError("flush", b.name, e)
}
