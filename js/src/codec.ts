// The msgpack codec of the shim. Go stores the bytes this file produces and
// compares keys by those bytes, so the encoding of a key must be a function of
// its JS value alone (canonical). The rules:
//
//   - Integers (number with Number.isSafeInteger, or bigint) use the most
//     compact msgpack int: positive values use the uint formats, negative
//     values the int formats; this is what @msgpack/msgpack does for numbers
//     and what Go's msgpack writes with compact ints, so 5, 5n and Go's
//     int64(5) are the same key. -0 encodes as 0.
//   - bigint beyond ±(2^53-1) encodes as uint64 (0xcf) or int64 (0xd3); a
//     bigint outside [-2^63, 2^64-1] is rejected ('BadValue').
//   - Other numbers (fractions, NaN, ±Infinity, integers beyond 2^53 held in
//     a number) encode as float64. So 2**60 (a number) and 2n**60n (a bigint)
//     are different keys: use bigint for int64 values beyond 2^53.
//   - Object keys are sorted (code-unit order) and properties whose value is
//     undefined are left out, so {a:1,b:2} and {b:2,a:1} encode the same.
//   - A Map encodes as a msgpack map in insertion order (for Go maps with
//     non-string keys). A Set, a function or a symbol is rejected.
//
// Keys (and lookupSet members, lookupMap inner keys) are further limited to
// the Key type: string, number, bigint, boolean, null, Uint8Array, or an
// array of those (a tuple key). A number key must be a safe integer: a
// float has no single encoding that equals itself (NaN, -0), and dbrs.wasm
// refuses any key not in its one canonical form (core.ValidKey). Objects are refused as keys at compile time
// and at run time: a Go struct key is written in field order, which JS cannot
// know, so an object key could never match one written by Go.
//
// Decoding: msgpack maps become plain objects, bin becomes Uint8Array, the
// timestamp extension becomes Date. uint64/int64 values within ±(2^53-1)
// decode as number; beyond that as bigint (exact, never rounded).

import { Encoder, Decoder } from '@msgpack/msgpack';
import { DbrsError } from './errors.js';

/** The key types: values with a canonical, Go-compatible encoding. */
export type Key = string | number | bigint | boolean | null | Uint8Array | readonly Key[];

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);

// Only @msgpack/msgpack's public API is used: the Encoder's sortKeys,
// ignoreUndefined and useBigInt64 options, and the Decoder's useBigInt64
// and mapKeyConverter. What the library does not do, this file does around
// it: before encoding, prepare() gives every integer the JS type the
// library writes in its shortest form (a number within 32 bits, a bigint
// beyond; so 5n and 5 are one key, and 2**40 and 2n**40n too), refuses
// what cannot be stored, and notes Maps, whose entries the library would
// drop; a value with a Map is then encoded here,
// container by container, with the library encoding everything else. After
// decoding, narrow() turns the bigints that fit in a number back into
// numbers (useBigInt64 decodes every 64-bit integer as a bigint).

const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true, useBigInt64: true });
const decoder = new Decoder({
  useBigInt64: true,
  mapKeyConverter: (k: unknown): string | number => {
    if (typeof k === 'string' || typeof k === 'number') return k;
    if (typeof k === 'bigint') return k >= MIN_SAFE && k <= MAX_SAFE ? Number(k) : k.toString();
    throw new DbrsError('BadValue', `dbrs: a msgpack map key of type ${typeof k} cannot become a JS object key`);
  },
});

/** prepare's answer: the value to encode, and whether it holds a Map. */
interface Prepared {
  v: unknown;
  hasMap: boolean;
}

const MAX_DEPTH = 100;

/**
 * Returns v with every integer as prepare's rule above says (copying only
 * the containers on the way to a change), and notes whether v holds a Map.
 * Throws BadValue for a bigint beyond 64 bits, a Set, a function or a
 * symbol.
 */
