// The Go ↔ JS bridge contract, protocol version 2.
//
// dbrs.wasm (platform/wasm, package main) gives JS these when it
// starts:
//
//   - globalThis.__dbrs, typed by GoBridge below: js.FuncOf methods for
//     what is truly asynchronous (open, close, compact, exportLog,
//     importLog, deleteDatabase, writable) and stats;
//   - two wasm exports, dbrs_in and dbrs_call (their ABI is specified in
//     platform/wasm/exports.go), for every per-operation call: reads, the
//     ops of a transaction, begin, commit, rollback and one-op auto-commits,
//     with requests and replies as bytes in wasm linear memory. A crossing
//     costs under a microsecond there, against tens of microseconds through
//     js.FuncOf (syscall/js makes a js.Value with a finalizer for every
//     argument and property);
//   - a third export, dbrs_run, which JS calls from one microtask per turn
//     that ended a transaction (a commit, a rollback, a failed commit). An
//     export runs only its own goroutine, so what it made runnable (the
//     settler that flushes commits, a compaction or close that waited for
//     the write lock) runs only when JS next calls into Go; dbrs_run runs
//     them until each waits for IndexedDB or for more work (exports.go,
//     "Wake-ups");
//   - a fourth export, dbrs_flushed, which the oncomplete of each IndexedDB
//     flush transaction calls: Go issues those through GoBridge.flush, a
//     function wasm.ts sets, and waits for the export (platform/wasm/
//     idb_flush.go specifies both).
//
// wasm.ts joins the two into the Bridge interface below, which is what the
// rest of the shim uses (and what the unit tests' fake implements). The
// shim refuses a dbrs.wasm whose __dbrs.protocol is not PROTOCOL.
//
// This file is the specification. The Go side is written to match it.
//
// # Ground rules
//
//  1. Few, large crossings. Keys, values and argument lists cross as single
//     msgpack byte strings, never as JS objects that Go would have to walk.
//     Tables cross as their index in open()'s tables, ops as codes (ops.ts).
//
//  2. Synchronous vs Promise. A method that may touch IndexedDB returns a
//     Promise: open, exec (durability), commit (durability), compact, close,
//     exportLog, importLog, deleteDatabase, writable. Every other method is
//     synchronous and memory-only: stats, read, begin, apply, rollback.
//     Go never blocks the JS thread on anything that needs the JS event loop
//     (an IDB request, a timer, a Promise): it starts a goroutine instead.
//     A commit's durability is reported by Go calling __dbrs.onSettle(h,
//     seq, error | null) once per commit, in commit order; wasm.ts turns
//     that into the commit's Promise.
//
//  3. Errors. A synchronous method never throws for a dbrs error: it RETURNS
//     an Error object instead of its normal result. A Promise method rejects
//     with such an Error, or returns it synchronously in place of the
//     Promise when the failure is known before any work started (documented
//     per method). Every such Error:
//       - is `instanceof Error`,
//       - has `message` starting with "dbrs: " (the Go error string),
//       - has `code`: one of the BridgeErrorCode strings below,
//       - may have `causeCode`: the code of the underlying cause when `code`
//         is 'Poisoned' (for example 'Quota'),
//       - may have `segment` and `offset` (numbers) when `code` is 'Corrupt'.
//     A Go panic inside a bridge method or export is recovered and returned
//     as an Error with code 'Internal': it never kills the wasm instance.
//     Should the Go program exit anyway, every call throws a plain JS Error,
//     which the shim maps to 'Internal'.
//
//  4. Raw msgpack. Go stores keys and values as the exact bytes the shim
//     produced and compares keys by those bytes (so the shim guarantees that
//     equal JS keys encode to equal bytes; see codec.ts). Go never re-encodes
//     a key or value it received; it returns the stored bytes unchanged.
//
//  5. Handles. open() resolves to a positive integer handle. A handle is
//     never reused within a page. Every call with an unknown or closed handle
//     fails with code 'Closed'.
//
//  6. Consistency. The state that read() observes changes only inside a
//     call to exec, apply, rollback, commit or applyCommit, or inside a JS
//     event callback that Go registered itself (an IDB completion whose
//     failure undoes a commit, design §4.3; a follower's catchUp or promote
//     settling, FollowBridge). Never during a
//     read() or stats() call, and never while JS code runs. So a run of read() calls in one synchronous JS
//     turn, with no write calls between them, sees one consistent state;
//     db.view() relies on this and needs no bridge call of its own.
//
// # Encodings
//
// `args` (read, apply) is one msgpack array whose elements are the
// operation's arguments in order. A key or value argument is embedded as
// one complete msgpack value; Go splits the array into its elements and
// keeps each key/value element's raw bytes. An index argument is a msgpack
// non-negative integer (the shim checks Number.isSafeInteger(i) && i >= 0
// before it calls). An operation with no arguments gets the empty array
// (the single byte 0x90).
//
// A *raw value result* is a Uint8Array holding exactly the stored msgpack
// bytes of one value, or JS null when there is no value. (Returning null
// for "absent" keeps a stored msgpack nil distinguishable from "absent".)
//
// An *array result* is a Uint8Array holding one msgpack array whose
// elements are stored raw values (Go writes the array header, then appends
// the stored bytes). A *pair-array result* is an array result of even
// length: [k1, v1, k2, v2, ...].
//
// Order: key lists, entries and set members are in ascending order of their
// encoded bytes (bytewise, shorter-is-less on a common prefix). This is not
// lexicographic order for strings (msgpack puts the length first) but it is
// deterministic, which tests and UIs rely on. List values keep list order.
//
// # Ops
//
// Reads go through read(); writes go through apply() inside begin/commit,
// or through exec() (one op, committed on its own). "→" gives the result. Errors: any op may return
// 'UnknownTable' (no such table), 'BadValue' (an argument is not exactly one
// well-formed msgpack value, or an op name the table kind does not have, or
// the wrong number of arguments), 'Closed'; writes may also return
// 'ReadOnly' and 'Poisoned'. Extra codes are listed per op.
//
//   kind 'single'
//     read  get()               → raw value | null when unset
//     write insert(v)           → null
//     write clear()             → null (no-op when unset)
//   kind 'list'
//     read  len()               → number
//     read  at(i)               → raw value | null when i >= len
//     read  all()               → array result
//     write push(v)             → null
//     write pop()               → raw value (the removed last element); 'Empty'
//     write insertAt(i, v)      → null; 0 <= i <= len, else 'Index'
//     write setAt(i, v)         → null; 0 <= i < len, else 'Index'
//     write removeAt(i)         → null; 0 <= i < len, else 'Index'
//     write clear()             → null
//   kind 'lookup_table'         (K → V)
//     read  get(k)              → raw value | null when absent
//     read  has(k)              → boolean
//     read  len()               → number of keys
//     read  keys()              → array result of keys
//     read  entries()           → pair-array result [k, v, ...]
//     read  getMany(k...)       → array result [presence, v...]: presence is a
//                                 bin whose bit i (LSB first) is set when key i
//                                 is present; then the present keys' values
//     write insertMany(k, v, ...) → null; all pairs or none (odd count: 'BadValue')
//     write insert(k, v)        → null (inserts or replaces)
//     write remove(k)           → null; 'NotFound' when k is absent
//     write clear()             → null
//   kind 'lookup_list'          (K → list of V; a key exists iff its list is non-empty)
//     read  get(k)              → array result (empty when k is absent)
//     read  keys()              → array result of keys
//     write push(k, v)          → null
//     write removeAt(k, i)      → null; 'NotFound' when k is absent,
//                                 'Index' when i >= len(list)
//     write clearKey(k)         → null (no-op when absent)
//     write clear()             → null
//   kind 'lookup_set'           (K → set of V; a key exists iff its set is non-empty)
//     read  get(k)              → array result, members in byte order (empty when absent)
//     read  has(k, v)           → boolean
//     read  keys()              → array result of keys
//     write insert(k, v)        → null (no-op on memory when present; still a commit)
//     write remove(k, v)        → null; 'NotFound' when k is absent or v not in its set
//     write clearKey(k)         → null (no-op when absent)
//     write clear()             → null
//   kind 'lookup_map'           (K1 → (K2 → V); a K1 exists iff its inner map is non-empty)
//     read  get(k1, k2)         → raw value | null when absent
//     read  getInner(k1)        → pair-array result [k2, v, ...] (empty when absent)
//     read  keys()              → array result of K1 keys
//     write insert(k1, k2, v)   → null
//     write remove(k1, k2)      → null; 'NotFound' when absent
//     write clearKey(k1)        → null (no-op when absent)
//     write clear()             → null
//
// The rule behind the errors: remove*/pop fail when there is nothing to
// remove; clear* never fails. A failing op changes nothing (it is checked
// before it is applied), so a transaction may catch the error and go on.
//
// Go-typed and dynamic schemas must write identical log entries for these
// ops, so a log written natively opens in the browser and the reverse
// (design §2).

