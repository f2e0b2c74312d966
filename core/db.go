package core

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SyncMode says when a commit is durable.
type SyncMode int

const (
	// SyncAlways makes every commit durable before it returns. Concurrent
	// commits share one sync (group commit). This is the default.
	SyncAlways SyncMode = iota
	// SyncInterval writes each commit to the backend before it returns and
	// syncs every Options.SyncInterval. A crash loses at most that window.
	SyncInterval
	// SyncNever writes each commit to the backend before it returns and
	// syncs only at compaction and Close. A crash of the machine (not of the
	// process) may lose any commit since.
	SyncNever
)

// Options configures a database. The zero value is the default.
type Options struct {
	// Sync is the durability mode; the zero value is SyncAlways.
	Sync SyncMode
	// SyncInterval is the period of SyncInterval; 0 means 100ms.
	SyncInterval time.Duration
	// ReadOnly opens without writing anything: no torn-tail repair, no
	// compaction, and every mutation returns ErrReadOnly.
	ReadOnly bool
	// KeepUnknownTables keeps tables found in the log but missing from the
	// schema as opaque data that compaction preserves. When false, such a
	// table makes Open fail with ErrUnknownTable.
	KeepUnknownTables bool
	// CompactRatio triggers automatic compaction when the log has grown to
	// this multiple of the live data (Stats.LiveBytes). 0 means 4; a
	// negative value turns automatic compaction off.
	CompactRatio float64
	// CompactMinBytes is the log size below which automatic compaction never
	// runs; 0 means 8 MiB.
	CompactMinBytes int64
	// LockTimeout is how long a backend that locks its storage (native)
	// waits for another opener to let go; 0 fails at once with ErrLocked.
	LockTimeout time.Duration
	// MustExist refuses to create a database: when the storage is missing
	// or holds no log, the open fails with ErrNotExist and creates nothing.
	// The openers that make their own storage honour it (native.Open and
	// native.OpenDynamic, before they touch the folder); a Backend passed
	// to Open has been made by the caller, who checks it there.
	MustExist bool
	// Version is the schema version the program expects; 0 means none
	// (a log written without a version reads as version 0). A log at an
	// older version is upgraded at open (see Upgrade); a log at a newer
	// version is refused with ErrVersion. A new database is created at
	// Version without running Upgrade.
	Version uint64
	// Upgrade runs once, at open, when the log exists and its stored
	// version is older than Version: it renames, drops and transforms the
	// stored tables into the shape of the schema. It is atomic: if it
	// fails, or the process dies before the upgraded log is installed, the
	// database is left at its old version and the next open runs it again.
	// nil upgrades with no step (the tables keep their names and values).
	Upgrade func(u *Upgrade) error
}

func (o Options) withDefaults() Options {
	if o.SyncInterval <= 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.CompactRatio == 0 {
		o.CompactRatio = 4
	}
	if o.CompactMinBytes <= 0 {
		o.CompactMinBytes = 8 << 20
	}
	return o
}

// DB is an open database whose schema is S: a struct of table fields, or
// Dynamic. It is safe for concurrent use: reads run in parallel, writes are
// serialized, and concurrent commits share syncs.
type DB[S any] struct {
	// Tables holds the auto-commit handles: each mutation through them is a
	// transaction of its own, durable when it returns nil.
	Tables *S

	e    *engine
	desc *schemaDesc
}

// tableInfo is one table of an open database.
type tableInfo struct {
	id    uint32
	name  string
	kind  string
	state tableState
	// fresh makes an empty state of the same kind, for compaction.
	fresh func() (tableState, error)
	// opaque tables are in the log but not in the schema (KeepUnknownTables).
	opaque bool
}

