// Tabs: one database open in several tabs, each live.
//
// The first tab to open a database takes its Web Lock "dbrs:<name>" and
// writes it: the leader. The others open it read-only and follow: the
// followers. They talk over a BroadcastChannel named "dbrs:<name>" (every
// same-origin tab, iframe and worker that opens the database joins it):
//
//   hello   {t, from, version}              a tab that opens asks who leads
//   leader  {t, from, segment, offset, version}
//                                           the leader answers (and says so
//                                           when it takes over); its position
//   versionchange {t, from, version}        a tab that opens at a newer
//                                           schema version asks the tabs at
//                                           an older one to close
//   commit  {t, from, segment, offset, end, record, tables, at}
//                                           one durable commit: its framed
//                                           records and where they lie in
//                                           the log; `at` is when it became
//                                           durable (ms since the epoch)
//   req     {t, from, id, ack, ops, tx, base, reads}
//                                           a follower's write: ops
//                                           [{table, op, args}], run by the
//                                           leader as one transaction; ack:
//                                           every id of the sender below it
//                                           has had its answer
//   res     {t, from, to, id, ok, results | code+message, pos}
//                                           its outcome, sent after the
//                                           commit's own `commit` message
//   bye     {t, from}                       a follower that wrote closes:
//                                           the leader drops its record
//                                           in "__dbrs.requests"
//
// version is the tab's OpenOptions.version, or null when it gave none (an
// older shim sends none: read as null). Every message also has v: 1. A
// message of another shape is counted
// (stats().badMessages), reported on the console and dropped.
//
// Invariants:
//   - A follower applies commits in log order, each once: the bridge
//     refuses a commit at or before its position ('Duplicate', ignored) and
//     one past it ('Gap': it catches up from IndexedDB first). Messages are
//     handled one at a time, in arrival order, so a `res` is handled after
//     the `commit` before it; and a `res` waits until the follower has
//     reached its `pos`. So a follower's write resolves after the follower
//     reads it (read-your-writes).
//   - Subscriptions fire on a follower once per commit applied, in log
//     order; after a reopen (a compaction moved the log) once, naming every
//     table.
//   - A request is applied at most once, and answered with its own
//     results. Requests carry (from, id, ack), ids growing per tab. The
//     leader records, in the same transaction as the request's ops, its
//     id and results under `from` in the hidden table "__dbrs.requests"
//     (core keeps tables named "__dbrs.*" whatever the schema), as an
//     AppliedRequests window: the results of every applied request at or
//     above the highest ack seen, and that ack as the window's floor. A
//     tab re-sends its unanswered requests (all at or above its ack) to
//     each new leader, which answers one found in the window from the
//     stored results instead of running it again, and drops one below the
//     floor (its sender has had that answer).
//   - A follower's transaction callback runs against a scratch transaction
//     on the follower's own state: its reads see the follower's state (as
//     of the commits applied so far) plus its own writes. Its ops are
//     recorded and rolled back, then the leader runs them, in one
//     transaction, only if no commit after the follower's position wrote a
//     table the callback read; otherwise the follower catches up and runs
//     the callback again (at most MAX_TX_RUNS times, then 'Conflict').
//     So a follower's transaction is serializable, and its callback may run
//     more than once.
//   - When the leader closes or dies, its Web Lock is released and one
//     waiting follower gets it: it reads what it missed from IndexedDB,
//     reopens for writing, says `leader`, and runs its own unanswered
//     requests; the others re-send theirs to it, and say `hello`.
//   - A leader broadcasts commits only once it has heard another tab on
//     the channel (or was a follower itself), because a tab can follow
//     only after it said `hello`: a fresh leader's channel is open before
//     it asks for the Web Lock, so it hears the `hello` of every tab that
//     comes after it (a tab that came before it would hold the lock
//     first), and a follower says `hello` to every new leader. A commit
//     that a leader does not broadcast is durable before any tab hears
//     `leader`, so a tab that then opens reads it from IndexedDB; one that
//     missed it anyway sees the gap at the next commit or `leader`.
//   - Tabs that follow one leader run one schema version. A tab that opens
//     at a newer version than the leader's does not follow: it says
//     `versionchange` (again each time a leader at an older version
//     speaks) and waits for the Web Lock, to lead and upgrade. Every tab
//     at an older version, or at none, that hears it stops waiting for the
//     lock at once (so none of them can take over), tells its
//     onVersionChange listeners, and closes. A tab that opens at an older
//     version than the leader's is refused with 'Version'.