/** Table kinds as the log records them. */
export type TableKind =
  | 'single'
  | 'list'
  | 'lookup_table'
  | 'lookup_list'
  | 'lookup_set'
  | 'lookup_map';

/** One table of a dynamic schema. */
export interface BridgeTable {
  /** The table name, as recorded in the log. Unique within a schema. */
  name: string;
  kind: TableKind;
}

/** Options of Bridge.open. Every field is optional. */
export interface BridgeOpenOptions {
  /**
   * IndexedDB transaction durability hint for commits: 'strict' (the
   * default; the commit's IDB transaction completes only after the data is
   * flushed) or 'relaxed' (completes once handed to the OS).
   */
  durability?: 'strict' | 'relaxed';
  /**
   * When true, tables in the log that the schema lacks are kept as opaque
   * data (and written back by compaction) instead of failing the open with
   * 'UnknownTable'. Default false.
   */
  keepUnknownTables?: boolean;
  /**
   * The schema version (a non-negative integer; default 0). A log at a
   * newer version rejects the open with 'Version'; a log at an older one
   * is upgraded (see onUpgrade) before the open resolves.
   */
  version?: number;
  /**
   * Called once, synchronously from the opening goroutine, when the stored
   * version is older than `version`: with an upgrade ID, the stored and
   * the new version, and the stored tables. It must return at once; the
   * open then waits until upgradeStep(id, 'finish', ...) is called.
   * Without it, an older log is upgraded with no step (tables keep their
   * names and values).
   */
  onUpgrade?: (id: number, from: number, to: number, tables: BridgeTable[]) => void;
  /**
   * Open read-only, to follow another tab that writes (follower.ts): the
   * IndexedDB database must exist, nothing is written to it, and begin
   * starts a scratch transaction whose ops can only be rolled back.
   */
  follower?: boolean;
}