// engine is the untyped heart of a DB: table states, the log position and
// the commit machinery.
type engine struct {
	b    Backend
	opts Options

	// mu guards table state and the log position. Readers hold it shared;
	// a write transaction holds it exclusively from begin to append, never
	// while waiting for a sync.
	mu     sync.RWMutex
	tables []*tableInfo // ascending id
	byID   map[uint32]*tableInfo
	byName map[string]*tableInfo
	w      *entryWriter
	closed bool

	// recordLimit and partSize are MaxRecordSize and CommitPartSize (tests
	// lower them to write multi-record transactions cheaply).
	recordLimit, partSize int
	segs                  []uint64 // live segments, ascending: base, ..., active
	segSize               map[uint64]int64
	stale                 []uint64 // segments to remove at the next compaction
	active                uint64
	logBytes              int64
	records               int64
	snapSize              int64 // bytes of the base snapshot segment, 0 if none
	wm                    watermark

	// smu guards the group commit state.
	smu        sync.Mutex
	scond      *sync.Cond
	pending    []*pendingCommit // appended, not yet durable, in log order
	staged     []stagedRun      // records of pending commits not yet given to the backend, in log order
	syncing    bool
	recovering bool             // a goroutine is undoing failed commits (recoverOrDefer)
	failed     []*pendingCommit // their sync failed; memory not yet undone
	recovered  []*pendingCommit // undone and cut; told once the cut is synced
	cutSyncs   []uint64         // segments truncated by cutLocked, not yet synced
	poison     error
	dirty      atomic.Bool   // appended since the last sync (SyncInterval, SyncNever)
	txOpen     atomic.Bool   // a write transaction holds e.mu
	callbacks  callbackState // Update and View functions running (reentry.go)

	compactMu   sync.Mutex
	compactKick chan struct{}
	stop        chan struct{}
	bg          sync.WaitGroup
	closeOnce   sync.Once
	closeErr    error

	commits, syncs, compactions atomic.Int64
	lastCommitNanos             atomic.Int64

	// version is the schema version written in schema records; rawVersion
	// says the engine takes whatever version the log holds (an upgrade
	// reading the old log) instead of checking it (migrate.go).
	version    uint64
	rawVersion bool

	seq            uint64 // commits appended since open (e.mu)
	follow         followState
	streaming      bool // large transactions stream into the log (StreamingBackend)
	subs           subscriptions
	lastCompactErr atomic.Pointer[string]
	openStats      OpenStats
}

// Stats describes a database at one moment.
type Stats struct {
	Tables            int
	Segments          int
	Records           int64         // records in the live log, without synced records (bookkeeping)
	LogBytes          int64         // bytes of the live log
	LiveBytes         int64         // estimated bytes of a fully compacted log of the current state
	Commits           int64         // commits since open
	Syncs             int64         // syncs since open
	Compactions       int64         // compactions since open
	LastCommitLatency time.Duration // of the most recent commit, including its sync
	LastCompactError  string        // of the most recent automatic compaction, "" if it succeeded
	ActiveSegment     uint64        // the segment that takes appends; segment IDs only grow
}

// OpenStats describes the replay that Open performed.
type OpenStats struct {
	Segments  int           // segments replayed
	Records   int64         // records replayed, without synced records
	Bytes     int64         // bytes replayed
	TornBytes int64         // bytes of a torn tail found (and cut unless read-only)
	Duration  time.Duration // time spent opening
}

// Open opens (or creates) the database stored in b with the struct schema
// S. It fails with ErrSchema for a schema it cannot bind, ErrCorrupt for a
// damaged log, and ErrBadEntry for entries that do not fit the schema.
func Open[S any](b Backend, opts Options) (*DB[S], error) {
	desc, err := describeStruct[S]()
	if err != nil {
		return nil, err
	}
	return open[S](b, desc, opts)
}

func open[S any](b Backend, desc *schemaDesc, opts Options) (*DB[S], error) {
	if len(desc.names) == 0 {
		return nil, fmt.Errorf("%w: no tables", ErrSchema)
	}
	e, err := newEngine(b, desc, opts)
	if err != nil {
		return nil, err
	}
	err = e.load()
	if need, ok := err.(*upgradeNeeded); ok {
		// load stopped at the first schema record, having written nothing.
		if err := upgrade(b, desc, opts, need.from); err != nil {
			return nil, err
		}
		if e, err = newEngine(b, desc, opts); err != nil {
			return nil, err
		}
		err = e.load()
	}
	if err != nil {
		return nil, err
	}
	db := &DB[S]{e: e, desc: desc}
	db.Tables = db.instance(nil)
	e.startBackground()
	return db, nil
}

