// Runtime table handles. One class per table kind serves all three modes
// (auto, tx, view); the types in types.ts decide which methods a caller can
// see. Every method encodes its arguments into ONE msgpack array and crosses
// into Go once.

import type { BridgeResult, TableKind } from './bridge.js';
import { runCheck, show, type TableChecks } from './checks.js';
import { checkKey, decode, encode, keyArgs, keyValueArgs, keysArgs, owned, pairsArgs } from './codec.js';
import { DbrsError, toDbrsError } from './errors.js';

export type Mode = 'auto' | 'tx' | 'view';

/** Marks a tx or view handle set as usable; cleared when its callback returns. */
export interface Scope {
  active: boolean;
  /** Tables read in this scope (liveQuery's views record them). */
  read?: Set<string>;
  /** Tables written in this scope (a transaction's). */
  written?: Set<string>;
  /** A follower's transaction: its ops, in order, for the leader to run (follower.ts). */
  ops?: { table: string; op: string; args: Uint8Array }[];
}

/** What the database gives its tables. */
export interface Host {
  /** Synchronous read; throws DbrsError. */
  read(table: string, op: string, args: Uint8Array, scope: Scope | null): BridgeResult;
  /** Synchronous write inside the open transaction; throws DbrsError. */
  apply(table: string, op: string, args: Uint8Array, scope: Scope): BridgeResult;
  /** Auto-committed write; resolves to the op's decoded result when durable. */
  exec(table: string, op: string, args: Uint8Array): Promise<unknown>;
  /** Subscribes to the durable commits that write table. */
  subscribeTable(table: string, listener: () => void): () => void;
}

/** The encoded empty argument list. */
const NO_ARGS = Uint8Array.of(0x90);

function key<K>(k: K, what = 'key'): K {
  checkKey(k, what);
  return k;
}

function index(i: unknown): number {
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) {
    throw new DbrsError('Index', `dbrs: index ${String(i)} is not a non-negative integer`);
  }
  return i;
}

function rawValue(r: BridgeResult): unknown {
  if (r === null || r === undefined) return undefined;
  if (!(r instanceof Uint8Array)) throw new DbrsError('Internal', 'dbrs: bridge returned a non-byte value result');
  return decode(r);
}

function array(r: BridgeResult): unknown[] {
  if (!(r instanceof Uint8Array)) throw new DbrsError('Internal', 'dbrs: bridge returned a non-byte array result');
  const v = decode(r);
  if (!Array.isArray(v)) throw new DbrsError('Internal', 'dbrs: bridge returned a non-array result');
  return v;
}

function pairs(r: BridgeResult): [unknown, unknown][] {
  const flat = array(r);
  const out: [unknown, unknown][] = new Array(flat.length >> 1);
  for (let i = 0; i + 1 < flat.length; i += 2) out[i >> 1] = [flat[i], flat[i + 1]];
  return out;
}

function num(r: BridgeResult): number {
  if (typeof r !== 'number') throw new DbrsError('Internal', 'dbrs: bridge returned a non-number count');
  return r;
}

function bool(r: BridgeResult): boolean {
  if (typeof r !== 'boolean') throw new DbrsError('Internal', 'dbrs: bridge returned a non-boolean');
  return r;
}

/** One table of an open database: what open() gave the bridge, and the checks. */
export interface TableSpec {
  name: string;
  kind: TableKind;
  checks?: TableChecks;
}

abstract class Table {
  constructor(
    protected readonly host: Host,
    readonly name: string,
    protected readonly mode: Mode,
    protected readonly scope: Scope | null,
    protected readonly checks: TableChecks,
  ) {}

  /** A key argument of a write: a Key, and it passes the table's key check. */
  protected k<K>(k: K, op: string, which: 'key' | 'inner' = 'key'): K {
    key(k, which === 'key' ? 'key' : this instanceof LookupSetImpl ? 'set member' : 'inner key');
    const c = this.checks[which];
    if (c !== undefined) runCheck(c, k, `${this.name}.${op}: ${which === 'key' ? 'key' : 'inner key'}`);
    return k;
  }

  /**
   * The arguments [k, v] of a write, checked as k() and v() check them, in
   * the same order. A view of codec's scratch buffer (see keyValueArgs).
   */
  protected kv(k: unknown, v: unknown, op: string): Uint8Array {
    if (this.checks.key !== undefined || this.checks.value !== undefined) {
      this.k(k, op);
      this.v(v, op);
    }
    return keyValueArgs(k, v);
  }

  /** Names what was not found, as the caller wrote it, in a 'NotFound' error. */
  protected readable(e: unknown, op: string, subject?: () => string): unknown {
    if (subject && e instanceof DbrsError && e.code === 'NotFound') {
      return new DbrsError('NotFound', `dbrs: ${this.name}.${op}: ${subject()} not found`, { cause: e });
    }
    return e;
  }