function prepare(v: unknown, depth: number): Prepared {
  switch (typeof v) {
    case 'number':
      // With useBigInt64 the library writes an integer beyond 32 bits held
      // in a number as a float64: hand it a bigint, which it writes as
      // uint64 or int64, the shortest form there is for it.
      if (Number.isSafeInteger(v) && (v > 0xffffffff || v < -0x80000000)) return { v: BigInt(v), hasMap: false };
      return { v, hasMap: false };
    case 'bigint':
      if (v >= -0x80000000n && v <= 0xffffffffn) return { v: Number(v), hasMap: false };
      if (v > MAX_U64 || v < MIN_I64) throw new DbrsError('BadValue', `dbrs: bigint ${v} does not fit in 64 bits`);
      return { v, hasMap: false };
    case 'function':
    case 'symbol':
      throw new DbrsError('BadValue', `dbrs: a ${typeof v} cannot be stored`);
    case 'object':
      break;
    default:
      return { v, hasMap: false };
  }
  if (v === null || ArrayBuffer.isView(v) || v instanceof Date) return { v, hasMap: false };
  if (depth > MAX_DEPTH) throw new DbrsError('BadValue', `dbrs: value nested deeper than ${MAX_DEPTH}`);
  if (v instanceof Set) throw new DbrsError('BadValue', 'dbrs: a Set cannot be stored; use an array or a lookupSet');
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) out.set(prepare(k, depth + 1).v, prepare(x, depth + 1).v);
    return { v: out, hasMap: true };
  }
  let hasMap = false;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const p = prepare(v[i], depth + 1);
      hasMap ||= p.hasMap;
      if (p.v !== v[i]) (out ??= v.slice())[i] = p.v;
    }
    return { v: out ?? v, hasMap };
  }
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    const p = prepare(x, depth + 1);
    hasMap ||= p.hasMap;
    if (p.v !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = p.v;
  }
  return { v: out ?? v, hasMap };
}

/**
 * Encodes a prepared value that holds a Map: containers here (a Map as a
 * msgpack map in insertion order, objects with sorted keys and no
 * undefined values, as the library writes them), the rest by the library.
 */
function encodeParts(v: unknown, out: Uint8Array[]): void {
  if (v instanceof Map) {
    out.push(header(0x80, 0xde, v.size));
    for (const [k, x] of v) {
      encodeParts(k, out);
      encodeParts(x, out);
    }
  } else if (Array.isArray(v)) {
    out.push(header(0x90, 0xdc, v.length));
    for (const x of v) encodeParts(x, out);
  } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    out.push(header(0x80, 0xde, keys.length));
    for (const k of keys) {
      out.push(encoder.encode(k));
      encodeParts(o[k], out);
    }
  } else {
    out.push(encoder.encode(v));
  }
}

