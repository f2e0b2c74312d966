// open(), the DB implementation, and the write queue.
//
// Write ordering: every write (auto-commit or transaction) is tried at once.
// The bridge answers 'Busy' only when Go itself holds the write lock (a
// compaction switching segments); then the write, and every write issued
// after it, waits in a FIFO queue until bridge.writable() resolves. So
// writes always apply in call order, and in the common case they apply to
// memory before the call returns.

import type { Bridge, BridgeResult, BridgeTable } from './bridge.js';
import { decode, encode } from './codec.js';
import { DbrsError, toDbrsError } from './errors.js';
import { loadBridge } from './load.js';
import { acquireTabLock, type Release } from './tablock.js';
import { appliedRequests, before, MAX_TX_RUNS, REQUESTS_TABLE, Tabs, tabsSupported, type Msg, type Pos, type TabHost } from './follower.js';
import { makeTables, TABLE_KINDS, type Host, type Scope, type TableSpec } from './tables.js';
import type { TableChecks } from './checks.js';
import { clearMarker, readMarker, writeMarker } from './marker.js';
import { upgrader } from './migrate.js';
import type { Change, DB, LoadOptions, OpenOptions, Schema, Segment, Stats, SyncResult, Tables, TxTables, ViewTables } from './types.js';

interface Job {
  /** Tries to run; false means 'Busy' (nothing happened, try again later). */
  run(): boolean;
  fail(e: DbrsError): void;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  try {
    return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
  } catch {
    return true; // a 'then' getter that throws (a revoked Proxy): treat it as a Promise, never commit it
  }
}

/** Runs f, reporting a throw on the console instead of passing it on. */
function call(f: () => void): void {
  try {
    f();
  } catch (e) {
    console.error('dbrs: a change listener threw', e);
  }
}

function isBusy(r: unknown): boolean {
  return r instanceof Error && (r as { code?: unknown }).code === 'Busy';
}

/** Ops whose outcome depends on the state they find: a follower's transaction counts them as reads. */
const STATEFUL_OPS = new Set(['pop', 'insertAt', 'setAt', 'removeAt', 'remove', 'clearKey']);

/** The msgpack array of ops' raw results (bridge.ts: a raw value, or nil). */
function resultsArray(parts: (Uint8Array | null)[]): Uint8Array {
  const n = parts.length;
  const head = n < 16 ? [0x90 | n] : n < 1 << 16 ? [0xdc, n >> 8, n & 0xff] : [0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  let size = head.length;
  for (const p of parts) size += p ? p.length : 1;
  const out = new Uint8Array(size);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    if (p) {
      out.set(p, at);
      at += p.length;
    } else {
      out[at++] = 0xc0;
    }
  }
  return out;
}

class Database<S extends Schema> implements DB<S>, Host, TabHost {
  readonly name: string;
  readonly tables: Tables<S>;

