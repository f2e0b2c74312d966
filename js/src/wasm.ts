// The shim's half of bridge protocol 2 (platform/wasm/exports.go is the
// other half, and specifies the ABI): the per-operation calls — reads, the
// ops of a transaction, begin, commit, rollback and one-op auto-commits —
// go through two wasm exports with requests and replies as bytes in wasm
// linear memory, instead of through js.FuncOf functions, which cost tens
// of microseconds a call. WasmBridge implements the Bridge interface, so
// the rest of the shim does not know which protocol serves it.

import { decode } from './codec.js';
import type { Bridge, BridgeError, BridgeOpenOptions, BridgeResult, BridgeSegment, BridgeTable, CatchUpResult, GoBridge, ShippedCommit, UpgradeStep } from './bridge.js';
import { OP_CODES } from './ops.js';

/** The exports of dbrs.wasm that protocol 2 uses. */
interface Exports {
  mem: WebAssembly.Memory;
  dbrs_in(n: number): number;
  dbrs_call(n: number): number;
  /** Lets the goroutines a commit made runnable run (exports.go, "Wake-ups"); absent in older builds. */
  dbrs_run?(): void;
  /** A flush transaction that flush() issued completed (idb_flush.go); absent in older builds. */
  dbrs_flushed?(token: number): void;
}

const CALL_READ = 1, CALL_APPLY = 2, CALL_BEGIN = 3, CALL_COMMIT = 4, CALL_ROLLBACK = 5, CALL_EXEC = 6, CALL_POSITION = 7, CALL_SHIPPED = 8;
const REPLY_NULL = 0, REPLY_BYTES = 1, REPLY_NUMBER = 2, REPLY_FALSE = 3, REPLY_TRUE = 4, REPLY_COMMIT = 5, REPLY_POSITION = 6, REPLY_SHIPPED = 7, REPLY_ERROR = 0xff;
const HEADER = 8;

interface Pending {
  resolve(v: Uint8Array | undefined): void;
  reject(e: unknown): void;
  result: Uint8Array | undefined;
}

/** Returns true if instance has the exports of protocol 2. */
export function hasExports(instance: WebAssembly.Instance): boolean {
  const e = instance.exports as Partial<Exports>;
  return typeof e.dbrs_call === 'function' && typeof e.dbrs_in === 'function' && e.mem instanceof WebAssembly.Memory;
}

export class WasmBridge implements Bridge {
  readonly protocol: number;
  readonly version: string;
  private readonly raw: GoBridge;
  private readonly x: Exports;
  private u8: Uint8Array;
  private dv: DataView;
  /**
   * The request buffer: its address and a size it has at least. Only this
   * object calls dbrs_in on its instance, and Go replaces the buffer only
   * inside dbrs_in, so the address stays valid until this object asks for
   * more room (dbrs_in is not called per request).
   */
  private inAt = 0;
  private inCap = 0;
  /** The body length of the reply send returned last. */
  private replyLen = 0;
  /** Per handle: table name → index in the open() tables. */
  private readonly tables = new Map<number, Map<string, number>>();
  /** Per handle: the open() tables' names, by index. */
  private readonly names = new Map<number, string[]>();
  /** dbrs.wasm serves position and shipped through dbrs_call (GoBridge.calls). */
  private readonly followCalls: boolean;
  /** Per handle: commits not yet settled, by sequence number. */
  private readonly pending = new Map<number, Map<number, Pending>>();

  constructor(raw: GoBridge, instance: WebAssembly.Instance) {
    this.raw = raw;
    this.protocol = raw.protocol;
    this.version = raw.version;
    this.x = instance.exports as unknown as Exports;
    this.u8 = new Uint8Array(this.x.mem.buffer);
    this.dv = new DataView(this.x.mem.buffer);
    this.raw.onSettle = (h, seq, err) => this.settled(h, seq, err);
    this.followCalls = (raw.calls ?? 0) >= CALL_SHIPPED;
    if (this.x.dbrs_flushed) this.raw.flush = this.flush;
    // Tells Go that this shim wakes it after commits (see commitReply), and
    // hands it flush.
    this.x.dbrs_run?.();
  }