import type { Bridge, BridgeError, CatchUpResult } from './bridge.js';
import { decode, encode } from './codec.js';
import { DbrsError, toDbrsError } from './errors.js';

/** The hidden table of applied requests: from → [id, results]. */
export const REQUESTS_TABLE = '__dbrs.requests';

/** How often a follower's transaction may be re-run after conflicts. */
export const MAX_TX_RUNS = 20;

/** A log position: [segment, offset]. */
export type Pos = [number, number];

/** pos a is before pos b. */
export function before(a: Pos, b: Pos): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

export interface Op {
  table: string;
  op: string;
  args: Uint8Array;
}

export type Msg =
  | { v: 1; t: 'hello'; from: string; version: number | null }
  | { v: 1; t: 'leader'; from: string; segment: number; offset: number; version: number | null }
  | { v: 1; t: 'versionchange'; from: string; version: number }
  | { v: 1; t: 'bye'; from: string }
  | { v: 1; t: 'commit'; from: string; segment: number; offset: number; end: number; record: Uint8Array; tables: string[]; at: number }
  | { v: 1; t: 'req'; from: string; id: number; ack: number; ops: Op[]; tx: boolean; base: Pos | null; reads: string[] }
  | { v: 1; t: 'res'; from: string; to: string; id: number; ok: boolean; results?: Uint8Array; code?: string; message?: string; pos: Pos };

const isNat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isStr = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length < 256;
const isStrs = (x: unknown): x is string[] => Array.isArray(x) && x.length < 1 << 16 && x.every((s) => typeof s === 'string');
const isPos = (x: unknown): x is Pos => Array.isArray(x) && x.length === 2 && isNat(x[0]) && isNat(x[1]);

/**
 * Returns m as a Msg if it has one of the shapes above, else a string that
 * says what is wrong with it. It never throws (a hostile message may be
 * anything structured clone can carry).
 */
export function parseMessage(m: unknown): Msg | string {
  try {
    if (typeof m !== 'object' || m === null) return 'not an object';
    const o = m as Record<string, unknown>;
    if (o.v !== 1) return `version ${String(o.v)}`;
    if (!isStr(o.from)) return 'no sender';
    const version = o.version ?? null;
    if (version !== null && !isNat(version)) return 'bad version';
    switch (o.t) {
      case 'hello':
        return { v: 1, t: 'hello', from: o.from, version };
      case 'leader':
        if (!isNat(o.segment) || !isNat(o.offset)) return 'leader: bad position';
        return { v: 1, t: 'leader', from: o.from, segment: o.segment, offset: o.offset, version };
      case 'versionchange':
        if (version === null) return 'versionchange: no version';
        return { v: 1, t: 'versionchange', from: o.from, version };
      case 'bye':
        return { v: 1, t: 'bye', from: o.from };
      case 'commit':
        if (!isNat(o.segment) || !isNat(o.offset) || !isNat(o.end) || o.end <= o.offset) return 'commit: bad position';
        if (!(o.record instanceof Uint8Array) || o.record.length !== o.end - o.offset) return 'commit: record does not span its position';
        if (!isStrs(o.tables) || typeof o.at !== 'number') return 'commit: bad tables or time';
        return { v: 1, t: 'commit', from: o.from, segment: o.segment, offset: o.offset, end: o.end, record: o.record, tables: o.tables, at: o.at };
      case 'req': {
        if (!isNat(o.id) || o.id === 0 || typeof o.tx !== 'boolean' || !isStrs(o.reads)) return 'req: bad id, tx or reads';
        // A sender without ack (an older shim) is answered for its latest request only.
        const ack = o.ack === undefined ? o.id : o.ack;
        if (!isNat(ack) || ack > o.id) return 'req: bad ack';
        if (o.base !== null && !isPos(o.base)) return 'req: bad base';
        if (!Array.isArray(o.ops) || o.ops.length === 0) return 'req: no ops';
        const ops: Op[] = [];
        for (const x of o.ops as unknown[]) {
          const op = x as Partial<Op> | null;
          if (typeof op !== 'object' || op === null || !isStr(op.table) || !isStr(op.op) || !(op.args instanceof Uint8Array)) return 'req: bad op';
          ops.push({ table: op.table, op: op.op, args: op.args });
        }
        return { v: 1, t: 'req', from: o.from, id: o.id, ack, ops, tx: o.tx, base: o.base as Pos | null, reads: o.reads };
      }
      case 'res': {
        if (!isStr(o.to) || !isNat(o.id) || typeof o.ok !== 'boolean' || !isPos(o.pos)) return 'res: bad fields';
        if (o.ok && !(o.results instanceof Uint8Array)) return 'res: no results';
        if (!o.ok && (typeof o.code !== 'string' || typeof o.message !== 'string')) return 'res: no error';
        const r: Msg = { v: 1, t: 'res', from: o.from, to: o.to, id: o.id, ok: o.ok, pos: o.pos };
        if (o.results instanceof Uint8Array) r.results = o.results;
        if (typeof o.code === 'string') r.code = o.code;
        if (typeof o.message === 'string') r.message = o.message;
        return r;
      }
    }
    return `unknown type ${String(o.t)}`;
  } catch (e) {
    return `unreadable: ${String(e)}`;
  }
}