  readonly b: Bridge;
  readonly h: number;
  /** The other tabs (follower.ts); null when opened exclusive. */
  private readonly tabs: Tabs | null;
  private readonly defs: TableSpec[];
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  /** Which callback is running: writes through db.tables are refused inside one. */
  private running: 'none' | 'tx' | 'view' = 'none';
  private readonly queue: Job[] = [];
  private draining = false;
  private drained: (() => void)[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  /** Listeners of every durable commit, and of the commits that write one table. */
  private readonly listeners = new Set<(change: Change<S>) => void>();
  private readonly tableListeners = new Map<string, Set<() => void>>();
  private readonly versionListeners = new Set<(version: number) => void>();
  /** The lost-database marker has been brought up to date this session. */
  private marked = false;

  private readonly releaseLock: Release;

  constructor(b: Bridge, h: number, name: string, defs: TableSpec[], releaseLock: Release, tabs: Tabs | null = null) {
    this.releaseLock = releaseLock;
    this.tabs = tabs;
    this.b = b;
    this.h = h;
    this.name = name;
    this.defs = defs;
    this.tables = makeTables(this, defs, 'auto', null) as Tables<S>;
  }

  // ------------------------------------------------------------ Host

  read(table: string, op: string, args: Uint8Array, scope: Scope | null): BridgeResult {
    if (this.state === 'closed') throw new DbrsError('Closed', `dbrs: database "${this.name}" is closed`);
    if (scope && !scope.active) throw new DbrsError('TxClosed', `dbrs: ${table}.${op} on a transaction or view that has ended`);
    let r: BridgeResult | Error;
    try {
      r = this.b.read(this.h, table, op, args);
    } catch (e) {
      throw toDbrsError(e);
    }
    if (r instanceof Error) throw toDbrsError(r);
    return r;
  }

  apply(table: string, op: string, args: Uint8Array, scope: Scope): BridgeResult {
    if (!scope.active) throw new DbrsError('TxClosed', `dbrs: ${table}.${op} on a transaction that has ended`);
    let r: BridgeResult | Error;
    try {
      r = this.b.apply(this.h, table, op, args);
    } catch (e) {
      throw toDbrsError(e);
    }
    if (r instanceof Error) throw toDbrsError(r);
    scope.ops?.push({ table, op, args: args.slice() });
    return r;
  }

  exec(table: string, op: string, args: Uint8Array): Promise<unknown> {
    if (this.following()) {
      return new Promise((resolve, reject) => {
        this.checkWritable(`${table}.${op}`);
        const p = this.tabs!.forward([{ table, op, args: args.slice() }], false, []).then((bytes) => (decode(bytes) as unknown[])[0]);
        this.track(p);
        p.then(resolve, (e: unknown) => reject(toDbrsError(e)));
      });
    }
    return new Promise((resolve, reject) => {
      this.checkWritable(`${table}.${op}`);
      this.submit({
        run: () => {
          let r: Promise<Uint8Array> | Error;
          try {
            r = this.b.exec(this.h, table, op, args);
          } catch (e) {
            reject(toDbrsError(e));
            return true;
          }
          if (isBusy(r)) return false;
          if (r instanceof Error) {
            reject(toDbrsError(r));
            return true;
          }
          this.noteAppended([table]);
          this.track(r.then(
            (bytes) => {
              this.notify([table]);
              try {
                resolve((decode(bytes) as unknown[])[0]);
              } catch (e) {
                reject(toDbrsError(e));
              }
            },
            (e: unknown) => reject(toDbrsError(e)),
          ));
          return true;
        },
        fail: reject,
      });
    });
  }

  // ------------------------------------------------------------ DB

  transaction<R>(fn: (tx: TxTables<S>) => SyncResult<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (typeof fn !== 'function') throw new TypeError('dbrs: transaction needs a callback');
      this.checkWritable('transaction');
      const f = fn as unknown as (tx: TxTables<S>) => R;
      if (this.following()) this.submit({ run: () => this.runFollowerTx(f, resolve, reject, 1), fail: reject });
      else this.submit({ run: () => this.runTx(f, resolve, reject), fail: reject });
    });
  }

  /** This tab follows another: its writes go to the leader (follower.ts). */
  private following(): boolean {
    return this.tabs !== null && this.tabs.role !== 'leader';
  }

  /**
   * A follower's transaction (follower.ts, "Invariants"): fn runs against a
   * scratch transaction on this tab's state, its ops are recorded and
   * rolled back, and the leader runs them if nothing fn read changed
   * meanwhile; else fn runs again, up to MAX_TX_RUNS times.
   */
  private runFollowerTx<R>(fn: (tx: TxTables<S>) => R, resolve: (r: R) => void, reject: (e: unknown) => void, runs: number): boolean {
    const scope: Scope = { active: true, written: new Set(), read: new Set(), ops: [] };
    const ran = this.runInTx(fn, scope, reject);
    if (ran === 'busy') return false;
    if (ran === 'settled') return true;
    this.rollback(); // the scratch transaction's ops go to the leader instead
    const { result } = ran;
    const ops = scope.ops!;
    if (ops.length === 0) {
      resolve(result);
      return true;
    }
    const reads = new Set(scope.read);
    for (const o of ops) if (STATEFUL_OPS.has(o.op)) reads.add(o.table);
    this.track(this.tabs!.forward(ops, true, [...reads]).then(() => resolve(result), (e: unknown) => {
      if (e instanceof DbrsError && e.code === 'Conflict' && runs < MAX_TX_RUNS && this.state === 'open') {
        // This tab may have become the leader meanwhile: then it runs fn
        // itself (forward would wait for a leader that is now this tab).
        this.submit({ run: () => (this.following() ? this.runFollowerTx(fn, resolve, reject, runs + 1) : this.runTx(fn, resolve, reject)), fail: reject });
      } else {
        reject(e);
      }
    }));
    return true;
  }

  // ------------------------------------------------------------ TabHost

  tableNames(): string[] {
    return this.defs.map((d) => d.name);
  }

  /**
   * Leader: the commits appended since it began to lead (durable or not),
   * newest last, each with the position after it and the tables it wrote;
   * and the position before the oldest kept. runOps checks a follower's
   * transaction against them.
   */
  private appended: { end: Pos; tables: string[] }[] = [];
  private appendedSince: Pos = [0, 0];

  startLeading(): void {
    const p = this.b.position!(this.h);
    this.appended = [];
    this.appendedSince = p instanceof Error ? [Number.MAX_SAFE_INTEGER, 0] : p;
  }

  /** Notes a commit just appended (leader among tabs). */
  private noteAppended(tables: string[]): void {
    if (!this.tabs || this.tabs.role !== 'leader') return;
    const p = this.b.position!(this.h);
    if (p instanceof Error) return;
    this.appended.push({ end: p, tables });
    if (this.appended.length > 4096) this.appendedSince = this.appended.splice(0, 1024).at(-1)!.end;
  }

  /** Whether a commit appended after base wrote a table in reads (true when base is older than what is kept). */
  private conflicts(base: Pos, reads: string[]): boolean {
    if (before(base, this.appendedSince)) return true;
    return this.appended.some((c) => before(base, c.end) && c.tables.some((t) => reads.includes(t)));
  }

  runOps(m: Extract<Msg, { t: 'req' }>): Promise<{ results: Uint8Array; pos: Pos }> {
    const { ops, from, id, ack, base, reads } = m;
    return new Promise((resolve, reject) => {
      this.checkWritable('a write from another tab');
      for (const o of ops) {
        if (!this.defs.some((d) => d.name === o.table)) throw new DbrsError('UnknownTable', `dbrs: another tab wrote table "${o.table}", which this tab's schema lacks`);
      }
      this.submit({
        run: () => {
          // Checked as the transaction begins: every commit before it is
          // appended by now, and none can come between.
          if (base && reads.length > 0 && this.conflicts(base, reads)) {
            reject(new DbrsError('Conflict', 'dbrs: the transaction read a table that another tab changed meanwhile'));
            return true;
          }
          let r: null | Error;
          try {
            r = this.b.begin(this.h);
          } catch (e) {
            reject(toDbrsError(e));
            return true;
          }
          if (isBusy(r)) return false;
          if (r instanceof Error) {
            reject(toDbrsError(r));
            return true;
          }
          const parts: (Uint8Array | null)[] = [];
          const written = new Set<string>();
          for (const o of ops) {
            const x = this.b.apply(this.h, o.table, o.op, o.args);
            if (x instanceof Error) {
              this.rollback();
              reject(toDbrsError(x));
              return true;
            }
            parts.push(x instanceof Uint8Array ? x.slice() : null);
            written.add(o.table);
          }
          const results = resultsArray(parts);
          const applied = appliedRequests(this, from).with(id, results, ack);
          const rec = this.b.apply(this.h, REQUESTS_TABLE, 'insert', encode([from, applied.value()]));
          if (rec instanceof Error) {
            this.rollback();
            reject(toDbrsError(rec));
            return true;
          }
          const c = this.commitOrReject(reject);
          if (!c) return true;
          const p = this.b.position!(this.h);
          const pos: Pos = p instanceof Error ? [0, 0] : p;
          this.noteAppended([...written]);
          this.track(c.then(() => {
            this.notify([...written]);
            resolve({ results, pos });
          }, (e: unknown) => reject(toDbrsError(e))));
          return true;
        },
        fail: reject,
      });
    });
  }

  /**
   * Begins a transaction and runs fn in it: the part a leader's and a
   * follower's transaction share. It returns 'busy' when the engine holds
   * its write lock (the job runs again later); 'settled' when it has
   * rejected: the begin failed, or fn threw or returned a Promise (then the
   * transaction is rolled back); or fn's result, with the transaction still
   * open for the caller to commit or roll back.
   */
  private runInTx<R>(fn: (tx: TxTables<S>) => R, scope: Scope, reject: (e: unknown) => void): { result: R } | 'busy' | 'settled' {
    let r: null | Error;
    try {
      r = this.b.begin(this.h);
    } catch (e) {
      reject(toDbrsError(e));
      return 'settled';
    }
    if (isBusy(r)) return 'busy';
    if (r instanceof Error) {
      reject(toDbrsError(r));
      return 'settled';
    }
    const tx = makeTables(this, this.defs, 'tx', scope) as TxTables<S>;
    this.running = 'tx';
    let result: R;
    try {
      result = fn(tx);
    } catch (e) {
      this.endTx(scope);
      this.rollback();
      reject(e);
      return 'settled';
    }
    this.endTx(scope);
    if (isThenable(result)) {
      this.rollback();
      Promise.resolve(result).then(undefined, () => {}); // its rejection is ours to report, not unhandled
      reject(new TypeError('dbrs: the transaction callback returned a Promise; it must be synchronous (no async, no await). The transaction was rolled back.'));
      return 'settled';
    }
    return { result };
  }

  /**
   * Commits the open transaction: the Promise of its durability, or null
   * when the commit failed at once and reject has been called.
   */
  private commitOrReject(reject: (e: unknown) => void): Promise<void> | null {
    let c: Promise<void> | Error;
    try {
      c = this.b.commit(this.h);
    } catch (e) {
      reject(toDbrsError(e));
      return null;
    }
    if (c instanceof Error) {
      reject(toDbrsError(c));
      return null;
    }
    return c;
  }

  private runTx<R>(fn: (tx: TxTables<S>) => R, resolve: (r: R) => void, reject: (e: unknown) => void): boolean {
    const scope: Scope = { active: true, written: new Set() };
    const ran = this.runInTx(fn, scope, reject);
    if (ran === 'busy') return false;
    if (ran === 'settled') return true;
    const { result } = ran;
    const c = this.commitOrReject(reject);
    if (!c) return true;
    const written = [...scope.written!];
    if (written.length > 0) this.noteAppended(written);
    this.track(c.then(() => {
      if (written.length > 0) this.notify(written);
      resolve(result);
    }, (e: unknown) => reject(toDbrsError(e))));
    return true;
  }

  // ------------------------------------------------------------ changes

  /**
   * Tells the listeners of a durable commit that wrote tables. It runs in
   * the handler that settles the commit, and commits settle in commit
   * order, so listeners hear of them in that order. A listener that throws
   * is reported on the console and does not stop the others.
   */
  notify(tables: string[]): void {
    this.tabs?.ship(); // the other tabs hear of a commit before this tab's own callers
    if (!this.marked) {
      this.marked = true;
      this.mark();
    }
    const order = this.defs.map((d) => d.name).filter((n) => tables.includes(n));
    if (order.length === 0) return; // a commit of hidden tables only
    const change = { tables: order } as Change<S>;
    for (const l of [...this.listeners]) call(() => l(change));
    for (const t of order) {
      for (const l of [...(this.tableListeners.get(t) ?? [])]) call(l);
    }
  }

  subscribe(listener: (change: Change<S>) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('dbrs: subscribe needs a listener function');
    const l = (c: Change<S>) => listener(c);
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  onVersionChange(listener: (version: number) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('dbrs: onVersionChange needs a listener function');
    const l = (v: number) => listener(v);
    this.versionListeners.add(l);
    return () => { this.versionListeners.delete(l); };
  }

  forget(from: string): void {
    if (this.b.read(this.h, REQUESTS_TABLE, 'has', encode([from])) !== true) return;
    this.exec(REQUESTS_TABLE, 'remove', encode([from])).catch((e: unknown) => {
      console.warn(`dbrs: dropping the request record of a closed tab of "${this.name}" failed`, e);
    });
  }

  versionChange(version: number): void {
    for (const l of [...this.versionListeners]) call(() => l(version));
    this.close().catch((e: unknown) => console.error(`dbrs: closing database "${this.name}" for version ${version} failed`, e));
  }

  subscribeTable(table: string, listener: () => void): () => void {
    let set = this.tableListeners.get(table);
    if (!set) this.tableListeners.set(table, (set = new Set()));
    const l = () => listener();
    set.add(l);
    return () => { set.delete(l); };
  }

  liveQuery<R>(query: (view: ViewTables<S>) => SyncResult<R>, listener: (result: R) => void): () => void {
    if (typeof query !== 'function' || typeof listener !== 'function') throw new TypeError('dbrs: liveQuery needs a query and a listener function');
    let read = new Set<string>();
    let stopped = false;
    const run = () => {
      if (stopped || this.state === 'closed') return;
      const seen = new Set<string>();
      const result = this.viewTracking(query, seen);
      read = seen;
      listener(result);
    };
    run();
    const unsubscribe = this.subscribe((c) => {
      if (c.tables.some((t) => read.has(t))) call(run);
    });
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  private endTx(scope: Scope): void {
    scope.active = false;
    this.running = 'none';
  }

  private rollback(): void {
    try {
      const e = this.b.rollback(this.h);
      if (e instanceof Error) console.error('dbrs: rollback failed; the database now refuses writes', e);
    } catch (e) {
      console.error('dbrs: rollback failed', e);
    }
  }

  view<R>(fn: (v: ViewTables<S>) => SyncResult<R>): R {
    return this.viewTracking(fn, undefined);
  }

  /** view, recording in read the tables fn reads. */
  private viewTracking<R>(fn: (v: ViewTables<S>) => SyncResult<R>, read: Set<string> | undefined): R {
    if (typeof fn !== 'function') throw new TypeError('dbrs: view needs a callback');
    if (this.state === 'closed') throw new DbrsError('Closed', `dbrs: database "${this.name}" is closed`);
    const scope: Scope = read ? { active: true, read } : { active: true };
    const v = makeTables(this, this.defs, 'view', scope) as ViewTables<S>;
    const outer = this.running;
    if (outer === 'none') this.running = 'view';
    let result: R;
    try {
      result = fn(v) as R;
    } finally {
      scope.active = false;
      this.running = outer;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(undefined, () => {});
      throw new TypeError('dbrs: the view callback returned a Promise; it must be synchronous (no async, no await)');
    }
    return result;
  }

  compact(): Promise<void> {
    return this.call('compact', () => this.b.compact(this.h)).then(() => this.mark());
  }

  /** Records the active segment, durable by now, as this database's newest (marker.ts). */
  private mark(): void {
    if (this.state !== 'open') return;
    try {
      const s = this.b.stats(this.h);
      if (typeof s !== 'string') return;
      const seg = (JSON.parse(s) as { activeSegment?: unknown }).activeSegment;
      if (typeof seg === 'number' && seg > 0 && seg > (readMarker(this.name) ?? 0)) writeMarker(this.name, seg);
    } catch {
      // Stats inside a transaction callback, or a closed handle: try again later.
      this.marked = false;
    }
  }

  exportLog(): Promise<Segment[]> {
    return this.call('exportLog', () => this.b.exportLog(this.h));
  }

  stats(): Stats {
    if (this.state === 'closed') throw new DbrsError('Closed', `dbrs: database "${this.name}" is closed`);
    let s: string | Error;
    try {
      s = this.b.stats(this.h);
    } catch (e) {
      throw toDbrsError(e);
    }
    if (s instanceof Error) throw toDbrsError(s);
    const o = JSON.parse(s) as Record<string, unknown>;
    for (const f of ['records', 'logBytes', 'liveBytes', 'compactions', 'commits', 'lastCommitMs']) {
      if (typeof o[f] !== 'number') o[f] = 0;
    }
    const t = this.tabs;
    o.role = !t ? 'exclusive' : t.role === 'leader' ? 'leader' : 'follower';
    o.lagMs = t && t.role !== 'leader' ? t.lagMs : 0;
    o.behindCommits = t && t.role !== 'leader' ? t.behind : 0;
    o.badMessages = t ? t.badMessages : 0;
    o.unansweredWrites = t ? t.unanswered : 0;
    return o as Stats;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.running !== 'none') {
      return Promise.reject(new DbrsError('Busy', 'dbrs: close() inside a transaction or view callback'));
    }
    this.state = 'closing';
    this.tabs?.leave();
    this.closing = (async () => {
      try {
        await this.queueEmpty();
        if (this.tabs) await this.tabs.drain(5000);
        await Promise.allSettled([...this.inflight]);
        await this.b.close(this.h);
      } catch (e) {
        throw toDbrsError(e);
      } finally {
        this.state = 'closed';
        this.releaseLock();
        this.tabs?.close(); // the lock goes only once the log is closed
      }
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  /** Throws (inside a Promise executor: rejects) unless a write may start now. */
  private checkWritable(what: string): void {
    if (this.state !== 'open') throw new DbrsError('Closed', `dbrs: ${what} on closed database "${this.name}"`);
    if (this.running === 'tx') {
      throw new DbrsError('Busy', `dbrs: ${what} through db inside a transaction callback; use the callback's tx argument`);
    }
    if (this.running === 'view') throw new DbrsError('ReadOnly', `dbrs: ${what} inside a view callback`);
  }

  private call<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') return Promise.reject(new DbrsError('Closed', `dbrs: ${what} on closed database "${this.name}"`));
    let p: Promise<T>;
    try {
      p = f();
    } catch (e) {
      return Promise.reject(toDbrsError(e));
    }
    const q = Promise.resolve(p).catch((e: unknown) => {
      throw toDbrsError(e);
    });
    this.track(q);
    return q;
  }

  private track(p: Promise<unknown>): void {
    const q: Promise<unknown> = p.then(() => this.inflight.delete(q), () => this.inflight.delete(q));
    this.inflight.add(q);
  }

  private submit(job: Job): void {
    if (this.queue.length === 0 && job.run()) return;
    this.queue.push(job);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        try {
          await this.b.writable(this.h);
        } catch (e) {
          const err = toDbrsError(e);
          for (const j of this.queue.splice(0)) j.fail(err);
          break;
        }
        while (this.queue.length > 0 && this.queue[0]!.run()) this.queue.shift();
      }
    } finally {
      this.draining = false;
      for (const f of this.drained.splice(0)) f();
    }
  }

  private queueEmpty(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }
}