/** A durable commit of a leader, as shipped(h) returns it. */
export interface ShippedCommit {
  /** Where its records start in the log, and where they end. */
  segment: number;
  offset: number;
  end: number;
  /** Its framed records, as they lie in the log. */
  record: Uint8Array;
  /** The tables it wrote, sorted. */
  tables: string[];
}

/** What catchUp and promote did: the tables of each commit applied, or a reopen. */
export interface CatchUpResult {
  /** The database was opened again from IndexedDB: any table may have changed. */
  reopened: boolean;
  /** Per commit applied, in log order, the tables it wrote. */
  changes: string[][];
}

/**
 * Following between tabs (platform/wasm/follower.go). Optional in Bridge:
 * without it (the unit tests' fake bridge) open() works one tab at a time.
 */
export interface FollowBridge {
  /** Makes the leader keep each durable commit's records for shipped(h). */
  tap(h: number): undefined | BridgeError;
  /**
   * The tapped commits not yet taken, oldest first. A commit is here before
   * its Promise settles.
   */
  shipped(h: number): ShippedCommit[] | BridgeError;
  /**
   * Applies a shipped commit to a follower; returns the tables it wrote, or
   * an Error: 'Duplicate' (applied already), 'Gap' (commits were missed:
   * catchUp), 'Corrupt', 'BadEntry', 'BadValue', 'MustReopen'.
   */
  applyCommit(h: number, segment: number, offset: number, record: Uint8Array): string[] | BridgeError;
  /** [segment, offset]: the end of the log as the handle has it. */
  position(h: number): [number, number] | BridgeError;
  /** Reads what a follower missed from IndexedDB (reopening after a compaction). */
  catchUp(h: number): Promise<CatchUpResult>;
  /** Catches up and reopens for writing; call only while holding the database's Web Lock. */
  promote(h: number): Promise<CatchUpResult>;
}

/**
 * The steps of an upgrade in progress (platform/wasm/bridge_upgrade.go):
 * 'rename' (from, to), 'drop' (table), 'elements' (table) → msgpack
 * [[[key, ...], value], ...], 'setValues' (table, msgpack [value, ...], one
 * per element), and 'finish' (with a message when the upgrade failed:
 * then the open rejects and nothing is written).
 */