/**
 * The requests of one tab that a leader applied, as stored under the tab's
 * id in REQUESTS_TABLE: msgpack [floor, [id, results, id, results, ...]].
 * Invariant: every request of the tab below floor has been answered to it
 * (floor is the highest ack seen), and every applied request at or above
 * floor is in done, with its results. (An older shim stored [id, results]:
 * read as floor id and that one request.)
 */
export class AppliedRequests {
  constructor(
    readonly floor: number,
    readonly done: ReadonlyMap<number, Uint8Array>,
  ) {}

  static readonly none = new AppliedRequests(0, new Map());

  /** Reads a stored window; a value of another shape reads as none (and says so). */
  static decode(stored: Uint8Array | null): AppliedRequests {
    if (stored === null) return AppliedRequests.none;
    let v: unknown;
    try {
      v = decode(stored);
    } catch {
      v = undefined;
    }
    if (Array.isArray(v) && v.length === 2 && isNat(v[0])) {
      if (v[1] instanceof Uint8Array) return new AppliedRequests(v[0], new Map([[v[0], v[1]]]));
      const flat = v[1] as unknown;
      if (Array.isArray(flat) && flat.length % 2 === 0) {
        const done = new Map<number, Uint8Array>();
        for (let i = 0; i < flat.length; i += 2) {
          const id = flat[i] as unknown, r = flat[i + 1] as unknown;
          if (!isNat(id) || !(r instanceof Uint8Array)) return AppliedRequests.malformed();
          done.set(id, r);
        }
        return new AppliedRequests(v[0], done);
      }
    }
    return AppliedRequests.malformed();
  }

  private static malformed(): AppliedRequests {
    console.warn(`dbrs: an entry of ${REQUESTS_TABLE} is malformed; the requests it recorded may be applied again`);
    return AppliedRequests.none;
  }

  /** Request id's stored results; 'gone' when its sender had its answer; 'run' when it was not applied. */
  find(id: number): Uint8Array | 'gone' | 'run' {
    const r = this.done.get(id);
    if (r) return r;
    return id < this.floor ? 'gone' : 'run';
  }

  /** The window after applying request id, with results, from a sender whose ack is ack. */
  with(id: number, results: Uint8Array, ack: number): AppliedRequests {
    const floor = Math.max(this.floor, ack);
    const done = new Map<number, Uint8Array>();
    for (const [k, r] of this.done) if (k >= floor) done.set(k, r);
    done.set(id, results);
    return new AppliedRequests(floor, done);
  }

