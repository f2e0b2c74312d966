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

// @msgpack/msgpack's Encoder has no hook for bigint narrowing or Map; we
// patch two internal methods on our own instance (the version is pinned in
// package-lock.json and test/codec.test.ts checks the byte output).
interface EncoderInternals {
  doEncode(object: unknown, depth: number): void;
  encodeNumber(n: number): void;
  encodeBigInt64(n: bigint): void;
  writeU8(v: number): void;
  writeU16(v: number): void;
  writeU32(v: number): void;
}
interface DecoderInternals {
  readU64AsBigInt(): bigint | number;
  readI64AsBigInt(): bigint | number;
}

function newEncoder(): Encoder {
  const enc = new Encoder({ sortKeys: true, ignoreUndefined: true });
  const e = enc as unknown as EncoderInternals;
  const base = e.doEncode;
  e.doEncode = function (this: EncoderInternals, object: unknown, depth: number): void {
    if (typeof object === 'bigint') {
      if (object >= MIN_SAFE && object <= MAX_SAFE) {
        this.encodeNumber(Number(object));
      } else if (object > MAX_U64 || object < MIN_I64) {
        throw new DbrsError('BadValue', `dbrs: bigint ${object} does not fit in 64 bits`);
      } else {
        this.encodeBigInt64(object);
      }
      return;
    }
    if (object instanceof Map) {
      const size = object.size;
      if (size < 16) this.writeU8(0x80 + size);
      else if (size < 0x10000) { this.writeU8(0xde); this.writeU16(size); }
      else { this.writeU8(0xdf); this.writeU32(size); }
      for (const [k, v] of object) {
        this.doEncode(k, depth + 1);
        this.doEncode(v, depth + 1);
      }
      return;
    }
    if (object instanceof Set) {
      throw new DbrsError('BadValue', 'dbrs: a Set cannot be stored; use an array or a lookupSet');
    }
    base.call(this, object, depth);
  };
  return enc;
}

function newDecoder(): Decoder {
  const dec = new Decoder({
    useBigInt64: true,
    mapKeyConverter: (k: unknown): string | number => {
      if (typeof k === 'string' || typeof k === 'number') return k;
      if (typeof k === 'bigint') return k.toString();
      throw new DbrsError('BadValue', `dbrs: a msgpack map key of type ${typeof k} cannot become a JS object key`);
    },
  });
  const d = dec as unknown as DecoderInternals;
  const u64 = d.readU64AsBigInt, i64 = d.readI64AsBigInt;
  d.readU64AsBigInt = function (this: DecoderInternals) {
    const v = u64.call(this) as bigint;
    return v <= MAX_SAFE ? Number(v) : v;
  };
  d.readI64AsBigInt = function (this: DecoderInternals) {
    const v = i64.call(this) as bigint;
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  };
  return dec;
}

const encoder = newEncoder();
const decoder = newDecoder();

function wrap(e: unknown, what: string): DbrsError {
  if (e instanceof DbrsError) return e;
  return new DbrsError('BadValue', `dbrs: cannot ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Encodes any JS value. Throws DbrsError 'BadValue' for what msgpack cannot hold. */
export function encode(value: unknown): Uint8Array {
  try {
    return encoder.encode(value);
  } catch (e) {
    throw wrap(e, 'encode value');
  }
}

/** Decodes one msgpack value. Throws DbrsError 'BadValue' on malformed input or a map key JS cannot hold. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw wrap(e, 'decode value');
  }
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