export type UpgradeStep = 'rename' | 'drop' | 'elements' | 'setValues' | 'finish';

/** One log segment, as exportLog produces and importLog consumes it. */
export interface BridgeSegment {
  /** Segment ID (a uint64 in Go; below 2^53 in practice). */
  id: number;
  /**
   * The segment's bytes from offset 0 to the end of its last whole record
   * (no preallocated zero tail; a torn tail, if any, is dropped).
   */
  data: Uint8Array;
}

/**
 * Error codes the bridge produces, with the Go error each one comes from.
 * Codes are part of the protocol and never change meaning.
 */
export type BridgeErrorCode =
  /** core.ErrNotFound: a remove named a key (or set member) that is absent. */
  | 'NotFound'
  /** core.ErrIndex: a list index out of range. */
  | 'Index'
  /** core.ErrEmpty: pop on an empty list. */
  | 'Empty'
  /** core.ErrReadOnly: a write on a database opened read-only. */
  | 'ReadOnly'
  /** core.ErrClosed, or an unknown handle. */
  | 'Closed'
  /** core.ErrTxClosed: apply/commit/rollback without an open transaction. */
  | 'TxClosed'
  /**
   * The write lock is held (by compaction, a segment switch, or a
   * transaction that is already open on this handle); nothing was done.
   * Call writable(h) and retry.
   */
  | 'Busy'
  /** core.ErrLocked: the database is already open in this page (or, later, locked by another tab). */
  | 'Locked'
  /** IndexedDB QuotaExceededError. */
  | 'Quota'
  /** IndexedDB AbortError (a transaction aborted for another reason). */
  | 'Abort'
  /** IndexedDB UnknownError (typically "connection lost"; reopen). */
  | 'IDBUnknown'
  /** Any other IndexedDB/DOMException failure; the message names it. */
  | 'IDB'
  /**
   * core.ErrVersion: the stored schema version is newer than open's
   * version (there is no downgrade).
   */
  | 'Version'
  /** core.ErrCorrupt; the Error carries `segment` and `offset`. */
  | 'Corrupt'
  /** core.ErrBadEntry: an intact record holds an entry its table cannot decode. */
  | 'BadEntry'
  /** core.ErrSchema: duplicate names, no tables, or a kind that differs from the log's. */
  | 'Schema'
  /** core.ErrUnknownTable. */
  | 'UnknownTable'
  /** core.ErrBadValue, a malformed args array, an unknown op, or a wrong argument count. */
  | 'BadValue'
  /** core.ErrTooLarge: one entry (a key and its value) would exceed MaxRecordSize (64 MiB). */
  | 'TooLarge'
  /** core.ErrPoisoned: writes refused after an unrecoverable failure; `causeCode` says why. Reopen. */
  | 'Poisoned'
  /** A recovered Go panic, a protocol violation, or anything unmapped. */
  | 'Internal'
  /**
   * Raised by the shim, not Go: IndexedDB came back empty, or behind what
   * this origin last saw of the database (the browser deleted or replaced
   * its store). See open()'s acceptLoss.
   */
  | 'Lost'
  /** core.ErrGap: a shipped commit does not follow the follower's position (follower.go). */
  | 'Gap'
  /** core.ErrDuplicate: a shipped commit was applied already. */
  | 'Duplicate'
  /** core.ErrMustReopen: the follower must reopen to follow the log. */
  | 'MustReopen'
  /**
   * Raised by the shim: a follower's transaction read a table that the
   * leader changed meanwhile, more times in a row than it retries.
   */
  | 'Conflict';

/** The shape of every Error the bridge returns or rejects with. */
export interface BridgeError extends Error {
  code: BridgeErrorCode;
  causeCode?: BridgeErrorCode;
  segment?: number;
  offset?: number;
}

/**
 * Result of a synchronous read/apply: a raw value or array result, a
 * number (len), a boolean (has), or null (absent / no result).
 */
export type BridgeResult = Uint8Array | number | boolean | null;

/** The object dbrs.wasm installs as globalThis.__dbrs. */
export interface Bridge extends Partial<FollowBridge> {
  /** Protocol version; this file describes 2. The shim refuses any other. */
  readonly protocol: number;

  /** dbrs version string, for diagnostics (e.g. "0.1.0"). */
  readonly version: string;

