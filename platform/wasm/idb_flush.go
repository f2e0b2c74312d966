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
		txn = b.jsDB.Call("transaction", chunkStore, "readwrite", f.opts)
		store := txn.Call("objectStore", chunkStore)
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
	})
	if err != nil {
		if txn.Type() == js.TypeObject {
			_ = jsTry(func() { txn.Call("abort") })
		}
		return wrapIDBError("flush", b.name, err)
	}
	e := <-f.done
	durability := txn.Get("durability")
	if durability.Type() == js.TypeString {
		b.mu.Lock()
		b.stats.Durability = durability.String()
		b.mu.Unlock()
	}
	if e.IsNull() {
		b.mu.Lock()
		b.stats.FlushTime += time.Since(start)
		b.mu.Unlock()
		return nil
	}
	if fault != nil {
		return injectedError("flush", b.name, fault)
	}
	return jsDOMExceptionError("flush", b.name, e)
}