  /** The stored form, for encode(). */
  value(): [number, (number | Uint8Array)[]] {
    const flat: (number | Uint8Array)[] = [];
    for (const [k, r] of this.done) flat.push(k, r);
    return [this.floor, flat];
  }
}

/** What the database gives its tab coordinator. */
export interface TabHost {
  readonly name: string;
  readonly b: Bridge;
  readonly h: number;
  /** The schema's table names. */
  tableNames(): string[];
  /** Tells the listeners of a commit applied here that wrote tables. */
  notify(tables: string[]): void;
  /**
   * Leader: runs a forwarded request's ops, and records its id and
   * results in the AppliedRequests of `from` in REQUESTS_TABLE (pruned to
   * ack), as one transaction through the write queue; resolves, once durable and shipped, to the msgpack array of the
   * ops' results and the position after the commit. When base is given,
   * it first rejects with 'Conflict' if a commit appended after base (or
   * before this tab led, which it cannot tell) wrote a table in reads.
   */
  runOps(m: Extract<Msg, { t: 'req' }>): Promise<{ results: Uint8Array; pos: Pos }>;
  /** Leader: forgets the commits appended so far (they predate its lead, for runOps' check). */
  startLeading(): void;
  /** A tab opened the database at a newer schema version: tell the listeners, then close. */
  versionChange(version: number): void;
  /** Leader: drops the AppliedRequests of tab `from`, which closed. */
  forget(from: string): void;
}

/**
 * Says whether a tab at version `mine` must give way to one at `theirs`:
 * theirs is newer, or mine is none.
 */
export function olderThan(mine: number | null, theirs: number): boolean {
  return mine === null || mine < theirs;
}

interface Pending {
  msg: Extract<Msg, { t: 'req' }>;
  resolve(results: Uint8Array): void;
  reject(e: unknown): void;
  /** Settles when it is answered. */
  done: Promise<unknown>;
}

function ok<T>(r: T | BridgeError): T {
  if (r instanceof Error) throw toDbrsError(r);
  return r;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, cb: (lock: unknown) => Promise<void>): Promise<unknown>;
}

/** A request for the database's Web Lock, granted or waiting. */
interface LockRequest {
  /** Resolves when the lock is granted. */
  granted: Promise<void>;
  /** Lets the lock go once granted. */
  release(): void;
  /** Stops waiting for it. */
  abort: AbortController;
}

/** Asks for the Web Lock "dbrs:<name>", waiting as long as another tab holds it. */
function requestLock(locks: LockManagerLike, name: string): LockRequest {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const abort = new AbortController();
  let granted!: () => void;
  const grantedP = new Promise<void>((r) => (granted = r));
  locks.request(`dbrs:${name}`, { signal: abort.signal }, () => {
    granted();
    return held;
  }).catch((e: unknown) => {
    if ((e as { name?: unknown })?.name !== 'AbortError') console.error(`dbrs: the Web Lock of database "${name}" failed`, e);
  });
  return { granted: grantedP, release, abort };
}

/** Says whether tabs can share a database here: Web Locks, BroadcastChannel and a bridge that follows. */
export function tabsSupported(b: Bridge): boolean {
  const g = globalThis as { navigator?: { locks?: unknown }; BroadcastChannel?: unknown };
  return !!g.navigator?.locks && typeof g.BroadcastChannel === 'function' && typeof b.tap === 'function';
}

/**
 * The tab's place among the tabs that have the database open. join() makes
 * one: it decides whether this tab leads or follows, before the database
 * is opened; start() begins the work once it is.
 */