  /**
   * Opens (creating if needed) the database `name`, stored in IndexedDB,
   * bound to the dynamic schema `tables`. Tables in `tables` that the log
   * lacks are added (a schema record is appended). Replays the log: state =
   * newest complete snapshot + later segments; a torn tail is dropped.
   *
   * Resolves to a new handle. Rejects with 'Schema' (duplicate or empty
   * names, zero tables, a kind that differs from the log's), 'UnknownTable'
   * (the log holds a table the schema lacks, unless keepUnknownTables),
   * 'Corrupt', 'BadEntry', 'Locked' (already open in this page), or an IDB
   * code.
   */
  open(name: string, tables: BridgeTable[], opts: BridgeOpenOptions): Promise<number>;

  /**
   * One step of the upgrade `id` that an open in progress handed to
   * opts.onUpgrade (see UpgradeStep). Synchronous; returns null, the
   * elements ('elements'), or an Error ('UnknownTable', 'Schema',
   * 'BadValue', 'Closed' for an unknown or finished upgrade) instead of
   * throwing.
   */
  upgradeStep(id: number, step: UpgradeStep, ...args: (string | Uint8Array)[]): null | Uint8Array | BridgeError;

  /**
   * Synchronous memory read of one table. See "Ops" for `op`, `args` and
   * the result. A Uint8Array result may be a view of wasm memory: it is
   * valid only until the next call on the bridge, so decode it at once. While a transaction is open on `h` (between begin and
   * commit/rollback), reads go through that transaction and see its writes.
   * Returns an Error ('UnknownTable', 'BadValue', 'Closed') instead of a
   * result on failure.
   */
  read(h: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError;

  /**
   * Begins a write transaction: takes the database's write lock without
   * waiting. JS is single-threaded, so the shim holds it across its
   * synchronous callback and ends it with commit or rollback in the same
   * JS turn. Returns null on success, or an Error: 'Busy' (the lock is held;
   * nothing happened; await writable(h) and retry), 'Closed', 'ReadOnly',
   * 'Poisoned'.
   */
  begin(h: number): null | BridgeError;

  /**
   * Applies one write op to the open transaction, in memory, at once: later
   * reads on `h` see it. On an Error the op changed nothing and the
   * transaction stays open (the shim decides whether to roll back).
   * Returns the op's result (see "Ops"), or an Error: 'TxClosed' (no open
   * transaction), 'NotFound', 'Index', 'Empty', 'UnknownTable', 'BadValue',
   * 'TooLarge' (one value with its key exceeds MaxRecordSize).
   */
  apply(h: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError;

  /**
   * Ends the open transaction by committing it. Synchronously: encodes the
   * transaction's entries as ONE commit record, appends it to the log
   * (memory/backend buffer; no IDB wait) and releases the write lock, so
   * the next begin can run at once; the commit's effects stay visible to
   * reads. A transaction with no writes appends nothing and returns a
   * resolved Promise.
   *
   * Returns a Promise that resolves (to undefined) once the record is
   * durable under the database's durability mode. Many commits queued
   * while one IDB transaction is in flight are written by the next single
   * IDB transaction (group commit). The Promises of one handle's commits
   * (from commit and exec) settle in commit order. It rejects with 'Quota', 'Abort',
   * 'IDBUnknown', 'IDB' when the write failed and the commit was undone in
   * memory (no later commit depended on it), or 'Poisoned' (with causeCode)
   * when memory could not be made to match the log; design §4.3.
   *
   * Returns an Error synchronously instead of the Promise when the
   * transaction could not be appended ('TxClosed', 'TooLarge', 'Poisoned');
   * in that case it has been rolled back and the lock released.
   */
  commit(h: number): Promise<void> | BridgeError;

  /**
   * Ends the open transaction by undoing all of its ops in memory, in
   * reverse order, and releases the write lock. Nothing is written. Returns
   * null, or an Error ('TxClosed' when none is open; 'Poisoned' if undo
   * failed, after which the handle refuses writes).
   */
  rollback(h: number): null | BridgeError;

  /**
   * One-crossing auto-commit: begin + apply one op + commit. If the op
   * fails, nothing is appended, and exec RETURNS its Error synchronously
   * (also 'Busy' when the write lock is held, 'Closed', 'ReadOnly',
   * 'Poisoned'). Otherwise the op has been applied to memory and appended
   * when exec returns, and the returned Promise resolves, once durable, to
   * an array result of one element: the op's raw value result, or nil for
   * ops that return null. It rejects like commit's Promise.
   */
  exec(h: number, table: string, op: string, args: Uint8Array): Promise<Uint8Array> | BridgeError;

  /**
   * Resolves the next time the write lock is free (at once if it is free
   * now). Used after 'Busy'. begin/exec may still find it taken if another
   * writer got it first; retry then. Rejects with 'Closed'.
   */
  writable(h: number): Promise<void>;

  /**
   * Compacts the log: writes a snapshot segment of the live state and, in
   * one IDB transaction, installs it and deletes the older segments. Writers
   * run alongside and are blocked only briefly (they may see 'Busy'). No-op
   * when nothing would shrink is allowed. Resolves when the new segment is
   * durable. Rejects with an IDB code (the old segments stay authoritative),
   * 'Closed', 'Poisoned'.
   */
  compact(h: number): Promise<void>;

  /**
   * Synchronous statistics as a JSON object text. Required fields (numbers):
   *   records      log records in the live segments (schema, commit,
   *                snapshot records: what a reopen replays)
   *   logBytes     bytes of the live segments, up to their last record
   *   liveBytes    estimated bytes of a fully compacted log of the current
   *                state (the auto-compaction ratio compares logBytes to it)
   *   compactions  completed compactions since open (auto and explicit)
   *   commits      commits made durable since open
   *   lastCommitMs milliseconds from append to durability of the most
   *                recent durable commit (0 before the first)
   * Go may add more numeric fields (e.g. tornBytes, segments); the shim
   * passes them through. Returns an Error ('Closed') on failure.
   */
  stats(h: number): string | BridgeError;

  /**
   * Waits until every appended commit is durable, then closes the handle
   * and its IDB connection. Resolves even if a queued commit failed (that
   * commit's own Promise carries the error). After it is called, every
   * other call on `h` fails with 'Closed'. A transaction left open is rolled
   * back. Closing a closed handle resolves.
   */
  close(h: number): Promise<void>;

  /**
   * Returns a copy of the live segments in ascending ID order, as the
   * backend holds them after waiting for pending commits to be durable.
   * For tests and backups.
   */
  exportLog(h: number): Promise<BridgeSegment[]>;

  /**
   * Replaces the whole content of the IndexedDB database `name` with
   * `segments` (IDs and bytes as given, e.g. read from a native dbrs
   * folder) in one IDB transaction. Does not validate records; the next
   * open does. Rejects with 'Locked' if `name` is open in this page, or an
   * IDB code.
   */
  importLog(name: string, segments: BridgeSegment[]): Promise<void>;

  /**
   * Deletes the IndexedDB database `name` and all its segments. Resolves
   * when deleted (resolves too if it did not exist). Rejects with 'Locked'
   * if it is open in this page, or an IDB code.
   */
  deleteDatabase(name: string): Promise<void>;
}

/**
 * The object dbrs.wasm installs as globalThis.__dbrs: the asynchronous
 * half of the bridge, and stats. wasm.ts adds the exports to make a Bridge.
 */
export type GoBridge = Pick<Bridge, 'protocol' | 'version' | 'open' | 'writable' | 'compact' | 'stats' | 'close' | 'exportLog' | 'importLog' | 'deleteDatabase' | 'upgradeStep'> & Partial<FollowBridge> & {
  /**
   * The highest method number dbrs.wasm serves through dbrs_call
   * (platform/wasm/exports.go): 8 and up serve position and shipped there;
   * absent in older builds.
   */
  calls?: number;
  /** Set by wasm.ts: Go calls it once per commit, in commit order, when the commit is durable (error null) or failed. */
  onSettle?: (h: number, seq: number, error: Error | null) => void;
  /**
   * Set by wasm.ts before its first dbrs_run, when dbrs.wasm has the export
   * dbrs_flushed: Go calls it to issue each IndexedDB flush transaction,
   * whose oncomplete calls dbrs_flushed(token) (platform/wasm/idb_flush.go
   * specifies both).
   */
  flush?: (db: IDBDatabase, store: string, opts: IDBTransactionOptions, onAbort: () => void, token: number, at: number, n: number, wantDurability: boolean) => string | undefined;
};

/** Protocol version this shim speaks. */
export const PROTOCOL = 2;