  /** A value argument of a write: it passes the table's value check. */
  protected v<V>(v: V, op: string): V {
    const c = this.checks.value;
    if (c !== undefined) runCheck(c, v, `${this.name}.${op}: value`);
    return v;
  }

  protected r(op: string, args: Uint8Array = NO_ARGS): BridgeResult {
    this.scope?.read?.add(this.name);
    return this.host.read(this.name, op, args, this.scope);
  }

  /**
   * Calls listener after every durable commit that wrote this table, in
   * commit order. Returns the function that unsubscribes. (On db.tables
   * only: a transaction's or view's tables end with their callback.)
   */
  subscribe(listener: () => void): () => void {
    if (this.mode !== 'auto') throw new DbrsError('ReadOnly', `dbrs: ${this.name}.subscribe inside a transaction or view; subscribe on db.tables`);
    if (typeof listener !== 'function') throw new TypeError('dbrs: subscribe needs a listener function');
    return this.host.subscribeTable(this.name, listener);
  }

  /**
   * A write. args builds the encoded argument list (it may throw on a bad
   * key or index). auto mode: returns a Promise and never throws. tx mode:
   * applies now and returns the op's result, or throws. view mode: throws
   * 'ReadOnly'.
   */
  protected w(op: string, args: () => Uint8Array, withResult = false, subject?: () => string): any {
    switch (this.mode) {
      case 'auto': {
        let a: Uint8Array;
        try {
          a = owned(args()); // exec may queue it: never a scratch buffer
        } catch (e) {
          return Promise.reject(toDbrsError(e));
        }
        const p = this.host.exec(this.name, op, a).catch((e: unknown) => {
          throw this.readable(e, op, subject);
        });
        return withResult ? p : p.then(() => undefined);
      }
      case 'tx': {
        if (!this.scope!.active) throw new DbrsError('TxClosed', `dbrs: ${this.name}.${op} on a transaction that has ended`);
        let r: BridgeResult;
        try {
          r = this.host.apply(this.name, op, args(), this.scope!);
        } catch (e) {
          throw this.readable(e, op, subject);
        }
        this.scope!.written?.add(this.name);
        return withResult ? rawValue(r) : undefined;
      }
      default:
        throw new DbrsError('ReadOnly', `dbrs: ${this.name}.${op} on a read-only view`);
    }
  }
}

class SingleImpl extends Table {
  get() { return rawValue(this.r('get')); }
  insert(v: unknown) { return this.w('insert', () => encode([this.v(v, 'insert')])); }
  clear() { return this.w('clear', () => NO_ARGS); }
}

class ListImpl extends Table {
  len() { return num(this.r('len')); }
  at(i: number) { return rawValue(this.r('at', encode([index(i)]))); }
  all() { return array(this.r('all')); }
  push(v: unknown) { return this.w('push', () => encode([this.v(v, 'push')])); }
  pop() { return this.w('pop', () => NO_ARGS, true); }
  insertAt(i: number, v: unknown) { return this.w('insertAt', () => encode([index(i), this.v(v, 'insertAt')])); }
  setAt(i: number, v: unknown) { return this.w('setAt', () => encode([index(i), this.v(v, 'setAt')])); }
  removeAt(i: number) { return this.w('removeAt', () => encode([index(i)])); }
  clear() { return this.w('clear', () => NO_ARGS); }
}

class LookupTableImpl extends Table {
  get(k: unknown) { return rawValue(this.r('get', keyArgs(k))); }
  has(k: unknown) { return bool(this.r('has', keyArgs(k))); }
  len() { return num(this.r('len')); }
  entries() { return pairs(this.r('entries')); }
  keys() { return array(this.r('keys')); }
  getMany(keys: readonly unknown[]) {
    if (!Array.isArray(keys)) throw new DbrsError('BadValue', 'dbrs: getMany needs an array of keys');
    const r = array(this.r('getMany', keysArgs(keys)));
    const mask = r[0];
    if (!(mask instanceof Uint8Array)) throw new DbrsError('Internal', 'dbrs: bridge returned a getMany result without its presence bits');
    const out: unknown[] = new Array(keys.length);
    for (let i = 0, j = 1; i < keys.length; i++) out[i] = (mask[i >> 3]! >> (i & 7)) & 1 ? r[j++] : undefined;
    return out;
  }
  insert(k: unknown, v: unknown) { return this.w('insert', () => this.kv(k, v, 'insert')); }
  insertMany(entries: Iterable<readonly [unknown, unknown]>) {
    return this.w('insertMany', () => {
      const pairs: (readonly [unknown, unknown])[] = [];
      const checked = this.checks.key !== undefined || this.checks.value !== undefined;
      for (const e of entries) {
        if (!Array.isArray(e) || e.length !== 2) throw new DbrsError('BadValue', 'dbrs: insertMany needs [key, value] pairs');
        if (checked) {
          this.k(e[0], 'insertMany');
          this.v(e[1], 'insertMany');
        }
        pairs.push(e as readonly [unknown, unknown]);
      }
      return pairsArgs(pairs);
    });
  }
  remove(k: unknown) { return this.w('remove', () => encode([this.k(k, 'remove')]), false, () => `key ${show(k)}`); }
  clear() { return this.w('clear', () => NO_ARGS); }
}

