// An in-memory fake of the shim's Bridge (protocol 2, see src/bridge.ts),
// for the shim's Node unit tests only. It follows the contract's observable
// behaviour: raw-byte keys compared bytewise, results in byte order,
// errors returned (not thrown) by synchronous methods, all-or-nothing exec,
// undo on rollback, and a per-name "disk" that survives close/reopen.
//
// It also has test knobs: holdLock()/releaseLock() make begin/exec answer
// 'Busy'; failNextCommit(code) makes the next commit's durability fail.
//
// It deliberately splits argument arrays into RAW elements (it never decodes
// and re-encodes a key), so a non-canonical encoding in the shim would show
// up as two different keys here, as it would in Go.

import { decode } from '@msgpack/msgpack';
import type {
  Bridge, BridgeError, BridgeErrorCode, BridgeOpenOptions, BridgeResult, BridgeSegment, BridgeTable, TableKind, UpgradeStep,
} from '../src/bridge.js';

export function bridgeError(code: BridgeErrorCode, msg: string, extra: Partial<BridgeError> = {}): BridgeError {
  const e = new Error('dbrs: ' + msg) as BridgeError;
  e.code = code;
  Object.assign(e, extra);
  return e;
}

class Fail {
  constructor(readonly err: BridgeError) {}
}
function fail(code: BridgeErrorCode, msg: string): never {
  throw new Fail(bridgeError(code, msg));
}

// ------------------------------------------------------------ raw msgpack

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
}

/** Returns the offset just past the msgpack value at p. */
export function skip(b: Uint8Array, p: number): number {
  if (p >= b.length) fail('BadValue', 'truncated msgpack');
  const t = b[p++]!;
  let n = 0;
  if (t <= 0x7f || t >= 0xe0) return p;
  if (t <= 0x8f) n = (t & 0x0f) * 2;
  else if (t <= 0x9f) n = t & 0x0f;
  else if (t <= 0xbf) return end(b, p + (t & 0x1f));
  else {
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: return p;
      case 0xc4: return end(b, p + 1 + b[p]!);
      case 0xc5: return end(b, p + 2 + u16(b, p));
      case 0xc6: return end(b, p + 4 + u32(b, p));
      case 0xc7: return end(b, p + 2 + b[p]!);
      case 0xc8: return end(b, p + 3 + u16(b, p));
      case 0xc9: return end(b, p + 5 + u32(b, p));
      case 0xca: return end(b, p + 4);
      case 0xcb: return end(b, p + 8);
      case 0xcc: case 0xd0: return end(b, p + 1);
      case 0xcd: case 0xd1: return end(b, p + 2);
      case 0xce: case 0xd2: return end(b, p + 4);
      case 0xcf: case 0xd3: return end(b, p + 8);
      case 0xd4: return end(b, p + 2);
      case 0xd5: return end(b, p + 3);
      case 0xd6: return end(b, p + 5);
      case 0xd7: return end(b, p + 9);
      case 0xd8: return end(b, p + 17);
      case 0xd9: return end(b, p + 1 + b[p]!);
      case 0xda: return end(b, p + 2 + u16(b, p));
      case 0xdb: return end(b, p + 4 + u32(b, p));
      case 0xdc: n = u16(b, p); p += 2; break;
      case 0xdd: n = u32(b, p); p += 4; break;
      case 0xde: n = u16(b, p) * 2; p += 2; break;
      case 0xdf: n = u32(b, p) * 2; p += 4; break;
      default: fail('BadValue', `bad msgpack type byte 0x${t.toString(16)}`);
    }
  }
  while (n-- > 0) p = skip(b, p);
  return p;
}
function end(b: Uint8Array, p: number): number {
  if (p > b.length) fail('BadValue', 'truncated msgpack');
  return p;
}

/** Splits one msgpack array into the raw bytes of its elements. */
export function splitArray(b: Uint8Array): Uint8Array[] {
  const t = b[0];
  let n: number, p: number;
  if (t !== undefined && t >= 0x90 && t <= 0x9f) { n = t & 0x0f; p = 1; }
  else if (t === 0xdc) { n = u16(b, 1); p = 3; }
  else if (t === 0xdd) { n = u32(b, 1); p = 5; }
  else fail('BadValue', 'arguments are not a msgpack array');
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const q = skip(b, p);
    out.push(b.slice(p, q));
    p = q;
  }
  if (p !== b.length) fail('BadValue', 'trailing bytes after the array');
  return out;
}