export class Tabs {
  readonly id: string;
  role: 'leader' | 'follower' | 'promoting' | 'closed';
  private host: TabHost | undefined;
  private readonly ch: BroadcastChannel;
  private readonly inbox: Msg[] = [];
  private handling = false;
  private leaderId: string | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly locks: LockManagerLike;
  private readonly dbName: string;
  private lock: LockRequest;
  /** The Web Lock came to this follower: promote it when the inbox allows. */
  private wantPromote = false;
  /** Forwarded requests being run by this leader, as from + ' ' + id: a copy that arrives meanwhile is dropped. */
  private readonly running = new Set<string>();
  /** Follower stats. */
  lagMs = 0;
  badMessages = 0;
  private closed = false;
  private leaving = false;
  /** OpenOptions.version, or null. */
  readonly version: number | null;
  /** A tab at a newer version asked this one to close. */
  private givingWay = false;
  /** Another tab has been heard on the channel (see "Invariants": a leader broadcasts commits only then). */
  private othersHeard: boolean;
  /** startTap has run: commits are kept for ship(). */
  private tapped = false;

  private constructor(id: string, name: string, version: number | null, locks: LockManagerLike, ch: BroadcastChannel, role: 'leader' | 'follower', lock: LockRequest, inbox: Msg[], bad: number, heard: boolean) {
    this.id = id;
    this.version = version;
    this.dbName = name;
    this.locks = locks;
    this.ch = ch;
    this.role = role;
    this.lock = lock;
    this.inbox = inbox;
    this.badMessages = bad;
    this.othersHeard = heard || role === 'follower';
  }