class LookupListImpl extends Table {
  get(k: unknown) { return array(this.r('get', keyArgs(k))); }
  keys() { return array(this.r('keys')); }
  push(k: unknown, v: unknown) { return this.w('push', () => encode([this.k(k, 'push'), this.v(v, 'push')])); }
  removeAt(k: unknown, i: number) { return this.w('removeAt', () => encode([this.k(k, 'removeAt'), index(i)]), false, () => `key ${show(k)}`); }
  clearKey(k: unknown) { return this.w('clearKey', () => encode([this.k(k, 'clearKey')])); }
  clear() { return this.w('clear', () => NO_ARGS); }
}

class LookupSetImpl extends Table {
  get(k: unknown) { return array(this.r('get', keyArgs(k))); }
  has(k: unknown, v: unknown) { return bool(this.r('has', encode([key(k), key(v, 'set member')]))); }
  keys() { return array(this.r('keys')); }
  insert(k: unknown, v: unknown) { return this.w('insert', () => encode([this.k(k, 'insert'), this.member(v, 'insert')])); }
  remove(k: unknown, v: unknown) {
    return this.w('remove', () => encode([this.k(k, 'remove'), this.member(v, 'remove')]), false, () => `member ${show(v)} of key ${show(k)}`);
  }
  clearKey(k: unknown) { return this.w('clearKey', () => encode([this.k(k, 'clearKey')])); }
  clear() { return this.w('clear', () => NO_ARGS); }
  /** A set member is a key, checked by the table's value check. */
  private member(v: unknown, op: string) {
    key(v, 'set member');
    return this.v(v, op);
  }
}

class LookupMapImpl extends Table {
  get(k1: unknown, k2: unknown) { return rawValue(this.r('get', encode([key(k1), key(k2, 'inner key')]))); }
  getInner(k1: unknown) { return new Map(pairs(this.r('getInner', keyArgs(k1)))); }
  keys() { return array(this.r('keys')); }
  insert(k1: unknown, k2: unknown, v: unknown) {
    return this.w('insert', () => encode([this.k(k1, 'insert'), this.k(k2, 'insert', 'inner'), this.v(v, 'insert')]));
  }
  remove(k1: unknown, k2: unknown) {
    return this.w('remove', () => encode([this.k(k1, 'remove'), this.k(k2, 'remove', 'inner')]), false, () => `key ${show(k1)} / ${show(k2)}`);
  }
  clearKey(k1: unknown) { return this.w('clearKey', () => encode([this.k(k1, 'clearKey')])); }
  clear() { return this.w('clear', () => NO_ARGS); }
}

const classes: Record<TableKind, new (host: Host, name: string, mode: Mode, scope: Scope | null, checks: TableChecks) => Table> = {
  single: SingleImpl,
  list: ListImpl,
  lookup_table: LookupTableImpl,
  lookup_list: LookupListImpl,
  lookup_set: LookupSetImpl,
  lookup_map: LookupMapImpl,
};

const NO_CHECKS: TableChecks = Object.freeze({});

/**
 * Builds the frozen name → handle object for the given mode. Reading a
 * table the schema lacks throws 'UnknownTable' (a misspelling fails loudly,
 * not as a TypeError on undefined); `then` and `toJSON` read as undefined,
 * so the object can still be awaited or printed.
 */
export function makeTables(
  host: Host,
  tables: readonly TableSpec[],
  mode: Mode,
  scope: Scope | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of tables) out[t.name] = Object.freeze(new classes[t.kind](host, t.name, mode, scope, t.checks ?? NO_CHECKS));
  Object.freeze(out);
  return new Proxy(out, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !(prop in target) && prop !== 'then' && prop !== 'toJSON') {
        throw new DbrsError('UnknownTable', `dbrs: no table ${JSON.stringify(prop)} in the schema (it has ${Object.keys(target).map((n) => JSON.stringify(n)).join(', ')})`);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

export const TABLE_KINDS: ReadonlySet<string> = new Set(Object.keys(classes));