/**
 * Opens (creating if needed) the database `name` with `schema`, loading
 * dbrs.wasm on first use. The schema's property names are the table names.
 *
 *     const db = await open('app', { users: lookupTable<string, User>() });
 *
 * Rejects with DbrsError: 'Schema' (bad schema, or a table kind that
 * differs from the stored one), 'UnknownTable' (the stored log has a table
 * the schema lacks), 'Version' (stored at a newer OpenOptions.version),
 * 'BadEntry' (also: an upgrade left a value that does not fit), 'Corrupt',
 * 'Locked' (already open in this page; or, with exclusive, open in another
 * tab or worker, and without it, held by an exclusive tab: see
 * OpenOptions), an IndexedDB code, or 'Internal' (dbrs.wasm could not be
 * loaded). Without exclusive, the first tab to open a database leads and
 * the others follow it (follower.ts); only the leader runs an upgrade.
 */
export async function open<S extends Schema>(name: string, schema: S, options: OpenOptions = {}): Promise<DB<S>> {
  if (typeof name !== 'string' || name === '') throw new TypeError('dbrs: open needs a database name');
  const durability = options.durability ?? 'strict';
  if (durability !== 'strict' && durability !== 'relaxed') {
    throw new TypeError(`dbrs: durability must be 'strict' or 'relaxed', not ${String(durability)}`);
  }
  const defs: TableSpec[] = [];
  for (const [t, def] of Object.entries(schema ?? {})) {
    const kind = (def as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string' || !TABLE_KINDS.has(kind)) {
      throw new DbrsError('Schema', `dbrs: table "${t}" is not a table definition; use single(), list(), lookupTable(), ...`);
    }
    const checks = (def as { checks?: TableChecks }).checks;
    defs.push(checks ? { name: t, kind: kind as BridgeTable['kind'], checks } : { name: t, kind: kind as BridgeTable['kind'] });
  }
  if (defs.length === 0) throw new DbrsError('Schema', 'dbrs: the schema has no tables');
  const { version, upgrade } = options;
  if (version !== undefined && !(Number.isSafeInteger(version) && version >= 0)) {
    throw new TypeError(`dbrs: version must be a non-negative integer, not ${String(version)}`);
  }
  if (upgrade !== undefined && (typeof upgrade !== 'function' || version === undefined)) {
    throw new TypeError('dbrs: upgrade must be a function, given with a version');
  }
  const b = await loadBridge(options);
  const tables = defs.map((d) => ({ name: d.name, kind: d.kind }));
  const keepUnknownTables = options.keepUnknownTables === true;
  const versioned = version !== undefined ? { version } : {};
  if (options.exclusive === true || !tabsSupported(b)) {
    const up = upgrade ? upgrader(b, upgrade, defs) : undefined;
    const release = await acquireTabLock(name, options.lockTimeoutMs ?? 0);
    let h: number;
    try {
      h = await b.open(name, tables, { durability, keepUnknownTables, ...versioned, ...(up ? { onUpgrade: up.onUpgrade } : {}) });
    } catch (e) {
      release();
      if (up?.failure) throw up.failure.error; // the upgrade function's own error
      throw toDbrsError(e);
    }
    await checkLost(b, h, name, options, release);
    return new Database<S>(b, h, name, defs, release);
  }
  // Tabs (follower.ts): lead, or follow the tab that does.
  const tabs = await Tabs.join(name, options.lockTimeoutMs || 10000, version ?? null);
  const follower = tabs.role === 'follower';
  const up = upgrade && !follower ? upgrader(b, upgrade, defs) : undefined;
  let h: number;
  try {
    h = await b.open(name, [...tables, { name: REQUESTS_TABLE, kind: 'lookup_table' }], {
      durability,
      keepUnknownTables,
      follower,
      ...versioned,
      ...(up ? { onUpgrade: up.onUpgrade } : {}),
    });
  } catch (e) {
    tabs.close();
    if (up?.failure) throw up.failure.error; // the upgrade function's own error
    throw toDbrsError(e);
  }
  if (!follower) await checkLost(b, h, name, options, () => tabs.close());
  const db = new Database<S>(b, h, name, defs, () => {}, tabs);
  tabs.start(db);
  return db;
}

