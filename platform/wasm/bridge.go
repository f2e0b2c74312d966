//go:build js && wasm

package wasm

// The Go side of the Go ↔ JS bridge, protocol 1. js/src/bridge.ts is the
// specification: every method, its encoding, sync vs Promise, and its error
// codes. This file implements it over core.OpenDynamic and IDBBackend.
//
// Threading. JS calls the methods below on the JS thread, through
// js.FuncOf. A synchronous method (read, begin, apply, commit's append,
// rollback, exec's append, stats) only touches memory. A method that waits
// for IndexedDB starts a goroutine and returns a Promise at once, because
// a js.FuncOf callback that blocks on something the JS event loop must
// deliver deadlocks the page.
//
// Locks. begin takes core's write lock with TryBegin and the handle keeps
// it until commit or rollback, which JS calls in the same turn. While it is
// held, nothing on the JS thread may wait for core's lock: read() goes
// through the transaction (which takes no lock) and stats() answers from a
// copy taken outside the transaction. Outside a transaction, read() and
// stats() take core's read lock; its holders are goroutines that never
// keep it across an IndexedDB wait, so that wait is short.
//
// Ordering. The Promises of one handle's commits (commit and exec) settle
// in commit order: each commit's goroutine waits for its own durability,
// then for the previous commit's settlement, then settles.

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

// Protocol is the bridge protocol version this package implements.
const Protocol = 1

// Version is the dbrs version string the bridge reports.
const Version = "0.1.0"

// writeOps are the op names that change a table (js/src/bridge.ts, "Ops").
// read() refuses them, and apply() and exec() accept only them.
var writeOps = map[string]bool{
	"insert": true, "clear": true, "push": true, "pop": true, "insertAt": true,
	"setAt": true, "removeAt": true, "remove": true, "clearKey": true, "insertMany": true,
}

// Bridge is one instance of the bridge: a set of open handles. dbrs.wasm
// installs one as globalThis.__dbrs (see Install); tests make their own.
type Bridge struct {
	mu      sync.Mutex
	next    int
	handles map[int]*handle // open handles only
	names   map[string]bool // databases open, opening, closing, importing or deleting in this page
	obj     js.Value
	strs    strCache // table and op names; JS thread only

	wake       js.Func     // does nothing: calling it lets Go run its goroutines
	wakeQueued atomic.Bool // a call of wake is queued as a microtask
}

// handle is one open database.
type handle struct {
	id      int
	name    string
	db      *core.DB[core.Dynamic]
	backend *IDBBackend
	kinds   map[string]string // table name → kind
	order   []string          // table names in the order open was given them
	settle  settler           // protocol 2 commits
	openDur time.Duration

	// Used on the JS thread only.
	tx      *core.Tx[core.Dynamic]
	txWrote bool          // a write op of tx succeeded
	last    chan struct{} // closed when the newest commit's Promise has settled
	cached  core.Stats    // the last Stats taken outside a transaction

	// Guarded by Bridge.mu (goroutines update them).
	durable    int64         // commits made durable since open
	failed     int64         // commits whose durability failed
	lastCommit time.Duration // append to durability, of the newest durable commit
}

// NewBridge returns a bridge with no open database.
func NewBridge() *Bridge {
	b := &Bridge{next: 1, handles: map[int]*handle{}, names: map[string]bool{}}
	o := jsObject.New()
	o.Set("protocol", Protocol)
	o.Set("version", Version)
	methods := map[string]js.Func{
		"open":           promiseMethod(b.open),
		"read":           syncMethod(b.read),
		"begin":          syncMethod(b.begin),
		"apply":          syncMethod(b.apply),
		"commit":         promiseMethod(b.commit),
		"rollback":       syncMethod(b.rollback),
		"exec":           promiseMethod(b.exec),
		"writable":       promiseMethod(b.writable),
		"compact":        promiseMethod(b.compact),
		"stats":          syncMethod(b.stats),
		"close":          promiseMethod(b.close),
		"exportLog":      promiseMethod(b.exportLog),
		"importLog":      promiseMethod(b.importLog),
		"deleteDatabase": promiseMethod(b.deleteDatabase),
	}
	for name, f := range methods {
		o.Set(name, f)
	}
	o.Set("exportsProtocol", ProtocolV2)
	b.wake = js.FuncOf(func(js.Value, []js.Value) any {
		b.wakeQueued.Store(false)
		return nil
	})
	b.obj = o
	return b
}