// newEngine makes an engine on b whose tables are desc's, empty, before
// the log is loaded.
func newEngine(b Backend, desc *schemaDesc, opts Options) (*engine, error) {
	e := &engine{
		b:           b,
		opts:        opts.withDefaults(),
		byID:        map[uint32]*tableInfo{},
		byName:      map[string]*tableInfo{},
		w:           newEntryWriter(),
		recordLimit: MaxRecordSize,
		partSize:    CommitPartSize,
		segSize:     map[uint64]int64{},
		compactKick: make(chan struct{}, 1),
		stop:        make(chan struct{}),
		version:     opts.Version,
	}
	e.scond = sync.NewCond(&e.smu)
	if sb, ok := b.(StreamingBackend); ok {
		e.streaming = sb.CutsDurable()
	}
	if len(desc.names) == 0 {
		return e, nil
	}
	_, fields := desc.newInstance()
	for i, f := range fields {
		st, err := f.newState()
		if err != nil {
			return nil, fmt.Errorf("%w: table %q: %v", ErrSchema, desc.names[i], err)
		}
		e.byName[desc.names[i]] = &tableInfo{name: desc.names[i], kind: st.kind(), state: st, fresh: f.newState}
	}
	return e, nil
}

// instance builds a *S whose handles belong to tx (nil: auto-commit).
func (db *DB[S]) instance(tx *txn) *S {
	inst, fields := db.desc.newInstance()
	for i, f := range fields {
		ti := db.e.byName[db.desc.names[i]]
		f.bind(handle{e: db.e, tx: tx, id: ti.id}, ti.state)
	}
	return inst.(*S)
}

// Update runs fn as one transaction. If fn returns nil, every change it made
// is committed as one record (a large transaction streams a run of records
// while fn runs, which its last record commits: see record.go), durable
// (under the sync mode) when Update returns nil. If fn returns an error or
// panics, every change is undone in memory and nothing of it stays in the
// log; the error is returned, the panic goes on.
// Other writers wait while fn runs, and so do readers outside fn, so keep it
// short. The handles in tx must not be used after fn returns. fn must use
// the database only through tx: calls through db.Tables, or to Update,
// Begin, Close, Compact or Export, return ErrReentrant (reads panic with it)
// instead of waiting forever for the lock fn holds.
func (db *DB[S]) Update(fn func(tx *S) error) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	if err := runCallback(db.e, func() error { return fn(tx.Tables) }); err != nil {
		done = true
		tx.Rollback()
		return err
	}
	done = true
	return tx.Commit()
}

// View runs fn with read-only handles on a consistent state of every
// table. Writers wait while fn runs; other readers do not. A write through
// the handles returns ErrReadOnly.
// A write through db.Tables inside fn returns ErrReentrant.
func (db *DB[S]) View(fn func(s *S) error) error {
	e := db.e
	e.rlock()
	defer e.mu.RUnlock()
	t := &txn{readOnly: true}
	defer t.closed.Store(true)
	return runCallback(e, func() error { return fn(db.instance(t)) })
}

// Tx is a write transaction begun with Begin. It holds the write lock until
// Commit, CommitAsync or Rollback. Update is the convenient form.
type Tx[S any] struct {
	// Tables holds the handles bound to this transaction.
	Tables *S
	db     *DB[S]
	t      *txn
}

// Begin starts a write transaction, waiting for the write lock. The caller
// must finish it with Commit, CommitAsync or Rollback.
func (db *DB[S]) Begin() (*Tx[S], error) {
	e := db.e
	if err := e.lock(); err != nil {
		return nil, err
	}
	t, err := e.beginLocked()
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	return &Tx[S]{Tables: db.instance(t), db: db, t: t}, nil
}

// TryBegin is Begin without waiting: when another transaction (or a
// compaction switching segments) holds the write lock it returns ok false
// and does nothing. The browser bridge uses it, because the JS thread must
// never block.
func (db *DB[S]) TryBegin() (tx *Tx[S], ok bool, err error) {
	e := db.e
	if !e.mu.TryLock() {
		return nil, false, nil
	}
	t, err := e.beginLocked()
	if err != nil {
		e.mu.Unlock()
		return nil, true, err
	}
	return &Tx[S]{Tables: db.instance(t), db: db, t: t}, true, nil
}

// Segment is one segment of the log as Export returns it.
type Segment struct {
	ID   uint64
	Data []byte // from offset 0 to the end of the last record
}