/** Builds a msgpack array from raw elements. */
export function joinArray(items: Uint8Array[]): Uint8Array {
  const n = items.length;
  const head = n < 16 ? [0x90 + n] : n < 0x10000 ? [0xdc, n >> 8, n & 0xff] : [0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const size = head.length + items.reduce((a, x) => a + x.length, 0);
  const out = new Uint8Array(size);
  out.set(head, 0);
  let p = head.length;
  for (const x of items) { out.set(x, p); p += x.length; }
  return out;
}

const NIL = Uint8Array.of(0xc0);
const hex = (b: Uint8Array): string => String.fromCharCode(...b); // latin1: sorts bytewise
const byKey = <T>(m: Map<string, T>): T[] => [...m.keys()].sort().map((k) => m.get(k)!);

function idx(raw: Uint8Array): number {
  const v = decode(raw);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('BadValue', 'index is not a non-negative integer');
  return v;
}

// ------------------------------------------------------------ tables

type State =
  | { kind: 'single'; v: Uint8Array | null }
  | { kind: 'list'; v: Uint8Array[] }
  | { kind: 'lookup_table'; v: Map<string, [Uint8Array, Uint8Array]> }
  | { kind: 'lookup_list'; v: Map<string, [Uint8Array, Uint8Array[]]> }
  | { kind: 'lookup_set'; v: Map<string, [Uint8Array, Map<string, Uint8Array>]> }
  | { kind: 'lookup_map'; v: Map<string, [Uint8Array, Map<string, [Uint8Array, Uint8Array]>]> };

function empty(kind: TableKind): State {
  switch (kind) {
    case 'single': return { kind, v: null };
    case 'list': return { kind, v: [] };
    default: return { kind, v: new Map() } as State;
  }
}

function clone(s: State): State {
  switch (s.kind) {
    case 'single': return { kind: s.kind, v: s.v };
    case 'list': return { kind: s.kind, v: [...s.v] };
    case 'lookup_table': return { kind: s.kind, v: new Map(s.v) };
    case 'lookup_list': return { kind: s.kind, v: new Map([...s.v].map(([h, [k, l]]) => [h, [k, [...l]]])) };
    case 'lookup_set': return { kind: s.kind, v: new Map([...s.v].map(([h, [k, m]]) => [h, [k, new Map(m)]])) };
    case 'lookup_map': return { kind: s.kind, v: new Map([...s.v].map(([h, [k, m]]) => [h, [k, new Map(m)]])) };
  }
}

function argc(a: Uint8Array[], n: number, op: string): void {
  if (a.length !== n) fail('BadValue', `${op} takes ${n} arguments, got ${a.length}`);
}

function doRead(s: State, op: string, a: Uint8Array[]): BridgeResult {
  switch (s.kind) {
    case 'single':
      if (op === 'get') { argc(a, 0, op); return s.v; }
      break;
    case 'list':
      if (op === 'len') { argc(a, 0, op); return s.v.length; }
      if (op === 'at') { argc(a, 1, op); return s.v[idx(a[0]!)] ?? null; }
      if (op === 'all') { argc(a, 0, op); return joinArray(s.v); }
      break;
    case 'lookup_table':
      if (op === 'get') { argc(a, 1, op); return s.v.get(hex(a[0]!))?.[1] ?? null; }
      if (op === 'has') { argc(a, 1, op); return s.v.has(hex(a[0]!)); }
      if (op === 'len') { argc(a, 0, op); return s.v.size; }
      if (op === 'keys') { argc(a, 0, op); return joinArray(byKey(s.v).map((e) => e[0])); }
      if (op === 'entries') { argc(a, 0, op); return joinArray(byKey(s.v).flat()); }
      if (op === 'getMany') {
        const mask = new Uint8Array(2 + ((a.length + 7) >> 3));
        mask[0] = 0xc4; mask[1] = (a.length + 7) >> 3; // bin8 header
        const vals: Uint8Array[] = [mask];
        a.forEach((k, i) => { const e = s.v.get(hex(k)); if (e) { const m = 2 + (i >> 3); mask[m] = mask[m]! | (1 << (i & 7)); vals.push(e[1]); } });
        return joinArray(vals);
      }
      break;
    case 'lookup_list':
      if (op === 'get') { argc(a, 1, op); return joinArray(s.v.get(hex(a[0]!))?.[1] ?? []); }
      if (op === 'keys') { argc(a, 0, op); return joinArray(byKey(s.v).map((e) => e[0])); }
      break;
    case 'lookup_set':
      if (op === 'get') { argc(a, 1, op); const e = s.v.get(hex(a[0]!)); return joinArray(e ? byKey(e[1]) : []); }
      if (op === 'has') { argc(a, 2, op); return s.v.get(hex(a[0]!))?.[1].has(hex(a[1]!)) ?? false; }
      if (op === 'keys') { argc(a, 0, op); return joinArray(byKey(s.v).map((e) => e[0])); }
      break;
    case 'lookup_map':
      if (op === 'get') { argc(a, 2, op); return s.v.get(hex(a[0]!))?.[1].get(hex(a[1]!))?.[1] ?? null; }
      if (op === 'getInner') { argc(a, 1, op); const e = s.v.get(hex(a[0]!)); return joinArray(e ? byKey(e[1]).flat() : []); }
      if (op === 'keys') { argc(a, 0, op); return joinArray(byKey(s.v).map((e) => e[0])); }
      break;
  }
  fail('BadValue', `${s.kind} has no read op ${op}`);
}

/** Applies a write op; checks before it changes anything. */
function doWrite(s: State, op: string, a: Uint8Array[]): BridgeResult {
  switch (s.kind) {
    case 'single':
      if (op === 'insert') { argc(a, 1, op); s.v = a[0]!; return null; }
      if (op === 'clear') { argc(a, 0, op); s.v = null; return null; }
      break;
    case 'list': {
      const l = s.v;
      if (op === 'push') { argc(a, 1, op); l.push(a[0]!); return null; }
      if (op === 'pop') { argc(a, 0, op); if (l.length === 0) fail('Empty', 'list is empty'); return l.pop()!; }
      if (op === 'insertAt') { argc(a, 2, op); const i = idx(a[0]!); if (i > l.length) fail('Index', 'index out of range'); l.splice(i, 0, a[1]!); return null; }
      if (op === 'setAt') { argc(a, 2, op); const i = idx(a[0]!); if (i >= l.length) fail('Index', 'index out of range'); l[i] = a[1]!; return null; }
      if (op === 'removeAt') { argc(a, 1, op); const i = idx(a[0]!); if (i >= l.length) fail('Index', 'index out of range'); l.splice(i, 1); return null; }
      if (op === 'clear') { argc(a, 0, op); l.length = 0; return null; }
      break;
    }
    case 'lookup_table':
      if (op === 'insert') { argc(a, 2, op); s.v.set(hex(a[0]!), [a[0]!, a[1]!]); return null; }
      if (op === 'insertMany') {
        if (a.length % 2 !== 0) fail('BadValue', 'insertMany takes pairs');
        for (let i = 0; i < a.length; i += 2) s.v.set(hex(a[i]!), [a[i]!, a[i + 1]!]);
        return null;
      }
      if (op === 'remove') { argc(a, 1, op); if (!s.v.delete(hex(a[0]!))) fail('NotFound', 'key not found'); return null; }
      if (op === 'clear') { argc(a, 0, op); s.v.clear(); return null; }
      break;
    case 'lookup_list':
      if (op === 'push') { argc(a, 2, op); const h = hex(a[0]!); const e = s.v.get(h); if (e) e[1].push(a[1]!); else s.v.set(h, [a[0]!, [a[1]!]]); return null; }
      if (op === 'removeAt') {
        argc(a, 2, op);
        const h = hex(a[0]!); const e = s.v.get(h); if (!e) fail('NotFound', 'key not found');
        const i = idx(a[1]!); if (i >= e[1].length) fail('Index', 'index out of range');
        e[1].splice(i, 1); if (e[1].length === 0) s.v.delete(h); return null;
      }
      if (op === 'clearKey') { argc(a, 1, op); s.v.delete(hex(a[0]!)); return null; }
      if (op === 'clear') { argc(a, 0, op); s.v.clear(); return null; }
      break;
    case 'lookup_set':
      if (op === 'insert') { argc(a, 2, op); const h = hex(a[0]!); const e = s.v.get(h) ?? [a[0]!, new Map()]; e[1].set(hex(a[1]!), a[1]!); s.v.set(h, e); return null; }
      if (op === 'remove') {
        argc(a, 2, op);
        const h = hex(a[0]!); const e = s.v.get(h);
        if (!e || !e[1].delete(hex(a[1]!))) fail('NotFound', 'member not found');
        if (e[1].size === 0) s.v.delete(h); return null;
      }
      if (op === 'clearKey') { argc(a, 1, op); s.v.delete(hex(a[0]!)); return null; }
      if (op === 'clear') { argc(a, 0, op); s.v.clear(); return null; }
      break;
    case 'lookup_map':
      if (op === 'insert') { argc(a, 3, op); const h = hex(a[0]!); const e = s.v.get(h) ?? [a[0]!, new Map()]; e[1].set(hex(a[1]!), [a[1]!, a[2]!]); s.v.set(h, e); return null; }
      if (op === 'remove') {
        argc(a, 2, op);
        const h = hex(a[0]!); const e = s.v.get(h);
        if (!e || !e[1].delete(hex(a[1]!))) fail('NotFound', 'key not found');
        if (e[1].size === 0) s.v.delete(h); return null;
      }
      if (op === 'clearKey') { argc(a, 1, op); s.v.delete(hex(a[0]!)); return null; }
      if (op === 'clear') { argc(a, 0, op); s.v.clear(); return null; }
      break;
  }
  fail('BadValue', `${s.kind} has no write op ${op}`);
}

// ------------------------------------------------------------ databases

type Op = [table: string, op: string, args: Uint8Array[]];

interface Disk {
  kinds: Map<string, TableKind>;
  commits: Op[][];
}

interface Handle {
  name: string;
  disk: Disk;
  tables: Map<string, State>;
  tx: { undo: Map<string, State>; ops: Op[] } | null;
  closed: boolean;
  poisoned: BridgeError | null;
  pending: Set<Promise<void>>;
  commits: number;
  compactions: number;
  lastCommitMs: number;
}

const size = (ops: Op[]): number => ops.reduce((n, [t, o, a]) => n + t.length + o.length + a.reduce((m, x) => m + x.length, 4), 8);

export class FakeBridge implements Bridge {
  readonly protocol = 2;
  readonly version = 'fake';

  readonly disks = new Map<string, Disk>();
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  private lockHeld = false;
  private waiters: (() => void)[] = [];
  private failures: BridgeErrorCode[] = [];
  /** Every bridge call, for tests that count crossings. */
  readonly calls: string[] = [];

  // ---- test knobs

  /** Makes begin/exec answer 'Busy' until releaseLock(). */
  holdLock(): void {
    this.lockHeld = true;
  }
  releaseLock(): void {
    this.lockHeld = false;
    for (const w of this.waiters.splice(0)) w();
  }
  /** Makes the durability of the next commit fail with code ('Poisoned' poisons the handle). */
  failNextCommit(code: BridgeErrorCode): void {
    this.failures.push(code);
  }

  // ---- protocol

  async open(name: string, tables: BridgeTable[], opts: BridgeOpenOptions): Promise<number> {
    this.calls.push('open');
    void opts;
    if ([...this.handles.values()].some((h) => h.name === name && !h.closed)) throw bridgeError('Locked', `database ${name} is already open`);
    const names = new Set<string>();
    for (const t of tables) {
      if (!t.name || names.has(t.name)) throw bridgeError('Schema', `duplicate or empty table name ${t.name}`);
      names.add(t.name);
    }
    if (tables.length === 0) throw bridgeError('Schema', 'no tables');
    const disk = this.disks.get(name) ?? { kinds: new Map(), commits: [] };
    for (const [n, k] of disk.kinds) {
      const t = tables.find((x) => x.name === n);
      if (!t) throw bridgeError('UnknownTable', `log holds table ${n} that the schema lacks`);
      if (t.kind !== k) throw bridgeError('Schema', `table ${n} is a ${k} in the log`);
    }
    for (const t of tables) disk.kinds.set(t.name, t.kind);
    this.disks.set(name, disk);
    const h: Handle = {
      name, disk, tables: new Map(tables.map((t) => [t.name, empty(t.kind)])), tx: null, closed: false,
      poisoned: null, pending: new Set(), commits: 0, compactions: 0, lastCommitMs: 0,
    };
    for (const c of disk.commits) for (const [t, o, a] of c) doWrite(h.tables.get(t)!, o, a);
    const id = this.nextHandle++;
    this.handles.set(id, h);
    return id;
  }

  upgradeStep(_id: number, _step: UpgradeStep, ..._args: (string | Uint8Array)[]): null | Uint8Array | BridgeError {
    this.calls.push('upgradeStep');
    return bridgeError('Closed', 'the fake bridge runs no upgrade');
  }

  private handle(id: number): Handle {
    const h = this.handles.get(id);
    if (!h || h.closed) fail('Closed', 'database is closed');
    return h;
  }

  private guard<T>(f: () => T): T | BridgeError {
    try {
      return f();
    } catch (e) {
      if (e instanceof Fail) return e.err;
      return bridgeError('Internal', String(e));
    }
  }

  private table(h: Handle, name: string): State {
    const s = h.tables.get(name);
    if (!s) fail('UnknownTable', `unknown table ${name}`);
    return s;
  }

  read(id: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError {
    this.calls.push('read');
    return this.guard(() => {
      const h = this.handle(id);
      return doRead(this.table(h, table), op, splitArray(args));
    });
  }

  begin(id: number): null | BridgeError {
    this.calls.push('begin');
    return this.guard(() => {
      const h = this.handle(id);
      if (h.poisoned) throw new Fail(h.poisoned);
      if (this.lockHeld || h.tx) fail('Busy', 'write lock is held');
      h.tx = { undo: new Map(), ops: [] };
      return null;
    });
  }

  apply(id: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError {
    this.calls.push('apply');
    return this.guard(() => this.applyOp(this.handle(id), table, op, args));
  }

  private applyOp(h: Handle, table: string, op: string, args: Uint8Array): BridgeResult {
    if (!h.tx) fail('TxClosed', 'no open transaction');
    const s = this.table(h, table);
    const a = splitArray(args);
    const before = clone(s);
    const r = doWrite(s, op, a); // throws before changing anything
    if (!h.tx.undo.has(table)) h.tx.undo.set(table, before);
    h.tx.ops.push([table, op, a]);
    return r;
  }

  commit(id: number): Promise<void> | BridgeError {
    this.calls.push('commit');
    return this.guard(() => this.commitTx(this.handle(id)));
  }

  private commitTx(h: Handle): Promise<void> {
    if (!h.tx) fail('TxClosed', 'no open transaction');
    const tx = h.tx;
    h.tx = null;
    if (tx.ops.length === 0) return Promise.resolve();
    h.disk.commits.push(tx.ops);
    const failure = this.failures.shift();
    const start = Date.now();
    const p = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        if (failure === undefined) {
          h.commits++;
          h.lastCommitMs = Date.now() - start;
          resolve();
          return;
        }
        // Undo, as the Go side does when no later commit depended on it.
        const i = h.disk.commits.lastIndexOf(tx.ops);
        if (i >= 0) h.disk.commits.splice(i, 1);
        for (const [t, s] of tx.undo) h.tables.set(t, s);
        if (failure === 'Poisoned') {
          h.poisoned = bridgeError('Poisoned', 'database refuses writes after an unrecoverable I/O failure; reopen it', { causeCode: 'IDBUnknown' });
          reject(h.poisoned);
        } else {
          reject(bridgeError(failure, `commit failed and was rolled back: injected ${failure}`));
        }
      }, 1);
    });
    h.pending.add(p);
    p.then(() => h.pending.delete(p), () => h.pending.delete(p));
    return p;
  }

  rollback(id: number): null | BridgeError {
    this.calls.push('rollback');
    return this.guard(() => {
      const h = this.handle(id);
      if (!h.tx) fail('TxClosed', 'no open transaction');
      for (const [t, s] of h.tx.undo) h.tables.set(t, s);
      h.tx = null;
      return null;
    });
  }

  exec(id: number, table: string, op: string, args: Uint8Array): Promise<Uint8Array> | BridgeError {
    this.calls.push('exec');
    return this.guard(() => {
      const h = this.handle(id);
      if (h.poisoned) throw new Fail(h.poisoned);
      if (this.lockHeld || h.tx) fail('Busy', 'write lock is held');
      const ops = [[table, op, args] as const];
      h.tx = { undo: new Map(), ops: [] };
      const results: Uint8Array[] = [];
      try {
        for (const [t, o, a] of ops) results.push((this.applyOp(h, t, o, a) as Uint8Array | null) ?? NIL);
      } catch (e) {
        for (const [t, s] of h.tx.undo) h.tables.set(t, s);
        h.tx = null;
        throw e;
      }
      return this.commitTx(h).then(() => joinArray(results));
    });
  }

  writable(id: number): Promise<void> {
    this.calls.push('writable');
    const h = this.handles.get(id);
    if (!h || h.closed) return Promise.reject(bridgeError('Closed', 'database is closed'));
    if (!this.lockHeld) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  async compact(id: number): Promise<void> {
    this.calls.push('compact');
    const h = this.handles.get(id);
    if (!h || h.closed) throw bridgeError('Closed', 'database is closed');
    const snap: Op[] = [];
    for (const [t, s] of h.tables) {
      switch (s.kind) {
        case 'single': if (s.v) snap.push([t, 'insert', [s.v]]); break;
        case 'list': for (const v of s.v) snap.push([t, 'push', [v]]); break;
        case 'lookup_table': for (const [k, v] of s.v.values()) snap.push([t, 'insert', [k, v]]); break;
        case 'lookup_list': for (const [k, l] of s.v.values()) for (const v of l) snap.push([t, 'push', [k, v]]); break;
        case 'lookup_set': for (const [k, m] of s.v.values()) for (const v of m.values()) snap.push([t, 'insert', [k, v]]); break;
        case 'lookup_map': for (const [k, m] of s.v.values()) for (const [k2, v] of m.values()) snap.push([t, 'insert', [k, k2, v]]); break;
      }
    }
    h.disk.commits = snap.length ? [snap] : [];
    h.compactions++;
  }

  stats(id: number): string | BridgeError {
    this.calls.push('stats');
    return this.guard(() => {
      const h = this.handle(id);
      let live = 8;
      for (const s of h.tables.values()) live += JSON.stringify(s, (_k, v) => (v instanceof Map ? [...v] : v instanceof Uint8Array ? v.length : v)).length;
      return JSON.stringify({
        records: 1 + h.disk.commits.length,
        logBytes: h.disk.commits.reduce((n, c) => n + size(c), 16),
        liveBytes: live,
        compactions: h.compactions,
        commits: h.commits,
        lastCommitMs: h.lastCommitMs,
        segments: 1,
      });
    });
  }

  async close(id: number): Promise<void> {
    this.calls.push('close');
    const h = this.handles.get(id);
    if (!h || h.closed) return;
    await Promise.allSettled([...h.pending]);
    if (h.tx) this.rollback(id);
    h.closed = true;
  }

  async exportLog(id: number): Promise<BridgeSegment[]> {
    const h = this.handles.get(id);
    if (!h || h.closed) throw bridgeError('Closed', 'database is closed');
    await Promise.allSettled([...h.pending]);
    return [{ id: 1, data: new TextEncoder().encode(JSON.stringify({ kinds: [...h.disk.kinds], commits: h.disk.commits.length })) }];
  }

  async importLog(name: string, segments: BridgeSegment[]): Promise<void> {
    if ([...this.handles.values()].some((h) => h.name === name && !h.closed)) throw bridgeError('Locked', `database ${name} is open`);
    void segments;
    this.disks.set(name, { kinds: new Map(), commits: [] });
  }

  async deleteDatabase(name: string): Promise<void> {
    if ([...this.handles.values()].some((h) => h.name === name && !h.closed)) throw bridgeError('Locked', `database ${name} is open`);
    this.disks.delete(name);
  }

  /** The number of commit records on name's disk. */
  commitCount(name: string): number {
    return this.disks.get(name)?.commits.length ?? 0;
  }
}