// Value returns the JS object of the bridge: the value of globalThis.__dbrs.
func (b *Bridge) Value() js.Value { return b.obj }

// Install creates a bridge and sets it as globalThis.__dbrs. dbrs.wasm's
// main calls it, then blocks forever.
func Install() *Bridge {
	b := NewBridge()
	exported = b
	js.Global().Set("__dbrs", b.obj)
	return b
}

// lookup returns the open handle h, or nil.
func (b *Bridge) lookup(h int) *handle {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.handles[h]
}

// reserve marks name as in use by this page, or fails with 'Locked'.
func (b *Bridge) reserve(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names[name] {
		return newBridgeError("Locked", "database "+strconv.Quote(name)+" is open (or being opened, closed, imported or deleted) in this page")
	}
	b.names[name] = true
	return nil
}

func (b *Bridge) release(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.names, name)
}

// ------------------------------------------------------------------ open

func (b *Bridge) open(args []js.Value) any {
	name, err := argString(args, 0, "name")
	if err != nil {
		return rejected(err)
	}
	specs, err := tableSpecs(arg(args, 1))
	if err != nil {
		return rejected(err)
	}
	opts := arg(args, 2)
	var idbOpts IDBOptions
	keep := false
	if opts.Type() == js.TypeObject {
		switch d := opts.Get("durability"); {
		case d.IsUndefined() || d.IsNull():
		case d.Type() == js.TypeString && d.String() == "strict":
		case d.Type() == js.TypeString && d.String() == "relaxed":
			idbOpts.Durability = DurabilityRelaxed
		default:
			return rejected(badValue("durability must be 'strict' or 'relaxed'"))
		}
		keep = opts.Get("keepUnknownTables").Truthy()
	}
	if err := b.reserve(name); err != nil {
		return rejected(err)
	}
	pr := newPromise()
	goSettle(pr, func() (_ any, err error) {
		defer func() {
			if err != nil {
				b.release(name)
			}
		}()
		start := time.Now()
		be, err := OpenIDB(context.Background(), name, idbOpts)
		if err != nil {
			return nil, err
		}
		db, err := core.OpenDynamic(be, specs, core.Options{KeepUnknownTables: keep})
		if err != nil {
			_ = be.Close()
			return nil, err
		}
		h := &handle{name: name, db: db, backend: be, kinds: map[string]string{}, openDur: time.Since(start)}
		for _, s := range specs {
			h.kinds[s.Name] = s.Kind
			h.order = append(h.order, s.Name)
		}
		h.cached = db.Stats()
		b.mu.Lock()
		h.id = b.next
		b.next++
		b.handles[h.id] = h
		b.mu.Unlock()
		return h.id, nil
	})
	return pr.p
}

// tableSpecs reads open's tables argument: an array of {name, kind}.
func tableSpecs(v js.Value) ([]core.TableSpec, error) {
	if !jsArray.Call("isArray", v).Bool() {
		return nil, newBridgeError("Schema", "tables must be an array of {name, kind}")
	}
	n := v.Length()
	specs := make([]core.TableSpec, 0, n)
	for i := range n {
		t := v.Index(i)
		if t.Type() != js.TypeObject {
			return nil, newBridgeError("Schema", "tables must be an array of {name, kind}")
		}
		name, kind := t.Get("name"), t.Get("kind")
		if name.Type() != js.TypeString || kind.Type() != js.TypeString || name.String() == "" {
			return nil, newBridgeError("Schema", "table "+strconv.Itoa(i)+" needs a non-empty string name and a string kind")
		}
		specs = append(specs, core.TableSpec{Name: name.String(), Kind: kind.String()})
	}
	return specs, nil
}

// ------------------------------------------------------------------ ops

// op reads the table, op and args arguments shared by read and apply, and
// checks the table and whether op is a write.
func (b *Bridge) op(h *handle, args []js.Value, write bool) (table, op string, raw []byte, err error) {
	if table, err = b.strs.argName(args, 1, "table"); err != nil {
		return
	}
	if op, err = b.strs.argName(args, 2, "op"); err != nil {
		return
	}
	if raw, err = argBytes(args, 3, "args"); err != nil {
		return
	}
	err = h.checkOp(table, op, write)
	return
}

