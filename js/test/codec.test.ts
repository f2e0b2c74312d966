import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, decode, checkKey } from '../src/codec.js';
import { DbrsError } from '../src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('integers use the most compact msgpack encoding', () => {
  const cases: [unknown, string][] = [
    [0, '00'],
    [-0, '00'],
    [5, '05'],
    [127, '7f'],
    [128, 'cc80'],
    [300, 'cd012c'],
    [65536, 'ce00010000'],
    [2 ** 32, 'cf0000000100000000'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0df'],
    [-129, 'd1ff7f'],
    [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'],
  ];
  for (const [v, want] of cases) assert.equal(hex(encode(v)), want, `encode(${String(v)})`);
});

test('bigint encodes like the same integer as a number, and 64-bit beyond 2^53', () => {
  assert.equal(hex(encode(5n)), '05');
  assert.equal(hex(encode(-33n)), 'd0df');
  assert.equal(hex(encode(2n ** 32n)), hex(encode(2 ** 32)));
  assert.equal(hex(encode(2n ** 60n)), 'cf1000000000000000');
  assert.equal(hex(encode(-(2n ** 60n))), 'd3f000000000000000');
  assert.equal(hex(encode(2n ** 64n - 1n)), 'cfffffffffffffffff');
  assert.equal(hex(encode([1n, { a: 2n }])), hex(encode([1, { a: 2 }])));
  assert.throws(() => encode(2n ** 64n), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
  assert.throws(() => encode(-(2n ** 63n) - 1n), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
});

test('non-integers and unsafe integer numbers are float64', () => {
  assert.equal(hex(encode(1.5)), 'cb3ff8000000000000');
  assert.equal(encode(2 ** 60)[0], 0xcb);
});

test('int64 beyond 2^53 decodes as bigint, within as number', () => {
  assert.equal(decode(Uint8Array.from(Buffer.from('cf0000000100000000', 'hex'))), 2 ** 32);
  assert.equal(decode(Uint8Array.from(Buffer.from('d3ffffffff7fffffff', 'hex'))), -(2 ** 31) - 1);
  assert.equal(decode(Uint8Array.from(Buffer.from('cf1000000000000000', 'hex'))), 2n ** 60n);
  assert.equal(decode(Uint8Array.from(Buffer.from('d3f000000000000000', 'hex'))), -(2n ** 60n));
  assert.equal(decode(encode(2n ** 64n - 1n)), 2n ** 64n - 1n);
});

test('object keys are sorted and undefined properties dropped', () => {
  assert.equal(hex(encode({ b: 1, a: 2 })), hex(encode({ a: 2, b: 1 })));
  assert.equal(hex(encode({ a: 1, z: undefined })), hex(encode({ a: 1 })));
  assert.deepEqual(decode(encode({ name: 'x', n: 3, tags: ['a'], bin: Uint8Array.of(1, 2) })), {
    name: 'x', n: 3, tags: ['a'], bin: Uint8Array.of(1, 2),
  });
});

test('Map encodes as a msgpack map; Set and functions are refused', () => {
  assert.equal(hex(encode(new Map([[1, 'a']]))), '8101a161');
  assert.deepEqual(decode(encode(new Map([[1, 'a']]))), { 1: 'a' });
  assert.throws(() => encode(new Set([1])), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
  assert.throws(() => encode(() => 1), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
});

test('Date round-trips through the timestamp extension', () => {
  const d = new Date(1700000000123);
  assert.deepEqual(decode(encode(d)), d);
});

test('checkKey accepts primitives, bytes and tuples, refuses objects', () => {
  for (const k of ['s', 1, -7, 2n, true, null, Uint8Array.of(1), ['a', 1, [2n]]]) checkKey(k);
  for (const k of [1.5, NaN, Infinity, 2 ** 60, ['a', 0.5]]) assert.throws(() => checkKey(k), /integer/);
  for (const k of [{ a: 1 }, undefined, new Map(), new Date(), [{}], Symbol('x')]) {
    assert.throws(() => checkKey(k), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue', String(k));
  }
});

test('integers beyond 32 bits: a number and a bigint of the same value are one encoding, and decode back', () => {
  for (const [n, b] of [[2 ** 40, 2n ** 40n], [-(2 ** 40), -(2n ** 40n)], [2 ** 32, 2n ** 32n], [-(2 ** 31) - 1, -(2n ** 31n) - 1n]] as const) {
    assert.equal(hex(encode(n)), hex(encode(b)), String(n));
    assert.equal(decode(encode(n)), n);
  }
  assert.equal(hex(encode(2 ** 40)), 'cf0000010000000000');
  // Nested: the walk narrows inside objects and arrays too.
  assert.deepEqual(decode(encode({ a: [2 ** 40, { b: -(2 ** 40) }], m: new Map([[2 ** 40, 'x']]) })), {
    a: [2 ** 40, { b: -(2 ** 40) }], m: { [2 ** 40]: 'x' },
  });
  assert.equal(hex(encode(new Map([[1, [new Map([['k', 2n]])]]]))), '81019181a16b02');
  assert.throws(() => encode([{ s: new Set([1]) }]), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
  assert.throws(() => encode({ f: Symbol('x') }), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
});
