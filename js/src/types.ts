// The public types: schema definitions, the three flavours of every table
// (view = reads only, tx = reads + synchronous writes inside a transaction,
// auto = reads + auto-committed writes that return Promises), and DB.
//
// The schema object you pass to open() is the type: its property names are
// the table names, and each builder's type arguments are the table's key and
// value types. Nothing here exists at run time except the builders in
// schema.ts.

import type { Key } from './codec.js';
import type { ErrorCode } from './errors.js';
import type { TableChecks } from './checks.js';

export type { Key };

declare const phantom: unique symbol;

/** What a table on db.tables adds: change notifications. */
export interface Subscribable {
  /**
   * Calls listener after every durable commit that wrote this table, in
   * commit order (a rolled-back or failed commit calls nothing). Returns
   * the function that unsubscribes.
   */
  subscribe(listener: () => void): () => void;
}

/** Definition of a Single<T> table: at most one value. Made by single<T>(). */
export interface SingleDef<T> {
  readonly kind: 'single';
  readonly [phantom]?: [T];
  readonly checks?: TableChecks;
}
/** Definition of a List<T> table: an ordered list. Made by list<T>(). */
export interface ListDef<T> {
  readonly kind: 'list';
  readonly [phantom]?: [T];
  readonly checks?: TableChecks;
}
/** Definition of a LookupTable<K, V>: K → V. Made by lookupTable<K, V>(). */
export interface LookupTableDef<K extends Key, V> {
  readonly kind: 'lookup_table';
  readonly [phantom]?: [K, V];
  readonly checks?: TableChecks;
}
/** Definition of a LookupList<K, V>: K → ordered list of V. Made by lookupList<K, V>(). */
export interface LookupListDef<K extends Key, V> {
  readonly kind: 'lookup_list';
  readonly [phantom]?: [K, V];
  readonly checks?: TableChecks;
}
/** Definition of a LookupSet<K, V>: K → set of V. Made by lookupSet<K, V>(). */
export interface LookupSetDef<K extends Key, V extends Key> {
  readonly kind: 'lookup_set';
  readonly [phantom]?: [K, V];
  readonly checks?: TableChecks;
}
/** Definition of a LookupMap<K1, K2, V>: K1 → (K2 → V). Made by lookupMap<K1, K2, V>(). */
export interface LookupMapDef<K1 extends Key, K2 extends Key, V> {
  readonly kind: 'lookup_map';
  readonly [phantom]?: [K1, K2, V];
  readonly checks?: TableChecks;
}

/** Any table definition. */
export type TableDef =
  | SingleDef<any>
  | ListDef<any>
  | LookupTableDef<any, any>
  | LookupListDef<any, any>
  | LookupSetDef<any, any>
  | LookupMapDef<any, any, any>;

/**
 * A schema: table name → table definition. Table names are what the log
 * records, so renaming a property renames the table (and a reopen with the
 * old log then fails with 'UnknownTable'); reordering properties is safe.
 */
export type Schema = { readonly [table: string]: TableDef };

// ---------------------------------------------------------------- single