func (h *handle) checkOp(table, op string, write bool) error {
	kind, ok := h.kinds[table]
	if !ok {
		return newBridgeError("UnknownTable", "unknown table "+strconv.Quote(table))
	}
	if writeOps[op] != write {
		if write {
			return badValue(op + " is not a write op of a " + kind + " table (reads go through read)")
		}
		return badValue(op + " is not a read op of a " + kind + " table (writes go through apply or exec)")
	}
	return nil
}

func resultJS(r core.Result) any {
	switch r.Kind {
	case core.ResultBytes:
		return toBytesJS(r.Bytes)
	case core.ResultNumber:
		return r.Number
	case core.ResultBool:
		return r.Bool
	}
	return js.Null()
}

func (b *Bridge) read(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	table, op, raw, err := b.op(h, args, false)
	if err != nil {
		return toJSError(err)
	}
	d := h.db.Tables
	if h.tx != nil {
		d = h.tx.Tables
	}
	r, err := d.Do(table, op, raw)
	if err != nil {
		return toJSError(err)
	}
	return resultJS(r)
}

func (b *Bridge) begin(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	if h.tx != nil {
		return toJSError(errTxOpen)
	}
	tx, ok, err := h.db.TryBegin()
	switch {
	case !ok:
		return toJSError(errBusy)
	case err != nil:
		return toJSError(err)
	}
	h.tx, h.txWrote = tx, false
	return js.Null()
}

func (b *Bridge) apply(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	if h.tx == nil {
		return toJSError(errNoTx)
	}
	table, op, raw, err := b.op(h, args, true)
	if err != nil {
		return toJSError(err)
	}
	r, err := h.tx.Tables.Do(table, op, raw)
	if err != nil {
		return toJSError(err)
	}
	h.txWrote = true
	return resultJS(r)
}

func (b *Bridge) rollback(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	if h.tx == nil {
		return toJSError(errNoTx)
	}
	h.tx.Rollback()
	h.tx = nil
	return js.Null()
}

// commit appends the open transaction and returns the Promise of its
// durability.
func (b *Bridge) commit(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	if h.tx == nil {
		return toJSError(errNoTx)
	}
	tx, wrote := h.tx, h.txWrote
	h.tx = nil
	start := time.Now()
	wait, err := tx.CommitAsync()
	if err != nil {
		tx.Rollback() // a no-op: CommitAsync rolled back and released the lock
		return toJSError(err)
	}
	pr := newPromise()
	b.settleInOrder(h, pr, start, wrote, wait, func() any { return js.Undefined() })
	return pr.p
}

// settleInOrder waits, on a goroutine, for a commit to be durable, then for
// the handle's previous commit to settle, then settles pr: with result()
// on success. wrote says whether the commit held a write (so counts in the
// stats).
func (b *Bridge) settleInOrder(h *handle, pr *promise, start time.Time, wrote bool, wait func() error, result func() any) {
	prev := h.last
	done := make(chan struct{})
	h.last = done
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				pr.failJS(panicError(r))
			}
		}()
		err := wait()
		took := time.Since(start)
		if prev != nil {
			<-prev
		}
		b.mu.Lock()
		switch {
		case err != nil:
			h.failed++
		case wrote:
			h.durable++
			h.lastCommit = took
		}
		b.mu.Unlock()
		if err != nil {
			pr.fail(err)
			return
		}
		pr.ok(result())
	}()
}

