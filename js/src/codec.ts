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

/** Decodes one msgpack value. Throws DbrsError 'BadValue' on malformed input or a map key JS cannot hold. */
export function decode(bytes: Uint8Array): unknown {
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