  /**
   * Joins the tabs of database `name` at schema version `version` (null:
   * none): resolves to a leader once this tab holds the Web Lock, or to a
   * follower once a leader at the same version (or at none) has said
   * `leader`. A leader at an older version is asked to close
   * (`versionchange`) and this tab waits for the lock. Rejects with
   * 'Version' when the leader is at a newer version, and with 'Locked'
   * when nothing decides within waitMs.
   */
  static async join(name: string, waitMs: number, version: number | null = null): Promise<Tabs> {
    const locks = (globalThis as unknown as { navigator: { locks: LockManagerLike } }).navigator.locks;
    const ch = new BroadcastChannel(`dbrs:${name}`);
    const inbox: Msg[] = [];
    let bad = 0;
    let tabs: Tabs | undefined;
    let heard: ((v: 'follower' | 'newer') => void) | undefined;
    let leaderId: string | null = null;
    let leaderVersion: number | null = null;
    /** The version of the last leader asked to close, for the error if it does not. */
    let older: number | null = null;
    const self = randomId();
    let othersHeard = false;
    ch.onmessage = (e: MessageEvent) => {
      if (tabs) return tabs.receive(e.data);
      othersHeard = true; // a channel never hears its own messages
      const m = parseMessage(e.data);
      if (typeof m === 'string') {
        bad++;
        return;
      }
      if (m.t === 'leader') {
        if (version !== null && m.version !== null && m.version < version) {
          older = m.version;
          ch.postMessage({ v: 1, t: 'versionchange', from: self, version });
          return;
        }
        leaderId = m.from;
        leaderVersion = m.version;
        heard?.(version !== null && m.version !== null && m.version > version ? 'newer' : 'follower');
      }
      inbox.push(m);
    };
    const lock = requestLock(locks, name);
    const grantedP = lock.granted;
    const heardP = new Promise<'follower' | 'newer'>((r) => (heard = r));
    const hello = () => ch.postMessage({ v: 1, t: 'hello', from: self, version });
    hello();
    const timer = setInterval(hello, 250);
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      grantedP.then(() => 'leader' as const),
      heardP,
      new Promise<'timeout'>((r) => (timeout = setTimeout(() => r('timeout'), waitMs))),
    ]);
    clearInterval(timer);
    clearTimeout(timeout);
    if (outcome === 'timeout' || outcome === 'newer') {
      lock.abort.abort();
      lock.release();
      ch.close();
      if (outcome === 'newer') {
        throw new DbrsError('Version', `dbrs: database "${name}" is open in another tab at schema version ${leaderVersion}, newer than this page's ${version}; reload this page to run the newer code`);
      }
      if (older !== null) {
        throw new DbrsError('Locked', `dbrs: database "${name}" is open in another tab at schema version ${older}, which did not close for this page's version ${version}`);
      }
      throw new DbrsError('Locked', `dbrs: database "${name}" is held by another tab or worker that does not answer (opened with { exclusive: true }?)`);
    }
    tabs = new Tabs(self, name, version, locks, ch, outcome, lock, inbox, bad, othersHeard);
    tabs.leaderId = outcome === 'leader' ? self : leaderId;
    return tabs;
  }

  /** Begins leading or following, once the database is open as host.h. */
  start(host: TabHost): void {
    this.host = host;
    if (this.role === 'leader') {
      host.startLeading();
      if (this.othersHeard) this.startTap();
      this.announce();
      this.inbox.length = 0; // requests sent before we led are sent again after `leader`
    } else {
      this.awaitLock();
      void this.handle();
    }
  }

  /** Promotes this follower when its lock request is granted. */
  private awaitLock(): void {
    const lock = this.lock;
    void lock.granted.then(() => {
      if (this.lock !== lock || this.closed) return;
      this.wantPromote = true;
      void this.handle();
    });
  }

  // ---------------------------------------------------------------- receiving

  private receive(data: unknown): void {
    if (this.closed) return;
    this.othersHeard = true;
    if (this.role === 'leader' && this.host && !this.tapped) this.startTap();
    const m = parseMessage(data);
    if (typeof m === 'string') {
      this.badMessages++;
      console.warn(`dbrs: dropped a malformed message on the channel of database "${this.host?.name}": ${m}`);
      return;
    }
    if (m.t === 'versionchange') {
      this.giveWay(m.version);
      return;
    }
    this.inbox.push(m);
    void this.handle();
  }

  /**
   * A tab opened the database at a newer version: unless this one is at
   * that version or newer, stop waiting for the lock now (no tab at an old
   * version may take over), and close.
   */
  private giveWay(version: number): void {
    if (this.givingWay || this.closed || !olderThan(this.version, version)) return;
    this.givingWay = true;
    this.wantPromote = false;
    if (this.role !== 'leader') this.lock.abort.abort();
    this.host?.versionChange(version);
  }

  /** Handles the inbox, one message at a time, in arrival order. */
  private async handle(): Promise<void> {
    if (this.handling || !this.host) return;
    this.handling = true;
    try {
      while ((this.inbox.length > 0 || this.wantPromote) && !this.closed) {
        if (this.wantPromote) {
          this.wantPromote = false;
          await this.promote();
          continue;
        }
        const m = this.inbox.shift()!;
        try {
          if (this.role === 'leader') await this.lead(m);
          else if (this.role === 'follower') await this.follow(m);
          // promoting: everything the old leader said is in IndexedDB, and
          // requests will be sent again after our `leader`.
        } catch (e) {
          console.error('dbrs: handling a message from another tab failed', e);
        }
      }
    } finally {
      this.handling = false;
    }
  }

  private position(): Pos {
    return ok(this.host!.b.position!(this.host!.h));
  }

  // ---------------------------------------------------------------- follower

  private async follow(m: Msg): Promise<void> {
    const host = this.host!;
    switch (m.t) {
      case 'commit': {
        const r = host.b.applyCommit!(host.h, m.segment, m.offset, m.record);
        if (!(r instanceof Error)) {
          this.lagMs = Math.max(0, now() - m.at);
          host.notify(r);
          return;
        }
        if (r.code === 'Duplicate') return;
        if (r.code !== 'Gap') {
          this.badMessages++;
          console.warn(`dbrs: a commit from the leader of "${host.name}" was refused (${r.code}: ${r.message}); reading IndexedDB instead`);
        }
        await this.catchUp();
        return;
      }
      case 'leader': {
        const changed = this.leaderId !== m.from;
        this.leaderId = m.from;
        if (before(this.position(), [m.segment, m.offset])) await this.catchUp();
        if (changed) {
          // A new leader broadcasts commits only once it has heard a tab.
          this.ch.postMessage({ v: 1, t: 'hello', from: this.id });
          for (const p of this.pending.values()) this.ch.postMessage(p.msg);
        }
        return;
      }
      case 'res': {
        if (m.to !== this.id) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        if (before(this.position(), m.pos)) await this.catchUp();
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.results!);
        else p.reject(new DbrsError(toCode(m.code!), m.message!));
        return;
      }
    }
  }

  /** Reads what this follower missed from IndexedDB and tells the listeners. */
  private async catchUp(): Promise<void> {
    const host = this.host!;
    let r: CatchUpResult;
    try {
      r = await host.b.catchUp!(host.h);
    } catch (e) {
      if ((e as { code?: unknown })?.code === 'Busy') return; // one is running
      throw e;
    }
    this.report(r);
  }

  private report(r: CatchUpResult): void {
    const host = this.host!;
    if (r.reopened) host.notify(host.tableNames());
    else for (const t of r.changes) host.notify(t);
  }

  /**
   * Sends a write to the leader. Resolves to the msgpack array of the ops'
   * results once the commit is durable and applied here.
   */
  forward(ops: Op[], tx: boolean, reads: string[]): Promise<Uint8Array> {
    let p!: Pending;
    const done = new Promise<Uint8Array>((resolve, reject) => {
      const base = tx && reads.length > 0 ? this.position() : null;
      const id = this.nextId++;
      // pending is in id order: its first is the oldest unanswered.
      const ack = this.pending.size > 0 ? this.pending.keys().next().value! : id;
      const msg: Pending['msg'] = { v: 1, t: 'req', from: this.id, id, ack, ops, tx, base, reads };
      p = { msg, resolve, reject, done: Promise.resolve() };
    });
    p.done = done.then(() => {}, () => {});
    this.pending.set(p.msg.id, p);
    if (this.role === 'follower' && this.leaderId) this.ch.postMessage(p.msg);
    return done;
  }

  /** Forwarded requests not yet answered. */
  get unanswered(): number {
    return this.pending.size;
  }

  /** A closing leader stops serving requests (close() says it too). */
  leave(): void {
    this.leaving = true;
  }

  /** Commits received and not yet applied. */
  get behind(): number {
    return this.inbox.reduce((n, m) => n + (m.t === 'commit' ? 1 : 0), 0);
  }

  // ---------------------------------------------------------------- leader

  /**
   * Makes dbrs.wasm keep each durable commit's records for ship(). A
   * leader starts only once another tab has been heard: until then it
   * broadcasts nothing (see "Invariants"), and keeping the records would
   * copy every commit, and make ship() call into Go for each, for no one.
   * A commit made durable before is not shipped, as before the first
   * broadcast: it is in IndexedDB for any tab that opens after it.
   */
  private startTap(): void {
    ok(this.host!.b.tap!(this.host!.h));
    this.tapped = true;
  }

  /** Says that this tab leads, and where its log ends. */
  private announce(): void {
    const [segment, offset] = this.position();
    this.ch.postMessage({ v: 1, t: 'leader', from: this.id, segment, offset, version: this.version });
  }

  /**
   * Leader: broadcasts the commits that became durable since the last call
   * (only takes them while no other tab has been heard: see "Invariants").
   * The database calls it before it tells its own listeners of a commit.
   */
  ship(): void {
    if (this.role !== 'leader' || !this.host || this.closed || !this.tapped) return;
    const cs = this.host.b.shipped!(this.host.h);
    if (cs instanceof Error) return;
    const at = now();
    for (const c of cs) {
      this.ch.postMessage({ v: 1, t: 'commit', from: this.id, segment: c.segment, offset: c.offset, end: c.end, record: c.record, tables: c.tables, at });
    }
  }

  private async lead(m: Msg): Promise<void> {
    switch (m.t) {
      case 'hello':
        this.announce();
        return;
      case 'req':
        // A leader that is closing leaves requests unanswered: their
        // senders send them again to the next leader.
        if (!this.leaving) this.serve(m, (res) => this.ch.postMessage(res));
        return;
      case 'commit':
        if (m.from !== this.id) console.warn(`dbrs: another tab says it leads database "${this.host!.name}"; ignoring its commit`);
        return;
      case 'bye':
        if (!this.leaving) this.host!.forget(m.from);
        return;
    }
  }

  /**
   * Runs a forwarded request (at most once: see REQUESTS_TABLE) and hands
   * its `res` to reply.
   */
  private serve(m: Pending['msg'], reply: (res: Extract<Msg, { t: 'res' }>) => void): void {
    const host = this.host!;
    const res = (fields: { ok: boolean; results?: Uint8Array; code?: string; message?: string }, pos: Pos) =>
      reply({ v: 1, t: 'res', from: this.id, to: m.from, id: m.id, pos, ...fields });
    const key = `${m.from} ${m.id}`;
    if (this.running.has(key)) return; // a copy (sent again to a new leader): the first one answers
    const found = appliedRequests(host, m.from).find(m.id);
    if (found === 'gone') return; // a stale copy: its sender had the answer
    if (found !== 'run') {
      res({ ok: true, results: found }, this.position());
      return;
    }
    this.running.add(key);
    // Not awaited: requests queue in the database's FIFO write queue, and
    // their answers go out as each becomes durable.
    host.runOps(m).then(
      ({ results, pos }) => {
        this.running.delete(key);
        res({ ok: true, results }, pos);
      },
      (e: unknown) => {
        this.running.delete(key);
        const d = toDbrsError(e);
        res({ ok: false, code: d.code, message: d.message }, this.position());
      },
    );
  }

  // ---------------------------------------------------------------- failover

  /** The Web Lock came to this follower: the leader closed or died. */
  private async promote(): Promise<void> {
    if (this.closed || this.role !== 'follower') return;
    if (this.givingWay) {
      this.lock.release(); // granted before the abort: pass it on
      return;
    }
    const host = this.host!;
    this.role = 'promoting';
    let r: CatchUpResult;
    try {
      r = await host.b.promote!(host.h);
    } catch (e) {
      console.error(`dbrs: this tab could not take over database "${host.name}"; letting another tab try`, e);
      this.role = 'follower';
      this.lock.release();
      this.lock = requestLock(this.locks, this.dbName);
      this.awaitLock();
      return;
    }
    this.report(r);
    this.startTap(); // a follower has heard the leader it replaces
    this.role = 'leader';
    this.leaderId = this.id;
    host.startLeading();
    this.inbox.length = 0;
    this.announce();
    for (const p of [...this.pending.values()].sort((a, b) => a.msg.id - b.msg.id)) {
      this.pending.delete(p.msg.id);
      this.serve(p.msg, (res) => {
        if (res.ok) p.resolve(res.results!);
        else p.reject(new DbrsError(toCode(res.code!), res.message!));
      });
    }
  }

  // ---------------------------------------------------------------- closing

  /**
   * Waits up to waitMs for this tab's forwarded requests to be answered,
   * and rejects the rest with 'Closed' (the leader may still apply them).
   */
  async drain(waitMs: number): Promise<void> {
    this.leaving = true;
    if (this.pending.size > 0 && waitMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.pending.values()].map((p) => p.done)),
        new Promise((r) => (timer = setTimeout(r, waitMs))),
      ]);
      clearTimeout(timer);
    }
    for (const p of this.pending.values()) {
      p.reject(new DbrsError('Closed', `dbrs: database "${this.host?.name}" was closed before the leader answered; the write may or may not be applied`));
    }
    this.pending.clear();
  }

  /** Stops listening and lets the Web Lock go (or stops waiting for it). */
  close(): void {
    if (this.closed) return;
    // drain() has answered or rejected every request: none will be sent
    // again, so the leader may drop this tab's record of them.
    if (this.role === 'follower' && this.nextId > 1) this.ch.postMessage({ v: 1, t: 'bye', from: this.id });
    this.closed = true;
    this.role = 'closed';
    this.ch.close();
    this.lock.abort.abort();
    this.lock.release();
  }
}

/** The AppliedRequests of tab `from`, as host reads them now (inside a transaction: with its writes). */
export function appliedRequests(host: Pick<TabHost, 'b' | 'h'>, from: string): AppliedRequests {
  const r = host.b.read(host.h, REQUESTS_TABLE, 'get', encode([from]));
  return AppliedRequests.decode(r instanceof Uint8Array ? r : null);
}

function toCode(code: string): DbrsError['code'] {
  return toDbrsError(Object.assign(new Error('x'), { code })).code;
}