// exec runs a batch as one transaction: all of it, or none of it and its
// first error, returned synchronously.
func (b *Bridge) exec(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	raw, err := argBytes(args, 1, "batch")
	if err != nil {
		return toJSError(err)
	}
	type batchOp struct {
		table, op string
		args      []byte
	}
	elems, ok := mpArray(raw)
	if !ok {
		return toJSError(badValue("the batch is not one msgpack array"))
	}
	ops := make([]batchOp, len(elems))
	for i, e := range elems {
		parts, ok := mpArray(e)
		if !ok || len(parts) != 3 {
			return toJSError(badValue("batch op " + strconv.Itoa(i) + " is not [table, op, args]"))
		}
		table, ok1 := mpString(parts[0])
		op, ok2 := mpString(parts[1])
		if !ok1 || !ok2 {
			return toJSError(badValue("batch op " + strconv.Itoa(i) + ": table and op must be strings"))
		}
		if err := h.checkOp(table, op, true); err != nil {
			return toJSError(err)
		}
		ops[i] = batchOp{table, op, parts[2]}
	}
	if h.tx != nil {
		return toJSError(errTxOpen)
	}
	tx, ok, err := h.db.TryBegin()
	switch {
	case !ok:
		return toJSError(errBusy)
	case err != nil:
		return toJSError(err)
	}
	// A panic below is turned into an 'Internal' error by the caller; the
	// transaction must not keep the write lock (Rollback of a committed
	// transaction does nothing).
	defer func() {
		if r := recover(); r != nil {
			tx.Rollback()
			panic(r)
		}
	}()
	out := mpArrayHeader(make([]byte, 0, 16), len(ops))
	for _, o := range ops {
		r, err := tx.Tables.Do(o.table, o.op, o.args)
		if err != nil {
			tx.Rollback()
			return toJSError(err)
		}
		if r.Kind == core.ResultBytes {
			out = append(out, r.Bytes...)
		} else {
			out = append(out, 0xc0)
		}
	}
	start := time.Now()
	wait, err := tx.CommitAsync()
	if err != nil {
		tx.Rollback()
		return toJSError(err)
	}
	pr := newPromise()
	b.settleInOrder(h, pr, start, len(ops) > 0, wait, func() any { return toBytesJS(out) })
	return pr.p
}

// writable resolves once core's write lock is free: a goroutine takes it
// (waiting as long as needed) and gives it back at once.
func (b *Bridge) writable(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return rejected(errUnknownHandle)
	}
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		tx, err := h.db.Begin()
		if err != nil {
			if errorCode(err) == "Closed" {
				return nil, err
			}
			// Poisoned or read-only: the lock is free; begin will say why.
			return js.Undefined(), nil
		}
		tx.Rollback()
		return js.Undefined(), nil
	})
	return pr.p
}

func (b *Bridge) compact(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return rejected(errUnknownHandle)
	}
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		return js.Undefined(), h.db.Compact()
	})
	return pr.p
}

// stats returns the statistics as JSON text, built by hand (no
// encoding/json in dbrs.wasm).
func (b *Bridge) stats(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return toJSError(errUnknownHandle)
	}
	s := h.cached
	if h.tx == nil {
		// Outside a transaction core's read lock is only ever held
		// briefly, by goroutines. Inside one, this thread holds the write
		// lock, so Stats would deadlock: use the copy.
		s = h.db.Stats()
		h.cached = s
	}
	os := h.db.OpenStats()
	bs := h.backend.Stats()
	b.mu.Lock()
	durable, failed, last := h.durable, h.failed, h.lastCommit
	b.mu.Unlock()
	j := &jsonObj{buf: make([]byte, 0, 400)}
	j.int("records", s.Records)
	j.int("logBytes", s.LogBytes)
	j.int("liveBytes", s.LiveBytes)
	j.int("compactions", s.Compactions)
	j.int("commits", durable)
	j.ms("lastCommitMs", last)
	j.int("failedCommits", failed)
	j.int("appendedCommits", s.Commits)
	j.int("syncs", s.Syncs)
	j.int("segments", int64(s.Segments))
	j.int("tables", int64(s.Tables))
	j.int("tornBytes", os.TornBytes)
	j.ms("openMs", h.openDur)
	j.ms("replayMs", os.Duration)
	j.int("openRecords", os.Records)
	j.int("openBytes", os.Bytes)
	j.int("openSegments", int64(os.Segments))
	j.int("idbFlushes", int64(bs.Flushes))
	j.int("idbFailedFlushes", int64(bs.FailedFlushes))
	j.int("idbBytes", bs.Bytes)
	j.int("compactFailed", boolInt(s.LastCompactError != ""))
	return j.String()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// jsonObj builds a JSON object of numeric fields.
type jsonObj struct{ buf []byte }