/**
 * Rejects with 'Lost' (after closing handle h and calling release) when
 * IndexedDB lost what the marker says this origin saw of database name
 * (marker.ts), unless options.acceptLoss.
 */
async function checkLost(b: Bridge, h: number, name: string, options: OpenOptions, release: () => void): Promise<void> {
  const marker = readMarker(name);
  if (marker === undefined) return;
  const lost = lostSince(b, h, marker);
  if (lost && options.acceptLoss !== true) {
    try {
      await b.close(h);
      // An empty store that this open just made would hide the loss
      // from the next one: remove it. A store that is only behind keeps
      // what it has, for an export.
      if (lost === 'empty') await b.deleteDatabase(name);
    } catch {
      // The refusal below is what matters.
    } finally {
      release();
    }
    throw new DbrsError('Lost', `dbrs: IndexedDB has ${lost === 'empty' ? 'no data' : 'an older log'} for database "${name}", which this origin last saw at log segment ${marker}: the browser deleted or replaced its storage. Restore an export with importLog(), or open with { acceptLoss: true } to start over.`);
  }
  if (lost) clearMarker(name);
}

/**
 * Says whether the database just opened as handle h lost what the marker
 * recorded: 'empty' when the open found no log at all, 'behind' when its
 * active segment is older than the marker's, undefined when it is whole.
 */
