//go:build js && wasm

package wasm

// The Go side of the Go ↔ JS bridge, protocol 2. js/src/bridge.ts is the
// specification of what the shim sees; this package implements it over
// core.OpenDynamic and IDBBackend, in two parts:
//
//   - exports.go: the per-operation calls (reads, the ops of a transaction,
//     begin, commit, rollback, one-op auto-commits) through wasm exports and
//     byte buffers in linear memory, with one settler goroutine per handle
//     reporting commits' durability through onSettle;
//   - this file: the object installed as globalThis.__dbrs, whose js.FuncOf
//     methods do what is truly asynchronous (open, close, compact, export,
//     import, delete, writable) by starting a goroutine and returning a
//     Promise, and stats.
//
// Threading. JS calls the exports and the methods below on the JS thread. A
// Promise method starts a goroutine and returns at once, because a js.FuncOf
// callback that blocks on something the JS event loop must deliver
// deadlocks the page. The exports never wait for IndexedDB.
//
// Locks. begin takes core's write lock with TryBegin and the handle keeps
// it until commit or rollback, which JS calls in the same turn. While it is
// held, nothing on the JS thread may wait for core's lock: reads go through
// the transaction (which takes no lock) and stats() answers from a copy
// taken outside the transaction. Outside a transaction, reads and stats()
// take core's read lock; its holders are goroutines that never keep it
// across an IndexedDB wait, so that wait is short.

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

// Protocol is the bridge protocol version this package implements: the
// shim refuses a dbrs.wasm of another one.
const Protocol = 2

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

	wake       js.Func      // does nothing: calling it lets Go run its goroutines
	wakeQueued atomic.Bool  // a call of wake is queued as a microtask
	driven     atomic.Bool  // JS calls dbrs_run after commits (exports.go, "Wake-ups")
	onSettle   js.Value     // the bridge object's onSettle, once driven
	woken      atomic.Int32 // settlers a commit made runnable that have not run since
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
	follow  *followHandle     // following between tabs (follower.go)
	openDur time.Duration

	// Used on the JS thread only.
	tx      *core.Tx[core.Dynamic]
	txWrote bool       // a write op of tx succeeded
	cached  core.Stats // the last Stats taken outside a transaction

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
	o.Set("calls", callMax)
	methods := map[string]js.Func{
		"open":           promiseMethod(b.open),
		"writable":       promiseMethod(b.writable),
		"compact":        promiseMethod(b.compact),
		"stats":          syncMethod(b.stats),
		"close":          promiseMethod(b.close),
		"exportLog":      promiseMethod(b.exportLog),
		"importLog":      promiseMethod(b.importLog),
		"deleteDatabase": promiseMethod(b.deleteDatabase),
		"upgradeStep":    syncMethod(b.upgradeStep),
	}
	for name, f := range methods {
		o.Set(name, f)
	}
	b.installFollow(o)
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
	var copts core.Options
	follower := false
	if opts.Type() == js.TypeObject {
		switch d := opts.Get("durability"); {
		case d.IsUndefined() || d.IsNull():
		case d.Type() == js.TypeString && d.String() == "strict":
		case d.Type() == js.TypeString && d.String() == "relaxed":
			idbOpts.Durability = DurabilityRelaxed
		default:
			return rejected(badValue("durability must be 'strict' or 'relaxed'"))
		}
		copts.KeepUnknownTables = opts.Get("keepUnknownTables").Truthy()
		if err := upgradeOptions(opts, &copts); err != nil {
			return rejected(err)
		}
		follower = opts.Get("follower").Truthy() // read-only: see follower.go
	}
	idbOpts.ReadOnly = follower
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
		copts.ReadOnly = follower
		db, err := core.OpenDynamic(be, specs, copts)
		if err != nil {
			_ = be.Close()
			return nil, err
		}
		h := &handle{name: name, db: db, backend: be, kinds: map[string]string{}, openDur: time.Since(start),
			follow: &followHandle{follower: follower, specs: specs, idbOpts: idbOpts, opts: copts}}
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
	j.int("activeSegment", int64(s.ActiveSegment))
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
	j.ms("idbFlushMs", bs.FlushTime)
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
// flight, the settler reports every one of them, then close resolves.
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
	pr := newPromise()
	goSettle(pr, func() (any, error) {
		defer b.release(h.name)
		err := h.db.Close()
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