func (j *jsonObj) key(k string) {
	if len(j.buf) == 0 {
		j.buf = append(j.buf, '{')
	} else {
		j.buf = append(j.buf, ',')
	}
	j.buf = append(j.buf, '"')
	j.buf = append(j.buf, k...)
	j.buf = append(j.buf, '"', ':')
}

func (j *jsonObj) int(k string, v int64) {
	j.key(k)
	j.buf = strconv.AppendInt(j.buf, v, 10)
}

func (j *jsonObj) ms(k string, d time.Duration) {
	j.key(k)
	j.buf = strconv.AppendFloat(j.buf, float64(d.Microseconds())/1000, 'f', -1, 64)
}

func (j *jsonObj) String() string {
	if len(j.buf) == 0 {
		return "{}"
	}
	return string(append(j.buf, '}'))
}

// close rolls back an open transaction, makes the handle unknown at once,
// and closes the database on a goroutine: core waits for the commits in
// flight, then the handle's commit Promises settle, then close resolves.
func (b *Bridge) close(args []js.Value) any {
	id := argHandle(args, 0)
	h := b.lookup(id)
	if h == nil {
		return resolved(js.Undefined())
	}
	if h.tx != nil {
		h.tx.Rollback()
		h.tx = nil
	}
	b.mu.Lock()
	delete(b.handles, id)
	b.mu.Unlock()
	last := h.last
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		defer b.release(h.name)
		err := h.db.Close()
		if last != nil {
			<-last
		}
		h.stopSettler()
		b.mu.Lock()
		failed := h.failed
		b.mu.Unlock()
		if err != nil && failed == 0 {
			// Not a commit's failure (its Promise reported that): the
			// final flush or closing the connection failed.
			return nil, err
		}
		return js.Undefined(), nil
	})
	return pr.p
}

// ------------------------------------------------------------------ logs

func (b *Bridge) exportLog(args []js.Value) any {
	h := b.lookup(argHandle(args, 0))
	if h == nil {
		return rejected(errUnknownHandle)
	}
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		segs, err := h.db.Export()
		if err != nil {
			return nil, err
		}
		out := jsArray.New(len(segs))
		for i, s := range segs {
			o := jsObject.New()
			o.Set("id", float64(s.ID))
			o.Set("data", toBytesJS(s.Data))
			out.SetIndex(i, o)
		}
		return out, nil
	})
	return pr.p
}

func (b *Bridge) importLog(args []js.Value) any {
	name, err := argString(args, 0, "name")
	if err != nil {
		return rejected(err)
	}
	segs, err := segmentsArg(arg(args, 1))
	if err != nil {
		return rejected(err)
	}
	if err := b.reserve(name); err != nil {
		return rejected(err)
	}
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		defer b.release(name)
		return js.Undefined(), ImportIDB(context.Background(), name, segs)
	})
	return pr.p
}

// segmentsArg copies importLog's segments argument into Go memory.
func segmentsArg(v js.Value) ([]core.Segment, error) {
	if !jsArray.Call("isArray", v).Bool() {
		return nil, badValue("segments must be an array of {id, data}")
	}
	n := v.Length()
	segs := make([]core.Segment, 0, n)
	for i := range n {
		s := v.Index(i)
		if s.Type() != js.TypeObject {
			return nil, badValue("segments must be an array of {id, data}")
		}
		id := s.Get("id")
		if id.Type() != js.TypeNumber || id.Float() < 0 || id.Float() > maxSafeInteger || id.Float() != float64(uint64(id.Float())) {
			return nil, badValue("segment " + strconv.Itoa(i) + ": id must be an integer in [0, 2^53)")
		}
		data, err := argBytes([]js.Value{s.Get("data")}, 0, "segment "+strconv.Itoa(i)+" data")
		if err != nil {
			return nil, err
		}
		segs = append(segs, core.Segment{ID: uint64(id.Float()), Data: data})
	}
	return segs, nil
}

func (b *Bridge) deleteDatabase(args []js.Value) any {
	name, err := argString(args, 0, "name")
	if err != nil {
		return rejected(err)
	}
	if err := b.reserve(name); err != nil {
		return rejected(err)
	}
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		defer b.release(name)
		return js.Undefined(), DeleteIDB(context.Background(), name)
	})
	return pr.p
}