function lostSince(b: Bridge, h: number, marker: number): 'empty' | 'behind' | undefined {
  const s = b.stats(h);
  if (typeof s !== 'string') return undefined;
  const st = JSON.parse(s) as { openSegments?: unknown; activeSegment?: unknown };
  if (st.openSegments === 0) return 'empty';
  if (typeof st.activeSegment === 'number' && st.activeSegment < marker) return 'behind';
  return undefined;
}

/**
 * Deletes the database `name` and its whole log. Rejects with 'Locked' if
 * it is open in this page.
 */
export async function deleteDatabase(name: string, options: LoadOptions = {}): Promise<void> {
  const b = await loadBridge(options);
  const release = await acquireTabLock(name);
  try {
    await b.deleteDatabase(name);
    clearMarker(name);
  } catch (e) {
    throw toDbrsError(e);
  } finally {
    release();
  }
}

/**
 * Replaces the stored log of database `name` with `segments` (for example
 * the segment files of a natively written dbrs folder, with their IDs).
 * The next open() validates and replays them. Rejects with 'Locked' if the
 * database is open in this page.
 */
export async function importLog(name: string, segments: Segment[], options: LoadOptions = {}): Promise<void> {
  const b = await loadBridge(options);
  const release = await acquireTabLock(name);
  try {
    await b.importLog(name, segments);
    // The imported log is durable now: a loss from here on is a loss,
    // even before the first commit records it (marker.ts).
    const newest = segments.reduce((m, seg) => Math.max(m, seg.id), 0);
    if (newest > 0) writeMarker(name, newest);
    else clearMarker(name);
  } catch (e) {
    throw toDbrsError(e);
  } finally {
    release();
  }
}
