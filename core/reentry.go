package core

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"sync/atomic"
)

// Re-entrant use.
//
// A function passed to Update holds the write lock, and one passed to View
// holds the read lock, until it returns. If it calls back into the same
// database through anything but the handles it was given (db.Tables, Update,
// View, Close, Compact, Export, Stats), the call would wait for a lock that
// its own goroutine holds: a deadlock that, with any other goroutine alive,
// the runtime never reports. dbrs names the mistake instead: calls that
// return an error return ErrReentrant, the others panic with it.
//
// Go has no cheap goroutine identity, so the normal path does not look for
// one. Every lock is taken with TryLock first; only when that fails, which
// happens under contention, does the slow path ask whether the goroutine
// that failed could be the holder:
//
//  1. Is any Update or View function of this database running
//     (callbacks > 0)? If not, the holder is not one: wait.
//  2. Is this goroutine inside some dbrs callback (a runCallback frame on its
//     own stack)? If not, it cannot be the holder: wait.
//  3. Is this goroutine the only one, among all goroutines, inside a dbrs
//     callback, while the database's callbacks stayed the same (callbackGen
//     unchanged and callbacks still > 0)? Then the callback that holds the
//     lock is this goroutine's own: the call is re-entrant.
//
// Step 3 stops the world to read every stack, but only a goroutine that is
// itself inside a callback and waits for a database held by a callback gets
// there. When another goroutine is also inside a callback the answer is
// unknown and the call waits, as it did before: a re-entrant call can then
// go unreported, but a call that is not re-entrant is never refused.
//
// A transaction from Begin is not a callback: misuse of db.Tables while
// holding one on the same goroutine is not detected.

// ErrReentrant is returned (or, by calls that return no error, panicked
// with) when a function passed to Update or View uses its own database
// other than through the handles it was given: the call would wait forever
// for a lock its own goroutine holds.
var ErrReentrant = errors.New("dbrs: re-entrant use: an Update or View function called its own database other than through the handles it was given, which would wait forever for the lock it holds; use the tx handles passed to the function")

// callbackState counts the Update and View functions running on one engine.
type callbackState struct {
	running atomic.Int32  // functions running now
	gen     atomic.Uint64 // functions started so far
	waits   atomic.Int64  // lock calls that found the lock taken and waited
}

// runCallback runs fn as an Update or View function of e. Its frame on a
// goroutine's stack is how the slow path of a lock recognises a goroutine
// inside a callback, so it must never be inlined.
//
//go:noinline
func runCallback(e *engine, fn func() error) error {
	e.callbacks.running.Add(1)
	e.callbacks.gen.Add(1)
	defer e.callbacks.running.Add(-1)
	return fn()
}

// lock takes the write lock, or returns ErrReentrant when the goroutine
// asking holds it through a callback.
func (e *engine) lock() error {
	if e.mu.TryLock() {
		return nil
	}
	if e.reentrant() {
		return ErrReentrant
	}
	e.callbacks.waits.Add(1)
	e.mu.Lock()
	return nil
}

// rlock takes the read lock, panicking with ErrReentrant when waiting would
// deadlock on a lock the goroutine asking holds through a callback (a read
// lock taken again while a writer waits also deadlocks).
func (e *engine) rlock() {
	if e.mu.TryRLock() {
		return
	}
	if e.reentrant() {
		panic(ErrReentrant)
	}
	e.callbacks.waits.Add(1)
	e.mu.RLock()
}

// reentrant reports whether the calling goroutine is running a callback of
// e, so that waiting for e's locks would wait for itself. It is the slow
// path: see the comment at the top of this file.
func (e *engine) reentrant() bool {
	if e.callbacks.running.Load() == 0 || !insideCallback() {
		return false
	}
	gen := e.callbacks.gen.Load()
	only := onlyGoroutineInCallback()
	return only && e.callbacks.running.Load() > 0 && e.callbacks.gen.Load() == gen
}

// runCallbackEntry is runCallback's entry PC, to recognise its frames.
var runCallbackEntry = reflect.ValueOf(runCallback).Pointer()

// insideCallback reports whether runCallback is on the calling goroutine's
// stack.
func insideCallback() bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		for _, pc := range pcs[:n] {
			if f := runtime.FuncForPC(pc - 1); f != nil && f.Entry() == runCallbackEntry {
				return true
			}
		}
		if n < len(pcs) {
			return false
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
}

// runCallbackName is how tracebacks name runCallback.
var runCallbackName = []byte(runtime.FuncForPC(runCallbackEntry).Name() + "(")

// onlyGoroutineInCallback reports whether the calling goroutine is the only
// one with runCallback on its stack. runtime.Stack lists the calling
// goroutine first, and separates goroutines by a blank line. A traceback
// that elides frames might hide a runCallback: then the answer is no.
func onlyGoroutineInCallback() bool {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	if bytes.Contains(buf, []byte("frames elided")) {
		return false
	}
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, runCallbackName) != (i == 0) {
			return false
		}
	}
	return true
}