/** Reads of a Single<T>. */
export interface SingleView<T> {
  /** The value, or undefined when none was inserted (or after clear). */
  get(): T | undefined;
}
/** A Single<T> inside a transaction: writes apply at once, commit with the transaction. */
export interface SingleTx<T> extends SingleView<T> {
  /** Sets the value, replacing any previous one. */
  insert(value: T): void;
  /** Removes the value. Never fails. */
  clear(): void;
}
/** A Single<T> on the database: every write is its own durable commit. */
export interface Single<T> extends SingleView<T>, Subscribable {
  /** Sets the value, replacing any previous one. Resolves when durable. */
  insert(value: T): Promise<void>;
  /** Removes the value. Never fails. Resolves when durable. */
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- list

/** Reads of a List<T>. */
export interface ListView<T> {
  /** Number of elements. */
  len(): number;
  /** Element i (0-based), or undefined when i >= len(). Throws 'Index' when i is not a non-negative integer. */
  at(i: number): T | undefined;
  /** A copy of all elements, in order. */
  all(): T[];
}
/** A List<T> inside a transaction. */
export interface ListTx<T> extends ListView<T> {
  /** Appends v. */
  push(value: T): void;
  /** Removes and returns the last element. Throws 'Empty' when the list is empty. */
  pop(): T;
  /** Inserts v before index i (i === len() appends). Throws 'Index' unless 0 <= i <= len(). */
  insertAt(i: number, value: T): void;
  /** Replaces element i. Throws 'Index' unless 0 <= i < len(). */
  setAt(i: number, value: T): void;
  /** Removes element i. Throws 'Index' unless 0 <= i < len(). */
  removeAt(i: number): void;
  /** Removes every element. */
  clear(): void;
}
/** A List<T> on the database. */
export interface List<T> extends ListView<T>, Subscribable {
  /** Appends v. */
  push(value: T): Promise<void>;
  /** Removes the last element; resolves to it once durable. Rejects with 'Empty'. */
  pop(): Promise<T>;
  /** Inserts v before index i. Rejects with 'Index' unless 0 <= i <= len(). */
  insertAt(i: number, value: T): Promise<void>;
  /** Replaces element i. Rejects with 'Index' unless 0 <= i < len(). */
  setAt(i: number, value: T): Promise<void>;
  /** Removes element i. Rejects with 'Index' unless 0 <= i < len(). */
  removeAt(i: number): Promise<void>;
  /** Removes every element. */
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- lookupTable

/** Reads of a LookupTable<K, V>. Key order: see keys(). */
export interface LookupTableView<K extends Key, V> {
  /** The value at k, or undefined. */
  get(key: K): V | undefined;
  /** Whether k is present. */
  has(key: K): boolean;
  /** Number of keys. */
  len(): number;
  /** All [key, value] pairs, in the order of keys(). */
  entries(): [K, V][];
  /** All keys, in ascending order of their msgpack bytes (deterministic, not alphabetical). */
  keys(): K[];
  /** The value at each key (undefined where absent), in one call into dbrs.wasm. */
  getMany(keys: readonly K[]): (V | undefined)[];
}
/** A LookupTable<K, V> inside a transaction. */
export interface LookupTableTx<K extends Key, V> extends LookupTableView<K, V> {
  /** Sets k to v (insert or replace). */
  insert(key: K, value: V): void;
  /** Sets every [key, value] of entries, in one call: all of them, or (throwing) none. */
  insertMany(entries: Iterable<readonly [K, V]>): void;
  /** Removes k. Throws 'NotFound' when absent. */
  remove(key: K): void;
  /** Removes every key. */
  clear(): void;
}
/** A LookupTable<K, V> on the database. */
export interface LookupTable<K extends Key, V> extends LookupTableView<K, V>, Subscribable {
  /** Sets k to v (insert or replace). */
  insert(key: K, value: V): Promise<void>;
  /** Sets every [key, value] of entries as one commit: all of them, or none. */
  insertMany(entries: Iterable<readonly [K, V]>): Promise<void>;
  /** Removes k. Rejects with 'NotFound' when absent. */
  remove(key: K): Promise<void>;
  /** Removes every key. */
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- lookupList

/** Reads of a LookupList<K, V>. A key exists while its list is non-empty. */
export interface LookupListView<K extends Key, V> {
  /** A copy of k's list ([] when absent). */
  get(key: K): V[];
  /** Keys with a non-empty list, in msgpack byte order. */
  keys(): K[];
}
/** A LookupList<K, V> inside a transaction. */
export interface LookupListTx<K extends Key, V> extends LookupListView<K, V> {
  /** Appends v to k's list. */
  push(key: K, value: V): void;
  /** Removes element i of k's list. Throws 'NotFound' (no such key) or 'Index'. */
  removeAt(key: K, i: number): void;
  /** Removes k and its list. Never fails. */
  clearKey(key: K): void;
  /** Removes every key. */
  clear(): void;
}
/** A LookupList<K, V> on the database. */
export interface LookupList<K extends Key, V> extends LookupListView<K, V>, Subscribable {
  push(key: K, value: V): Promise<void>;
  /** Rejects with 'NotFound' (no such key) or 'Index'. */
  removeAt(key: K, i: number): Promise<void>;
  clearKey(key: K): Promise<void>;
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- lookupSet

/** Reads of a LookupSet<K, V>. A key exists while its set is non-empty. */
export interface LookupSetView<K extends Key, V extends Key> {
  /** k's members in msgpack byte order ([] when absent). */
  get(key: K): V[];
  /** Whether v is in k's set. */
  has(key: K, value: V): boolean;
  /** Keys with a non-empty set, in msgpack byte order. */
  keys(): K[];
}
/** A LookupSet<K, V> inside a transaction. */
export interface LookupSetTx<K extends Key, V extends Key> extends LookupSetView<K, V> {
  /** Adds v to k's set (no change if present). */
  insert(key: K, value: V): void;
  /** Removes v from k's set. Throws 'NotFound' when absent. */
  remove(key: K, value: V): void;
  /** Removes k and its set. Never fails. */
  clearKey(key: K): void;
  clear(): void;
}
/** A LookupSet<K, V> on the database. */
export interface LookupSet<K extends Key, V extends Key> extends LookupSetView<K, V>, Subscribable {
  insert(key: K, value: V): Promise<void>;
  /** Rejects with 'NotFound' when absent. */
  remove(key: K, value: V): Promise<void>;
  clearKey(key: K): Promise<void>;
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- lookupMap

/** Reads of a LookupMap<K1, K2, V>. A K1 exists while its inner map is non-empty. */
export interface LookupMapView<K1 extends Key, K2 extends Key, V> {
  /** The value at (k1, k2), or undefined. */
  get(key: K1, innerKey: K2): V | undefined;
  /**
   * A copy of k1's inner map (empty when absent), in msgpack byte order of
   * K2. Note: a JS Map compares array and Uint8Array keys by identity.
   */
  getInner(key: K1): Map<K2, V>;
  /** Outer keys, in msgpack byte order. */
  keys(): K1[];
}
/** A LookupMap<K1, K2, V> inside a transaction. */
export interface LookupMapTx<K1 extends Key, K2 extends Key, V> extends LookupMapView<K1, K2, V> {
  insert(key: K1, innerKey: K2, value: V): void;
  /** Throws 'NotFound' when (k1, k2) is absent. */
  remove(key: K1, innerKey: K2): void;
  /** Removes k1 and its inner map. Never fails. */
  clearKey(key: K1): void;
  clear(): void;
}
/** A LookupMap<K1, K2, V> on the database. */
export interface LookupMap<K1 extends Key, K2 extends Key, V> extends LookupMapView<K1, K2, V>, Subscribable {
  insert(key: K1, innerKey: K2, value: V): Promise<void>;
  /** Rejects with 'NotFound' when (k1, k2) is absent. */
  remove(key: K1, innerKey: K2): Promise<void>;
  clearKey(key: K1): Promise<void>;
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- mapping

/** The handle type of table definition D on the database (writes return Promises). */
export type TableOf<D> =
  D extends SingleDef<infer T> ? Single<T>
  : D extends ListDef<infer T> ? List<T>
  : D extends LookupTableDef<infer K, infer V> ? LookupTable<K, V>
  : D extends LookupListDef<infer K, infer V> ? LookupList<K, V>
  : D extends LookupSetDef<infer K, infer V> ? LookupSet<K, V>
  : D extends LookupMapDef<infer K1, infer K2, infer V> ? LookupMap<K1, K2, V>
  : never;

/** The handle type of table definition D inside a transaction (synchronous writes). */
export type TxTableOf<D> =
  D extends SingleDef<infer T> ? SingleTx<T>
  : D extends ListDef<infer T> ? ListTx<T>
  : D extends LookupTableDef<infer K, infer V> ? LookupTableTx<K, V>
  : D extends LookupListDef<infer K, infer V> ? LookupListTx<K, V>
  : D extends LookupSetDef<infer K, infer V> ? LookupSetTx<K, V>
  : D extends LookupMapDef<infer K1, infer K2, infer V> ? LookupMapTx<K1, K2, V>
  : never;

/** The read-only handle type of table definition D (db.view). */
export type ViewTableOf<D> =
  D extends SingleDef<infer T> ? SingleView<T>
  : D extends ListDef<infer T> ? ListView<T>
  : D extends LookupTableDef<infer K, infer V> ? LookupTableView<K, V>
  : D extends LookupListDef<infer K, infer V> ? LookupListView<K, V>
  : D extends LookupSetDef<infer K, infer V> ? LookupSetView<K, V>
  : D extends LookupMapDef<infer K1, infer K2, infer V> ? LookupMapView<K1, K2, V>
  : never;

/** db.tables: one auto-commit handle per table of S. */
export type Tables<S extends Schema> = { readonly [N in keyof S]: TableOf<S[N]> };
/** The argument of a transaction callback: one transactional handle per table of S. */
export type TxTables<S extends Schema> = { readonly [N in keyof S]: TxTableOf<S[N]> };
/** The argument of a view callback: one read-only handle per table of S. */
export type ViewTables<S extends Schema> = { readonly [N in keyof S]: ViewTableOf<S[N]> };

/**
 * The return type of a transaction callback: R itself, unless R is a
 * Promise (an async callback), which is a compile error reading this text.
 */
export type SyncResult<R> = R extends PromiseLike<unknown>
  ? 'dbrs: transaction and view callbacks must be synchronous (no async, no await)'
  : R;

/** Database statistics (db.stats()). */
export interface Stats {
  /** Log records in the live segments: what a reopen replays. */
  records: number;
  /** Bytes of the live segments. */
  logBytes: number;
  /** Estimated bytes of a fully compacted log of the current state. */
  liveBytes: number;
  /** Compactions since open (automatic and explicit). */
  compactions: number;
  /** Commits made durable since open. */
  commits: number;
  /** Append-to-durable time of the most recent durable commit, in ms. */
  lastCommitMs: number;
  /**
   * This tab's part (README "Tabs"): 'leader' writes the database, a
   * 'follower' applies the leader's commits and forwards its writes to it,
   * 'exclusive' was opened with { exclusive: true } (or where Web Locks or
   * BroadcastChannel are missing).
   */
  role: TabRole;
  /**
   * Follower: milliseconds from the leader's commit becoming durable to
   * this tab applying it, for the most recent commit applied (0 on a
   * leader).
   */
  lagMs: number;
  /** Follower: commits the leader has shipped that this tab has not applied yet (0 on a leader). */
  behindCommits: number;
  /** Further fields the engine reports (numbers). */
  readonly [extra: string]: number | string;
}

/** A tab's part in a database open in several tabs. */
export type TabRole = 'leader' | 'follower' | 'exclusive';

/** One log segment, as exportLog returns and importLog accepts. */
export interface Segment {
  id: number;
  data: Uint8Array;
}

/**
 * Where to load the engine from. The defaults suit bundlers and plain ESM
 * alike: see README "Bundlers". Only the first load in a page (or worker)
 * uses them; later calls share the engine already loaded.
 */
export interface LoadOptions {
  /**
   * URL of dbrs.wasm. Default: new URL('./dbrs.wasm', import.meta.url),
   * i.e. next to this package's index.js, which Vite, webpack and Parcel
   * rewrite to the URL of the asset they emit. Ignored when `wasm` is given.
   */
  wasmURL?: string | URL;
  /**
   * dbrs.wasm itself, as a fetch Response (or a Promise of one): for
   * example `fetch(url, { integrity })`, or a Response from the Cache API.
   * It is read once; a Response that is not ok is refused.
   */
  wasm?: Response | PromiseLike<Response>;
  /**
   * URL of Go's wasm_exec.js (the one from the Go release that built
   * dbrs.wasm). Default: the copy in this package, imported as a module
   * (import('./wasm_exec.js')), so bundlers include it. Not loaded when
   * globalThis.Go already exists.
   */
  wasmExecURL?: string | URL;
}

/** Options of open(). */
export interface OpenOptions extends LoadOptions {
  /**
   * 'strict' (default): a write resolves after IndexedDB has flushed it to
   * disk. 'relaxed': after the browser has handed it to the OS; faster, but
   * the last commits may be lost on power loss (not on a tab crash).
   */
  durability?: 'strict' | 'relaxed';
  /**
   * Keep tables the log holds but the schema lacks, as opaque data, instead
   * of failing with 'UnknownTable'. Default false.
   */
  keepUnknownTables?: boolean;
  /**
   * Several tabs may have a database open (README "Tabs"): the first to
   * open it writes (the leader), the others follow it. With exclusive
   * true, one tab (or worker) at a time: open() takes the Web Lock
   * "dbrs:<name>" until close(), and rejects with 'Locked' when another
   * tab holds it (see lockTimeoutMs). Default false.
   */
  exclusive?: boolean;
  /**
   * With exclusive: 0 (the default) rejects at once with 'Locked' when
   * another tab holds the database; otherwise open() waits up to this many
   * milliseconds for that tab to close it. Without exclusive: how long a
   * new tab waits for the leader to answer before it rejects with 'Locked'
   * (default 10000).
   */
  lockTimeoutMs?: number;
  /**
   * Open even if the browser lost this database's IndexedDB store (see
   * 'Lost' in README "Lost databases"): start over with what IndexedDB has
   * (usually nothing). Default false: such an open rejects with 'Lost'.
   */
  acceptLoss?: boolean;
  /**
   * The schema version, a non-negative integer (default 0). Opening a
   * database stored at a newer version rejects with 'Version'; one stored
   * at an older version runs `upgrade` first. A new database is created at
   * this version without running `upgrade`. Among tabs (README "Tabs"),
   * a tab that opens at a newer version than the leading tab's asks every
   * tab at an older version to close (DB.onVersionChange), then leads and
   * upgrades; one that opens at an older version rejects with 'Version'.
   */
  version?: number;
  /**
   * Runs once, when the stored version is older than `version`, before
   * open() resolves: rename, drop and transform the stored tables into the
   * shape of the schema (see Upgrade). It is atomic: if it throws (or
   * rejects), open() rejects with its error and the database stays at its
   * old version; a tab that closes in the middle leaves the old version
   * too, and the next open runs it again.
   */
  upgrade?: (u: Upgrade) => void | Promise<void>;
}

/**
 * The stored database as OpenOptions.upgrade sees it: its tables under
 * their stored names, with their stored values. Each step applies at once
 * (a later step sees it) and throws DbrsError on a mistake ('UnknownTable',
 * 'Schema', 'BadValue'); nothing is written until the upgrade function
 * returns and the result fits the schema.
 */
export interface Upgrade {
  /** The stored version (0 for a database created without one). */
  readonly from: number;
  /** OpenOptions.version. */
  readonly to: number;
  /** The tables as the upgrade holds them now, in stored order. */
  tables(): { name: string; kind: string }[];
  /** Renames a table, keeping its contents. */
  rename(from: string, to: string): void;
  /** Removes a table and its contents. */
  drop(table: string): void;
  /**
   * Replaces every value of `table` by fn's result: fn(value) for a
   * single, fn(value, index) for a list, fn(value, key) for a lookup table,
   * each element of a lookup list, or each member of a lookup set (the
   * member is the value; members that become equal become one), and
   * fn(value, key, innerKey) for a lookup map. Keys and order are kept.
   * The values are checked against the checks of the schema table of the
   * same name (transform after renaming), and encoded as writes are.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transform(table: string, fn: (value: any, ...keys: any[]) => unknown): void;
}

/**
 * An open database. Reads are synchronous and come from memory; writes
 * apply to memory at once (a read right after sees them) and return a
 * Promise that resolves once the commit is durable.
 */
export interface DB<S extends Schema> {
  /** The name given to open(). */
  readonly name: string;
  /**
   * The tables, each with its own key and value types. Each write here is
   * one auto-committed transaction. Inside a transaction or view callback
   * use the callback's argument instead.
   */
  readonly tables: Tables<S>;
  /**
   * Runs fn as one atomic transaction and resolves to its return value once
   * the commit is durable.
   *
   * **fn must be synchronous**: no async, no await, no returning a Promise
   * (that rolls back and rejects with a TypeError). Reads inside fn see
   * fn's own writes. If fn throws, every write it made is undone and the
   * Promise rejects with what it threw. Writes on tx tables return nothing
   * (pop returns the value) and throw DbrsError on failure; a failed write
   * changes nothing, so fn may catch it and go on.
   *
   * fn normally runs before transaction() returns. If the engine is busy
   * (a compaction switching segments) it runs as soon as it is free, after
   * any writes issued before it: writes always apply in call order.
   */
  transaction<R>(fn: (tx: TxTables<S>) => SyncResult<R>): Promise<R>;
  /**
   * Runs fn with read-only tables and returns its result. All reads inside
   * fn see one consistent state. Writes on the view's tables do not compile
   * (and throw 'ReadOnly'); writes on db while fn runs reject with
   * 'ReadOnly'.
   */
  view<R>(fn: (view: ViewTables<S>) => SyncResult<R>): R;
  /**
   * Calls listener once for every commit of this database, in commit
   * order, after the commit is durable, with the names of the tables it
   * wrote. A rolled-back or failed commit calls nothing. Returns the
   * function that unsubscribes.
   */
  subscribe(listener: (change: Change<S>) => void): () => void;
  /**
   * Runs query inside view, calls listener with its result at once, and
   * again (running query again) after every durable commit that wrote a
   * table query read. Returns the function that stops it.
   */
  liveQuery<R>(query: (view: ViewTables<S>) => SyncResult<R>, listener: (result: R) => void): () => void;
  /**
   * Calls listener when another tab opens this database at a newer schema
   * version (OpenOptions.version; a tab opened without one gives way to
   * any). Right after the listeners, this database closes, so that the
   * other tab can upgrade it: its writes already made still commit, later
   * calls fail with 'Closed'. A page usually reloads here, to run the
   * newer code. Returns the function that unsubscribes.
   */
  onVersionChange(listener: (version: number) => void): () => void;
  /** Compacts the log now. Resolves when the compacted log is durable. */
  compact(): Promise<void>;
  /** Current statistics. Synchronous. */
  stats(): Stats;
  /** A copy of the log's segments (for tests and backups). */
  exportLog(): Promise<Segment[]>;
  /**
   * Waits for pending writes, then closes. Every later call fails with
   * 'Closed' (reads throw, writes reject).
   */
  close(): Promise<void>;
}

/** One durable commit, as DB.subscribe reports it. */
export interface Change<S extends Schema = Schema> {
  /** The tables the commit wrote, in schema order. */
  tables: (keyof S & string)[];
}

export type { ErrorCode };
