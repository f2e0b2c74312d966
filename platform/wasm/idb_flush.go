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
//
// With the shim, a flush costs one call from Go into JS and one export
// call back. The shim sets a function "flush" on the bridge object (see
// jsShimFlush), and writeChunks hands it the chunks as a table in wasm
// memory instead of building a Uint8Array, a key and a request per chunk
// through syscall/js (about ten calls into JS, each making js.Values).
// The shim issues the transaction, and its oncomplete calls the export
//
//	dbrs_flushed(token u32)   the flush transaction of the backend with
//	                          this token completed: hand it to the waiting
//	                          flusher, then run goroutines until each
//	                          blocks (dbrs_run's loop), so that the
//	                          commits it made durable settle before the
//	                          export returns.
//
// instead of a js.FuncOf function, whose call makes js.Values of the event
// and its this, and returns to JS before the flusher has run. An abort
// still reaches onAbort (rare; it needs the transaction's error). Without
// the shim (Go tests, an older shim), and for an injected fault
// (FailNextWrite), writeChunks issues the requests itself.

import (
	"encoding/binary"
	"math"
	"sync"
	"syscall/js"
	"time"
	"unsafe"
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

	token uint32 // this backend's argument of dbrs_flushed
	table []byte // the chunk table handed to jsShimFlush
}

// jsShimFlush is the shim's flush function (the bridge object's "flush"),
// or undefined without a shim that has one. It is called as
//
//	flush(db, store, opts, onAbort, token, at, n, wantDurability)
//
// and issues one readwrite transaction (opts: {durability}) on the object
// store store of the IDBDatabase db that puts n chunks, described by the
// table at address at in wasm memory, n rows of 24 bytes, little-endian:
//
//	segment f64 | offset f64 | address u32 | length u32
//
// (the chunk's bytes at address, to put under the key [segment, offset]).
// It copies the bytes before it returns, commits the transaction
// explicitly where the browser can, then sets onabort to onAbort and
// oncomplete to a call of dbrs_flushed(token): exactly one outcome per
// issued transaction reaches Go, through them or as a throw. It returns
// the transaction's durability when wantDurability is true. If it throws,
// it has aborted any transaction it made. Bridge.run sets it.
var jsShimFlush = js.Undefined()

// flushWaiters maps dbrs_flushed's tokens to the backends' flush state.
var flushWaiters = struct {
	sync.Mutex
	m    map[uint32]*flushTx
	next uint32
}{m: map[uint32]*flushTx{}}

//go:wasmexport dbrs_flushed
func exportFlushed(token uint32) {
	flushWaiters.Lock()
	f := flushWaiters.m[token]
	flushWaiters.Unlock()
	if f != nil {
		select {
		case f.done <- js.Null():
		default: // not waiting: a stale call; the channel holds at most one outcome
		}
	}
	if exported != nil {
		exported.runUntilBlocked()
	}
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
	flushWaiters.Lock()
	flushWaiters.next++
	f.token = flushWaiters.next
	flushWaiters.m[f.token] = f
	flushWaiters.Unlock()
}

// releaseFlushTx frees the listeners. No flush may run afterwards.
func (b *IDBBackend) releaseFlushTx() {
	flushWaiters.Lock()
	delete(flushWaiters.m, b.ftx.token)
	flushWaiters.Unlock()
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
	var err error
	if fault == nil && jsShimFlush.Type() == js.TypeFunction {
		err = b.shimFlush(chunks)
	} else {
		err = b.issueChunks(chunks, fault)
	}
	if err != nil {
		return err
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

// issueChunks issues the flush transaction of chunks through syscall/js.
// It returns nil once the transaction is issued, or the error that kept it
// from being issued.
func (b *IDBBackend) issueChunks(chunks []flushChunk, fault error) error {
	f := &b.ftx
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
		if f.commit {
			// After a failing request (the injected fault) too: a request
			// that fails still aborts a committing transaction.
			txn.Call("commit")
		}
		// Set last (the events come in a later task): should anything above
		// throw, the abort below must not reach f.done, which would then
		// hold a stale outcome for the next flush.
		txn.Set("oncomplete", f.onComplete)
		txn.Set("onabort", f.onAbort)
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
	return nil
}

// shimFlush issues the flush transaction of chunks through jsShimFlush, as
// issueChunks does.
func (b *IDBBackend) shimFlush(chunks []flushChunk) error {
	f := &b.ftx
	t := f.table[:0]
	for _, c := range chunks {
		t = binary.LittleEndian.AppendUint64(t, math.Float64bits(float64(c.seg)))
		t = binary.LittleEndian.AppendUint64(t, math.Float64bits(float64(c.off)))
		t = binary.LittleEndian.AppendUint32(t, uint32(uintptr(unsafe.Pointer(unsafe.SliceData(c.data)))))
		t = binary.LittleEndian.AppendUint32(t, uint32(len(c.data)))
	}
	f.table = t
	// The addresses stay valid during the call: the function copies the
	// bytes before it returns, and no Go code runs meanwhile.
	var d js.Value
	err := jsTry(func() {
		d = jsShimFlush.Invoke(b.jsDB, f.store, f.opts, f.onAbort, f.token,
			uint32(uintptr(unsafe.Pointer(unsafe.SliceData(t)))), len(chunks), f.durability == "")
	})
	if err != nil {
		return wrapIDBError("flush", b.name, err)
	}
	if d.Type() == js.TypeString {
		f.durability = d.String()
	}
	return nil
}