// Export waits until every commit appended so far is durable (or failed),
// then returns a copy of the live log: the segments a reopen would replay.
// Writers may go on meanwhile; their later commits may or may not be in it.
// It is for backups, tests and moving a log between backends (a log
// exported natively opens in the browser, and the reverse).
func (db *DB[S]) Export() ([]Segment, error) {
	e := db.e
	if e.reentrant() {
		return nil, ErrReentrant
	}
	e.drainPending()
	e.compactMu.Lock()
	defer e.compactMu.Unlock()
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		return nil, ErrClosed
	}
	segs := slices.Clone(e.segs)
	sizes := make([]int64, len(segs))
	for i, id := range segs {
		sizes[i] = e.segSize[id]
	}
	e.mu.RUnlock()
	out := make([]Segment, 0, len(segs))
	for i, id := range segs {
		data, err := e.b.ReadSegment(id)
		if err != nil {
			return nil, fmt.Errorf("dbrs: export segment %d: %w", id, err)
		}
		if int64(len(data)) < sizes[i] {
			return nil, fmt.Errorf("dbrs: export segment %d: %d bytes, want %d", id, len(data), sizes[i])
		}
		out = append(out, Segment{ID: id, Data: data[:sizes[i]:sizes[i]]})
	}
	return out, nil
}

// Rollback undoes every change of the transaction and releases the lock.
// It does nothing on a finished transaction.
func (tx *Tx[S]) Rollback() {
	if tx.t.closed.Load() {
		return
	}
	tx.db.e.rollbackAndUnlock(tx.t)
}

// Commit writes the transaction's (last) record and waits until it is durable
// under the sync mode. On error nothing of the transaction remains, in
// memory or in the log (or the database refuses writes; see ErrPoisoned).
func (tx *Tx[S]) Commit() error {
	wait, err := tx.CommitAsync()
	if err != nil {
		return err
	}
	return wait()
}

// CommitAsync appends the transaction's record and releases the write lock
// without waiting for durability; wait blocks until the commit is durable
// and reports its outcome. Other transactions may begin meanwhile and their
// syncs are shared.
func (tx *Tx[S]) CommitAsync() (wait func() error, err error) {
	if tx.t.closed.Load() {
		return nil, ErrTxClosed
	}
	e := tx.db.e
	if e.opts.ReadOnly { // a scratch transaction (follow.go)
		e.rollbackAndUnlock(tx.t)
		return nil, ErrReadOnly
	}
	start := time.Now()
	empty := tx.t.w.count() == 0
	pc, err := e.commitLocked(tx.t)
	e.mu.Unlock()
	if err != nil {
		e.syncCuts()
		return nil, err
	}
	if empty {
		return func() error { return nil }, nil
	}
	return func() error {
		err := e.waitDurable(pc)
		if err == nil {
			e.lastCommitNanos.Store(int64(time.Since(start)))
		}
		return err
	}, nil
}

// Compact rewrites the log as a snapshot of the current state, atomically:
// until the snapshot is complete and durable the old log stays
// authoritative. Readers and writers keep running; writers wait only for
// the moment it takes to start a new segment.
func (db *DB[S]) Compact() error {
	if db.e.reentrant() {
		return ErrReentrant
	}
	return db.e.compact()
}

// Close stops background work, waits for commits in flight, syncs, and
// releases the backend. Reads of handles keep returning the final state;
// everything else returns ErrClosed.
func (db *DB[S]) Close() error {
	if db.e.reentrant() {
		return ErrReentrant
	}
	return db.e.close()
}

// Stats returns current counters.
func (db *DB[S]) Stats() Stats { return db.e.stats() }

// OpenStats returns what Open found in the log.
func (db *DB[S]) OpenStats() OpenStats { return db.e.openStats }

// Clone returns an independent copy of the database on a new MemBackend,
// with the same schema and options (but never read-only). It is meant for
// tests: changes to either do not affect the other.
func (db *DB[S]) Clone() (*DB[S], error) {
	mem := NewMemBackend()
	chunks, _, err := db.e.snapshotLive()
	if err != nil {
		return nil, err
	}
	if err := mem.Install(1, chunks, nil); err != nil {
		return nil, err
	}
	opts := db.e.opts
	opts.ReadOnly = false
	return open[S](mem, db.desc, opts)
}

func (e *engine) stats() Stats {
	e.rlock()
	defer e.mu.RUnlock()
	s := Stats{
		Tables:            len(e.tables),
		Segments:          len(e.segs),
		Records:           e.records,
		LogBytes:          e.logBytes,
		LiveBytes:         e.liveBytesLocked(),
		Commits:           e.commits.Load(),
		Syncs:             e.syncs.Load(),
		Compactions:       e.compactions.Load(),
		LastCommitLatency: time.Duration(e.lastCommitNanos.Load()),
		ActiveSegment:     e.active,
	}
	if p := e.lastCompactErr.Load(); p != nil {
		s.LastCompactError = *p
	}
	return s
}