  /**
   * Re-creates the views after the memory grew. Growing detaches the old
   * ArrayBuffer (the memory is not shared), and a view of a detached buffer
   * has length 0: that check is an inline load, where the mem.buffer getter
   * is a call into the engine that cost 13% of a bulk insert's time.
   */
  private views(): Uint8Array {
    if (this.u8.length === 0) {
      this.u8 = new Uint8Array(this.x.mem.buffer);
      this.dv = new DataView(this.x.mem.buffer);
    }
    return this.u8;
  }

  /** Sends one request; returns the reply's address (status byte first) and sets replyLen to its body length. */
  private send(method: number, h: number, table: number, op: number, args: Uint8Array | null): number {
    const n = HEADER + (args ? args.length : 0);
    if (n > this.inCap) {
      const want = Math.max(n, 4096);
      this.inAt = this.x.dbrs_in(want);
      this.inCap = want;
    }
    const at = this.inAt;
    // Go may have grown the memory since the last call (a goroutine that
    // ran on a JS event), not only inside dbrs_in or dbrs_call.
    const u8 = this.views();
    u8[at] = method;
    this.dv.setUint32(at + 1, h >>> 0, true);
    this.dv.setUint16(at + 5, table, true);
    u8[at + 7] = op;
    if (args) u8.set(args, at + HEADER);
    const r = this.x.dbrs_call(n);
    this.views();
    this.replyLen = this.dv.getUint32(r, true) - 1;
    return r + 4;
  }

  private reply(at: number, len: number): BridgeResult | BridgeError {
    const u8 = this.u8;
    switch (u8[at]) {
      case REPLY_NULL: return null;
      // A view of wasm memory, not a copy: valid until the next call into
      // dbrs.wasm (see Bridge.read), which is after the shim has decoded it.
      case REPLY_BYTES: return u8.subarray(at + 1, at + 1 + len);
      case REPLY_NUMBER: return this.dv.getFloat64(at + 1, true);
      case REPLY_FALSE: return false;
      case REPLY_TRUE: return true;
      case REPLY_ERROR: return this.error(at + 1, len);
    }
    return protocolError(`unexpected reply status ${u8[at]}`);
  }

  private error(at: number, len: number): BridgeError {
    let f: Record<string, unknown>;
    try {
      f = decode(this.u8.slice(at, at + len)) as Record<string, unknown>;
    } catch (e) {
      return protocolError(`undecodable error reply: ${String(e)}`);
    }
    const e = new Error(String(f.message ?? 'dbrs: unknown error')) as BridgeError & { goStack?: string };
    e.code = (typeof f.code === 'string' ? f.code : 'Internal') as BridgeError['code'];
    if (typeof f.causeCode === 'string') e.causeCode = f.causeCode as BridgeError['code'];
    if (f.segment !== undefined) e.segment = Number(f.segment);
    if (f.offset !== undefined) e.offset = Number(f.offset);
    if (typeof f.goStack === 'string') e.goStack = f.goStack;
    return e;
  }

  /** The table indexes of the handle index() saw last. */
  private lastH = 0;
  private lastTables: Map<string, number> | undefined;

  private index(h: number, table: string): number {
    let m = this.lastTables;
    if (h !== this.lastH || m === undefined) {
      m = this.tables.get(h);
      this.lastH = h;
      this.lastTables = m;
    }
    const i = m?.get(table);
    return i === undefined ? 0xffff : i;
  }

  private opCode(op: string): number {
    return OP_CODES.get(op) ?? 0;
  }