/** A msgpack array (fix 0x90, 16-bit 0xdc) or map (0x80, 0xde) header. */
function header(fix: number, wide: number, n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(fix + n);
  if (n < 0x10000) return Uint8Array.of(wide, n >> 8, n & 0xff);
  return Uint8Array.of(wide + 1, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Turns the bigints that fit in a number back into numbers, in place. */
function narrow(v: unknown, depth: number): unknown {
  if (typeof v === 'bigint') return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date || depth > MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = narrow(v[i], depth + 1);
  } else {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = narrow(o[k], depth + 1);
  }
  return v;
}

function wrap(e: unknown, what: string): DbrsError {
  if (e instanceof DbrsError) return e;
  return new DbrsError('BadValue', `dbrs: cannot ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Encodes any JS value. Throws DbrsError 'BadValue' for what msgpack cannot hold. */
export function encode(value: unknown): Uint8Array {
  try {
    const p = prepare(value, 0);
    if (!p.hasMap) return encoder.encode(p.v);
    const parts: Uint8Array[] = [];
    encodeParts(p.v, parts);
    let n = 0;
    for (const x of parts) n += x.length;
    const out = new Uint8Array(n);
    n = 0;
    for (const x of parts) {
      out.set(x, n);
      n += x.length;
    }
    return out;
  } catch (e) {
    throw wrap(e, 'encode value');
  }
}

/**
 * Decodes one msgpack value. Throws DbrsError 'BadValue' on malformed input
 * or a map key JS cannot hold. A bin value decodes as a copy, never as a
 * view of bytes: bytes may be a view of wasm memory, which the next call
 * into dbrs.wasm overwrites.
 */
export function decode(bytes: Uint8Array): unknown {
  const v = fastDecode(bytes);
  if (v !== BAIL) return v;
  return slowDecode(bytes.slice());
}

/** decode through the library (bytes must not be shared: bins are views of it). */
function slowDecode(bytes: Uint8Array): unknown {
  let v: unknown;
  try {
    v = decoder.decode(bytes);
  } catch (e) {
    throw wrap(e, 'decode value');
  }
  // Only the 64-bit integer codes decode as bigints: skip the walk when
  // neither byte occurs anywhere.
  return bytes.includes(0xcf) || bytes.includes(0xd3) ? narrow(v, 0) : v;
}

// ------------------------------------------------------------ fast paths
//
// The hot path (a get, an insert) must not pay for the general encoder and
// decoder above: prepare() allocates per node, the library's encode copies
// its output, its decode makes a DataView and a state stack per call. The
// functions below handle the common values themselves and produce exactly
// what the general path produces: the same bytes (so keys stay canonical)
// and the same JS values. Anything else — bigints, Dates, Maps, Sets, typed
// arrays other than Uint8Array, strings with lone surrogates, extension
// types, malformed input, nesting deeper than FAST_DEPTH — "bails": the
// general path handles the whole value, errors included.

/** What a fast path returns when the general path must handle the value. */
const BAIL: unique symbol = Symbol('bail');

const FAST_DEPTH = 50;

// ---- encoding into one scratch buffer, reused by every call

let sb = new Uint8Array(1024);
let sv = new DataView(sb.buffer);
let sp = 0;

/**
 * Starts an encoding over the scratch buffer. What the last one returned
 * has been consumed by then (the bridge copies it at once), so a buffer
 * that an insertMany or getMany grew past 64 KiB is let go instead of
 * being kept for the page's lifetime.
 */
function startScratch(): void {
  sp = 0;
  if (sb.length > 1 << 16) {
    sb = new Uint8Array(1024);
    sv = new DataView(sb.buffer);
  }
}
const textEncoder = new TextEncoder();

function room(n: number): void {
  if (sp + n <= sb.length) return;
  const b = new Uint8Array(Math.max(2 * sb.length, sp + n));
  b.set(sb.subarray(0, sp));
  sb = b;
  sv = new DataView(b.buffer);
}

/** A safe integer, in the form prepare() and the library give it. */
function putInt(v: number): void {
  room(9);
  if (v >= 0) {
    if (v < 0x80) sb[sp++] = v; // -0 is 0 too
    else if (v < 0x100) { sb[sp++] = 0xcc; sb[sp++] = v; }
    else if (v < 0x10000) { sb[sp++] = 0xcd; sv.setUint16(sp, v); sp += 2; }
    else if (v < 0x100000000) { sb[sp++] = 0xce; sv.setUint32(sp, v); sp += 4; }
    else { sb[sp++] = 0xcf; sv.setUint32(sp, Math.floor(v / 0x100000000)); sv.setUint32(sp + 4, v >>> 0); sp += 8; }
  } else if (v >= -0x20) sb[sp++] = v & 0xff;
  else if (v >= -0x80) { sb[sp++] = 0xd0; sb[sp++] = v & 0xff; }
  else if (v >= -0x8000) { sb[sp++] = 0xd1; sv.setInt16(sp, v); sp += 2; }
  else if (v >= -0x80000000) { sb[sp++] = 0xd2; sv.setInt32(sp, v); sp += 4; }
  else { sb[sp++] = 0xd3; sv.setBigInt64(sp, BigInt(v)); sp += 8; }
}

function putLen(n: number, fix: number, limit: number, c8: number | 0, c16: number, c32: number): void {
  room(5);
  if (n < limit) sb[sp++] = fix + n;
  else if (c8 !== 0 && n < 0x100) { sb[sp++] = c8; sb[sp++] = n; }
  else if (n < 0x10000) { sb[sp++] = c16; sv.setUint16(sp, n); sp += 2; }
  else { sb[sp++] = c32; sv.setUint32(sp, n); sp += 4; }
}

/**
 * A string as msgpack str. A string with a lone surrogate bails (a value)
 * or throws 'BadValue' through checkKey (a key, named by what).
 */
function putStr(s: string, what: string | null): boolean {
  const n = s.length;
  room(5 + 3 * n);
  const start = sp;
  const h = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  let p = start + h;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    sb[p++] = c;
  }
  if (i === n) {
    sp = start;
    putLen(n, 0xa0, 32, 0xd9, 0xda, 0xdb);
    sp = start + h + n;
    return true;
  }
  if (loneSurrogate.test(s)) {
    if (what !== null) checkKey(s, what); // throws
    return false;
  }
  const len = textEncoder.encodeInto(s, sb.subarray(start + 5)).written;
  sp = start;
  putLen(len, 0xa0, 32, 0xd9, 0xda, 0xdb);
  sb.copyWithin(sp, start + 5, start + 5 + len);
  sp += len;
  return true;
}

function putValue(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return putStr(v, null);
    case 'number':
      if (Number.isSafeInteger(v)) {
        putInt(v);
      } else {
        room(9);
        sb[sp++] = 0xcb;
        sv.setFloat64(sp, v);
        sp += 8;
      }
      return true;
    case 'boolean':
      room(1);
      sb[sp++] = v ? 0xc3 : 0xc2;
      return true;
    case 'undefined':
      room(1);
      sb[sp++] = 0xc0;
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) {
    room(1);
    sb[sp++] = 0xc0;
    return true;
  }
  if (depth > FAST_DEPTH) return false;
  if (Array.isArray(v)) {
    const n = v.length;
    putLen(n, 0x90, 16, 0, 0xdc, 0xdd);
    for (let i = 0; i < n; i++) if (!putValue(v[i], depth + 1)) return false;
    return true;
  }
  if (v instanceof Uint8Array) {
    const n = v.length;
    putLen(n, 0xc4, 0, 0xc4, 0xc5, 0xc6);
    room(n);
    sb.set(v, sp);
    sp += n;
    return true;
  }
  if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof Map || v instanceof Set) return false;
  // An object: a map with its keys sorted and undefined values left out,
  // as the library writes it (sortKeys, ignoreUndefined).
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let n = 0;
  for (let i = 0; i < keys.length; i++) if (o[keys[i]!] !== undefined) n++;
  putLen(n, 0x80, 16, 0, 0xde, 0xdf);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = o[k];
    if (x === undefined) continue;
    if (!putStr(k, null) || !putValue(x, depth + 1)) return false;
  }
  return true;
}

/** A key: a string or a safe integer here; else checkKey and the general encoder. */
function putKey(k: unknown, what: string): void {
  if (typeof k === 'string') {
    putStr(k, what);
    return;
  }
  if (typeof k === 'number' && Number.isSafeInteger(k)) {
    putInt(k);
    return;
  }
  checkKey(k, what);
  const b = encode(k);
  room(b.length);
  sb.set(b, sp);
  sp += b.length;
}

/**
 * The argument array [k] of a keyed op, checked as checkKey checks it. The
 * result is a view of a scratch buffer, valid until the next call of
 * keyArgs or keyValueArgs: pass it to the bridge at once, or copy it.
 */
export function keyArgs(k: unknown, what = 'key'): Uint8Array {
  if (encoding) {
    checkKey(k, what);
    return encode([k]);
  }
  startScratch();
  room(1);
  sb[sp++] = 0x91;
  putKey(k, what);
  return sb.subarray(0, sp);
}

/**
 * Set while keyValueArgs encodes a value: a getter of the value may call
 * into dbrs (a read), and the calls it makes then encode with the general
 * encoder, not over the scratch buffer in use.
 */
let encoding = false;

/** The argument array [k, v]; as keyArgs, and v encoded as encode does. */
export function keyValueArgs(k: unknown, v: unknown, what = 'key'): Uint8Array {
  if (encoding) {
    checkKey(k, what);
    return encode([k, v]);
  }
  encoding = true;
  try {
    startScratch();
    room(1);
    sb[sp++] = 0x92;
    putPair(k, v, what);
  } finally {
    encoding = false;
  }
  return sb.subarray(0, sp);
}

/** k, then v as encode(v) gives it; encoding must be set (see keyValueArgs). */
function putPair(k: unknown, v: unknown, what: string): void {
  putKey(k, what);
  const at = sp;
  if (!putValue(v, 0)) {
    const b = encode(v);
    sp = at;
    room(b.length);
    sb.set(b, sp);
    sp += b.length;
  }
}

/**
 * The argument array [k1, v1, k2, v2, ...] of insertMany: what encode gives
 * for that flat array, written pair by pair as keyValueArgs writes one.
 */
export function pairsArgs(pairs: readonly (readonly [unknown, unknown])[], what = 'key'): Uint8Array {
  if (encoding) {
    const flat: unknown[] = [];
    for (const [k, v] of pairs) {
      checkKey(k, what);
      flat.push(k, v);
    }
    return encode(flat);
  }
  encoding = true;
  try {
    startScratch();
    putArrayHeader(pairs.length * 2);
    for (const [k, v] of pairs) putPair(k, v, what);
  } finally {
    encoding = false;
  }
  return sb.subarray(0, sp);
}

/** The argument array of getMany: as encode(keys), keys checked as keyArgs checks them. */
export function keysArgs(keys: readonly unknown[], what = 'key'): Uint8Array {
  if (encoding) {
    for (const k of keys) checkKey(k, what);
    return encode(keys);
  }
  startScratch();
  putArrayHeader(keys.length);
  for (const k of keys) putKey(k, what);
  return sb.subarray(0, sp);
}

function putArrayHeader(n: number): void {
  room(5);
  if (n < 16) {
    sb[sp++] = 0x90 | n;
  } else if (n < 0x10000) {
    sb[sp++] = 0xdc;
    sv.setUint16(sp, n);
    sp += 2;
  } else {
    sb[sp++] = 0xdd;
    sv.setUint32(sp, n);
    sp += 4;
  }
}

/** a itself, or a copy of it when it is a view of the scratch buffer. */
export function owned(a: Uint8Array): Uint8Array {
  return a.buffer === sb.buffer ? a.slice() : a;
}

// ---- decoding

let db: Uint8Array = new Uint8Array(0);
let dp = 0;
let dend = 0;
const f64 = new DataView(new ArrayBuffer(8));
const textDecoder = new TextDecoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keeps a leading U+FEFF, as the library does

/** Decodes bytes without the library, or returns BAIL. */
function fastDecode(bytes: Uint8Array): unknown {
  db = bytes;
  dp = 0;
  dend = bytes.length;
  let v: unknown;
  try {
    v = getValue(0);
  } finally {
    db = EMPTY; // keep no reference to wasm memory
  }
  if (v === BAIL || dp !== dend) return BAIL;
  return v;
}

const EMPTY = new Uint8Array(0);

function u16(): number {
  const v = (db[dp]! << 8) | db[dp + 1]!;
  dp += 2;
  return v;
}

function u32(): number {
  const v = ((db[dp]! << 24) | (db[dp + 1]! << 16) | (db[dp + 2]! << 8) | db[dp + 3]!) >>> 0;
  dp += 4;
  return v;
}

function getStr(n: number): string | typeof BAIL {
  if (dp + n > dend) return BAIL;
  const start = dp;
  if (n <= 64) {
    let ascii = true;
    for (let i = start; i < start + n; i++) {
      if (db[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      dp += n;
      return asciiString(start, n);
    }
  }
  dp += n;
  if (n > 200) return textDecoder.decode(db.subarray(start, start + n)); // as the library decodes it
  // Up to 200 bytes the library decodes by hand, which differs from
  // TextDecoder on invalid UTF-8 (a lone surrogate that Go or the library
  // wrote as three bytes): such a string goes to the library.
  try {
    return strictDecoder.decode(db.subarray(start, start + n));
  } catch {
    return BAIL;
  }
}

const unitsByLen: number[][] = [];

// Map keys repeat from value to value: a small cache of the strings of
// short keys (up to 16 bytes), by a hash of their bytes, saves making (and
// V8 interning) the same string again.
const KEY_SLOTS = 256;
const keyBytes: (Uint8Array | undefined)[] = new Array(KEY_SLOTS);
const keyStrings: string[] = new Array(KEY_SLOTS);

function getKey(n: number): string | typeof BAIL {
  if (dp + n > dend) return BAIL;
  let h = n;
  for (let i = dp; i < dp + n; i++) h = Math.imul(h ^ db[i]!, 0x9e3779b1);
  const slot = (h >>> 24) & (KEY_SLOTS - 1);
  const cached = keyBytes[slot];
  if (cached !== undefined && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached[i] !== db[dp + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      dp += n;
      return keyStrings[slot]!;
    }
  }
  const start = dp;
  const k = getStr(n);
  if (k !== BAIL) {
    keyBytes[slot] = db.slice(start, start + n);
    keyStrings[slot] = k;
  }
  return k;
}

/** The n ASCII bytes at start as a string. */
function asciiString(start: number, n: number): string {
  switch (n) {
    case 0: return '';
    case 1: return String.fromCharCode(db[start]!);
    case 2: return String.fromCharCode(db[start]!, db[start + 1]!);
    case 3: return String.fromCharCode(db[start]!, db[start + 1]!, db[start + 2]!);
    case 4: return String.fromCharCode(db[start]!, db[start + 1]!, db[start + 2]!, db[start + 3]!);
  }
  // An array of exactly n elements, kept per n: setting an array's length
  // costs more than the rest of the decode.
  const u = (unitsByLen[n] ??= new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) u[i] = db[start + i]!;
  return String.fromCharCode(...u);
}

function getValue(depth: number): unknown {
  if (dp >= dend || depth > FAST_DEPTH) return BAIL;
  const c = db[dp++]!;
  if (c < 0x80) return c;
  if (c >= 0xe0) return c - 0x100;
  if (c < 0x90) return getMap(c - 0x80, depth);
  if (c < 0xa0) return getArray(c - 0x90, depth);
  if (c < 0xc0) return getStr(c - 0xa0);
  let n: number;
  switch (c) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: if (dp + 1 > dend) return BAIL; return getBin(db[dp++]!);
    case 0xc5: if (dp + 2 > dend) return BAIL; return getBin(u16());
    case 0xc6: if (dp + 4 > dend) return BAIL; return getBin(u32());
    case 0xca:
      if (dp + 4 > dend) return BAIL;
      for (let i = 0; i < 4; i++) f64.setUint8(i, db[dp + i]!);
      dp += 4;
      return f64.getFloat32(0);
    case 0xcb:
      if (dp + 8 > dend) return BAIL;
      for (let i = 0; i < 8; i++) f64.setUint8(i, db[dp + i]!);
      dp += 8;
      return f64.getFloat64(0);
    case 0xcc: if (dp + 1 > dend) return BAIL; return db[dp++]!;
    case 0xcd: if (dp + 2 > dend) return BAIL; return u16();
    case 0xce: if (dp + 4 > dend) return BAIL; return u32();
    case 0xcf: {
      if (dp + 8 > dend) return BAIL;
      const hi = u32(), lo = u32();
      // Within 2^53 a number, beyond a bigint, as narrow() leaves it.
      return hi < 0x200000 ? hi * 0x100000000 + lo : (BigInt(hi) << 32n) | BigInt(lo);
    }
    case 0xd0: if (dp + 1 > dend) return BAIL; return (db[dp++]! << 24) >> 24;
    case 0xd1: if (dp + 2 > dend) return BAIL; return (u16() << 16) >> 16;
    case 0xd2: if (dp + 4 > dend) return BAIL; return u32() | 0;
    case 0xd3: {
      if (dp + 8 > dend) return BAIL;
      const hi = u32() | 0, lo = u32();
      const v = hi * 0x100000000 + lo;
      if (Number.isSafeInteger(v)) return v;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    case 0xd9: if (dp + 1 > dend) return BAIL; return getStr(db[dp++]!);
    case 0xda: if (dp + 2 > dend) return BAIL; return getStr(u16());
    case 0xdb: if (dp + 4 > dend) return BAIL; return getStr(u32());
    case 0xdc: if (dp + 2 > dend) return BAIL; n = u16(); return getArray(n, depth);
    case 0xdd: if (dp + 4 > dend) return BAIL; n = u32(); return getArray(n, depth);
    case 0xde: if (dp + 2 > dend) return BAIL; n = u16(); return getMap(n, depth);
    case 0xdf: if (dp + 4 > dend) return BAIL; n = u32(); return getMap(n, depth);
  }
  return BAIL; // extension types (Date), 0xc1
}

function getBin(n: number): Uint8Array | typeof BAIL {
  if (dp + n > dend) return BAIL;
  const b = db.slice(dp, dp + n);
  dp += n;
  return b;
}

function getArray(n: number, depth: number): unknown[] | typeof BAIL {
  if (n > dend - dp) return BAIL; // each element takes a byte at least
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const x = getValue(depth + 1);
    if (x === BAIL) return BAIL;
    a[i] = x;
  }
  return a;
}

function getMap(n: number, depth: number): Record<string | number, unknown> | typeof BAIL {
  if (n > (dend - dp) >> 1) return BAIL;
  const o: Record<string | number, unknown> = {};
  for (let i = 0; i < n; i++) {
    // Keys: a string here; anything else (and "__proto__", which the
    // library refuses) goes to the general path and its mapKeyConverter.
    if (dp >= dend) return BAIL;
    const c = db[dp]!;
    let k: unknown;
    if (c >= 0xa0 && c < 0xb1) {
      dp++;
      k = getKey(c - 0xa0);
    } else if (c >= 0xa0 && c < 0xc0) {
      dp++;
      k = getStr(c - 0xa0);
    } else if (c === 0xd9 && dp + 1 < dend) {
      dp++;
      k = getStr(db[dp++]!);
    } else {
      return BAIL;
    }
    if (k === BAIL || k === '__proto__') return BAIL;
    const x = getValue(depth + 1);
    if (x === BAIL) return BAIL;
    o[k as string] = x;
  }
  return o;
}

/**
 * Checks that k is a Key (see the Key type), so that it has one canonical
 * encoding. Throws DbrsError 'BadValue' naming the offending part.
 */
// A lone UTF-16 surrogate: msgpack's UTF-8 encoding turns it into U+FFFD
// (or invalid bytes), so distinct JS strings would share one key.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkKey(k: unknown, what = 'key'): void {
  switch (typeof k) {
    case 'string':
      if (loneSurrogate.test(k)) {
        throw new DbrsError('BadValue', `dbrs: a ${what} string must be well-formed UTF-16 (it has a lone surrogate)`);
      }
      return;
    case 'number':
      if (!Number.isSafeInteger(k)) {
        throw new DbrsError('BadValue', `dbrs: a ${what} number must be an integer within ±(2^53-1) (use a bigint beyond that); got ${String(k)}`);
      }
      return;
    case 'bigint':
    case 'boolean':
      return;
    case 'object':
      if (k === null || k instanceof Uint8Array) return;
      if (Array.isArray(k)) {
        for (const x of k) checkKey(x, what);
        return;
      }
  }
  throw new DbrsError('BadValue', `dbrs: a ${what} must be a string, number, bigint, boolean, null, Uint8Array or an array of those; got ${describe(k)}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v !== 'object') return typeof v;
  const c = (v as object).constructor;
  return c && c.name ? c.name : 'object';
}