  read(h: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError {
    const at = this.send(CALL_READ, h, this.index(h, table), this.opCode(op), args);
    return this.reply(at, this.replyLen);
  }

  apply(h: number, table: string, op: string, args: Uint8Array): BridgeResult | BridgeError {
    const at = this.send(CALL_APPLY, h, this.index(h, table), this.opCode(op), args);
    return this.reply(at, this.replyLen);
  }

  begin(h: number): null | BridgeError {
    const at = this.send(CALL_BEGIN, h, 0, 0, null);
    const len = this.replyLen;
    return this.reply(at, len) as null | BridgeError;
  }

  rollback(h: number): null | BridgeError {
    const at = this.send(CALL_ROLLBACK, h, 0, 0, null);
    const len = this.replyLen;
    this.runSoon(); // the write lock is free: what waited for it may run
    return this.reply(at, len) as null | BridgeError;
  }

  commit(h: number): Promise<void> | BridgeError {
    const at = this.send(CALL_COMMIT, h, 0, 0, null);
    const len = this.replyLen;
    const r = this.commitReply(h, at, len);
    return r instanceof Error ? r : r.then(() => undefined);
  }

  exec(h: number, table: string, op: string, args: Uint8Array): Promise<Uint8Array> | BridgeError {
    const at = this.send(CALL_EXEC, h, this.index(h, table), this.opCode(op), args);
    return this.commitReply(h, at, this.replyLen) as Promise<Uint8Array> | BridgeError;
  }

  /** The error of a reply that is not of the kind expected: its own, or a protocol error. */
  private unexpected(at: number, len: number, what: string): BridgeError {
    const r = this.reply(at, len);
    return r instanceof Error ? r : protocolError(what);
  }

  private commitReply(h: number, at: number, len: number): Promise<Uint8Array | undefined> | BridgeError {
    // A commit, or a failed or empty one, frees the write lock: goroutines
    // that waited for it (a compaction, a close) are runnable, and run only
    // once JS calls into Go (exports.go, "Wake-ups").
    this.runSoon();
    if (this.u8[at] !== REPLY_COMMIT) return this.unexpected(at, len, 'commit reply without a sequence number');
    const seq = this.dv.getFloat64(at + 1, true);
    const result = len > 9 ? this.u8.slice(at + 9, at + 1 + len) : undefined;
    let m = this.pending.get(h);
    if (!m) this.pending.set(h, (m = new Map()));
    const p = m;
    return new Promise<Uint8Array | undefined>((resolve, reject) => p.set(seq, { resolve, reject, result }));
  }

  /**
   * Lets Go's settlers take the commits of this JS turn, and whatever
   * waited for the write lock run (exports.go, "Wake-ups"): one microtask
   * per turn that ended a transaction calls dbrs_run, so that the commits
   * of one turn share one IndexedDB flush.
   */
  private runSoon(): void {
    if (this.runQueued || !this.x.dbrs_run) return;
    this.runQueued = true;
    queueMicrotask(this.run);
  }

  private runQueued = false;
  private readonly run = () => {
    this.runQueued = false;
    this.x.dbrs_run!();
  };

  /**
   * Issues an IndexedDB flush for Go (GoBridge.flush; platform/wasm/
   * idb_flush.go specifies it): one readwrite transaction that puts the n
   * chunks the table at `at` in wasm memory describes, in rows of segment
   * f64, offset f64, address u32, length u32. Plain JS calls here cost a
   * fraction of the same calls made from Go through syscall/js, and
   * oncomplete calls an export instead of a js.FuncOf function.
   */
  private readonly flush = (db: IDBDatabase, store: string, opts: IDBTransactionOptions, onAbort: () => void, token: number, at: number, n: number, wantDurability: boolean): string | undefined => {
    const tx = db.transaction(store, 'readwrite', opts);
    try {
      const os = tx.objectStore(store);
      const buf = this.x.mem.buffer;
      const dv = new DataView(buf);
      for (let i = 0; i < n; i++, at += 24) {
        const seg = dv.getFloat64(at, true), off = dv.getFloat64(at + 8, true);
        const p = dv.getUint32(at + 16, true), len = dv.getUint32(at + 20, true);
        os.put(new Uint8Array(buf, p, len).slice(), [seg, off]);
      }
      tx.commit?.();
      // Set last: should anything above throw, the abort below must not
      // reach Go, which hears of that failure from the throw.
      const flushed = this.x.dbrs_flushed!;
      tx.oncomplete = () => flushed(token);
      tx.onabort = onAbort;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already finished
      }
      throw e;
    }
    return wantDurability ? (tx as IDBTransaction & { durability?: string }).durability : undefined;
  };

  private settled(h: number, seq: number, err: Error | null): void {
    const m = this.pending.get(h);
    const p = m?.get(seq);
    if (!m || !p) return;
    m.delete(seq);
    if (err) p.reject(err);
    else p.resolve(p.result);
  }

  async open(name: string, tables: BridgeTable[], opts: BridgeOpenOptions): Promise<number> {
    const h = await this.raw.open(name, tables, opts);
    this.tables.set(h, new Map(tables.map((t, i) => [t.name, i])));
    this.names.set(h, tables.map((t) => t.name));
    return h;
  }

  writable(h: number): Promise<void> { return this.raw.writable(h); }
  compact(h: number): Promise<void> { return this.raw.compact(h); }
  stats(h: number): string | BridgeError { return this.raw.stats(h); }

  async close(h: number): Promise<void> {
    try {
      await this.raw.close(h);
    } finally {
      this.tables.delete(h);
      this.lastTables = undefined;
      this.names.delete(h);
      // Go settles every commit before close resolves; anything left is a bug.
      for (const p of this.pending.get(h)?.values() ?? []) p.reject(protocolError('commit left unsettled at close'));
      this.pending.delete(h);
    }
  }

  // Following between tabs (bridge.ts, FollowBridge): straight to Go;
  // position and shipped, which a leader calls per commit, through
  // dbrs_call when dbrs.wasm serves them there.
  tap(h: number): undefined | BridgeError { return this.raw.tap!(h); }

  shipped(h: number): ShippedCommit[] | BridgeError {
    if (!this.followCalls) return this.raw.shipped!(h);
    const at = this.send(CALL_SHIPPED, h, 0, 0, null);
    const len = this.replyLen;
    if (this.u8[at] !== REPLY_SHIPPED) return this.unexpected(at, len, 'shipped reply of the wrong kind');
    const u8 = this.u8, dv = this.dv, names = this.names.get(h) ?? [];
    const end = at + 1 + len;
    let p = at + 1;
    const need = (n: number) => {
      if (p + n > end) throw protocolError('shipped reply too short');
    };
    try {
      need(4);
      const n = dv.getUint32(p, true);
      p += 4;
      const out: ShippedCommit[] = [];
      for (let i = 0; i < n; i++) {
        need(28);
        const segment = dv.getFloat64(p, true), offset = dv.getFloat64(p + 8, true), stop = dv.getFloat64(p + 16, true);
        const rl = dv.getUint32(p + 24, true);
        p += 28;
        need(rl + 2);
        const record = u8.slice(p, p + rl);
        p += rl;
        const nt = dv.getUint16(p, true);
        p += 2;
        const tables: string[] = [];
        for (let j = 0; j < nt; j++) {
          need(2);
          const ti = dv.getUint16(p, true);
          p += 2;
          if (ti !== 0xffff) {
            const name = names[ti];
            if (name === undefined) throw protocolError(`shipped commit wrote table ${ti}, which the handle lacks`);
            tables.push(name);
            continue;
          }
          need(4);
          const nl = dv.getUint32(p, true);
          p += 4;
          need(nl);
          tables.push(utf8.decode(u8.subarray(p, p + nl)));
          p += nl;
        }
        out.push({ segment, offset, end: stop, record, tables });
      }
      return out;
    } catch (e) {
      return e instanceof Error ? (e as BridgeError) : protocolError(String(e));
    }
  }
  applyCommit(h: number, segment: number, offset: number, record: Uint8Array): string[] | BridgeError {
    return this.raw.applyCommit!(h, segment, offset, record);
  }
  position(h: number): [number, number] | BridgeError {
    if (!this.followCalls) return this.raw.position!(h);
    const at = this.send(CALL_POSITION, h, 0, 0, null);
    const len = this.replyLen;
    if (this.u8[at] !== REPLY_POSITION) return this.unexpected(at, len, 'position reply of the wrong kind');
    return [this.dv.getFloat64(at + 1, true), this.dv.getFloat64(at + 9, true)];
  }
  catchUp(h: number): Promise<CatchUpResult> { return this.raw.catchUp!(h); }
  promote(h: number): Promise<CatchUpResult> { return this.raw.promote!(h); }

  exportLog(h: number): Promise<BridgeSegment[]> { return this.raw.exportLog(h); }
  importLog(name: string, segments: BridgeSegment[]): Promise<void> { return this.raw.importLog(name, segments); }
  deleteDatabase(name: string): Promise<void> { return this.raw.deleteDatabase(name); }
  upgradeStep(id: number, step: UpgradeStep, ...args: (string | Uint8Array)[]): null | Uint8Array | BridgeError {
    return this.raw.upgradeStep(id, step, ...args);
  }
}

const utf8 = new TextDecoder();

function protocolError(msg: string): BridgeError {
  const e = new Error('dbrs: bridge protocol error: ' + msg) as BridgeError;
  e.code = 'Internal';
  return e;
}
