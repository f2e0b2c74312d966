import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder } from '@msgpack/msgpack';
import { encode, decode, checkKey, keyArgs, keysArgs, keyValueArgs, owned, pairsArgs } from '../src/codec.js';
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

// The fast paths (keyArgs, keyValueArgs, and decode's own decoder) must give
// exactly what the general path gives: these values cover each branch, and
// those they hand to the general path.
const SAMPLE_VALUES: unknown[] = [
  0, -0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER,
  -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40), Number.MIN_SAFE_INTEGER,
  1.5, -0.25, NaN, Infinity, -Infinity, 2 ** 60, 1e300,
  '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70000), 'héllo', '日本語'.repeat(20), '😀', 'a\uD800b', '\uFEFFbom', '\uFEFF' + 'b'.repeat(300),
  true, false, null, undefined,
  [], [1, 'a', [2, [3]]], new Array(16).fill(1), new Array(70000).fill(0), [undefined, null],
  {}, { b: 1, a: 2 }, { z: undefined, a: 1 }, { name: 'user-1', n: 1, tags: ['a', 'b'] }, { '10': 1, '9': 2, b: 3 },
  Object.fromEntries(Array.from({ length: 20 }, (_, i) => ['k' + i, i])),
  Uint8Array.of(), Uint8Array.of(1, 2, 3), new Uint8Array(300), new Uint8Array(70000),
  5n, 2n ** 60n, -(2n ** 60n), new Date(1700000000123), new Map([[1, 'a']]), { m: new Map([['k', 2n]]) }, new Int16Array([1, 2]),
  { deep: JSON.parse('['.repeat(60) + ']'.repeat(60)) },
];

test('keyValueArgs encodes as encode([k, v]) does', () => {
  for (const v of SAMPLE_VALUES) {
    for (const k of ['k00000001', 'héllo', 7, -300, 2 ** 40, [1, 'a'], Uint8Array.of(9), 5n, true, null]) {
      assert.equal(hex(keyValueArgs(k, v)), hex(encode([k, v])), `${String(k)} → ${String(v)}`);
    }
  }
});

test('pairsArgs encodes as encode of the flat pairs does, at every array header size', () => {
  const keys = ['k00000001', 'héllo', 7, -300, 2 ** 40, [1, 'a'], Uint8Array.of(9), 5n, true, null];
  const pairs: [unknown, unknown][] = SAMPLE_VALUES.map((v, i) => [keys[i % keys.length], v]);
  for (const n of [0, 1, 7, 8, 9, pairs.length, 32767, 32768, 40000]) {
    const ps = Array.from({ length: n }, (_, i) => (i < pairs.length ? pairs[i]! : (['k' + i, i] as [unknown, unknown])));
    assert.equal(hex(pairsArgs(ps)), hex(encode(ps.flat())), `${n} pairs`);
  }
  assert.throws(() => pairsArgs([['a', 1], [1.5, 2]]), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
});

test('keysArgs encodes as encode(keys) does, and refuses what checkKey refuses', () => {
  const keys = ['', 'k1', 'x'.repeat(40), 'é', '😀', 0, 1, -1, 2 ** 40, Number.MAX_SAFE_INTEGER, 5n, [1, ['a']], true, null, Uint8Array.of(1)];
  for (const n of [0, 1, 15, 16, 65535, 65536]) {
    const ks = Array.from({ length: n }, (_, i) => keys[i % keys.length]);
    assert.equal(hex(keysArgs(ks)), hex(encode(ks)), `${n} keys`);
  }
  assert.throws(() => keysArgs(['a', 1.5]), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue');
});

test('keyArgs encodes as encode([k]) does, and refuses what checkKey refuses', () => {
  for (const k of ['', 'k1', 'x'.repeat(40), 'é', '😀', 0, 1, -1, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, 5n, [1, ['a']], true, null, Uint8Array.of(1)]) {
    assert.equal(hex(keyArgs(k)), hex(encode([k])), String(k));
  }
  for (const k of ['a\uD800', 1.5, NaN, 2 ** 60, { a: 1 }, undefined]) {
    assert.throws(() => keyArgs(k), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue', String(k));
  }
  assert.throws(() => keyValueArgs('a\uDC00', 1, 'set member'), /set member/);
});

test('a scratch buffer grown by a large batch is not kept', () => {
  const big = keysArgs(Array.from({ length: 20000 }, (_, i) => 'k' + i));
  assert.ok(big.buffer.byteLength > 1 << 16, 'the batch grew the scratch buffer');
  const small = keyArgs('a');
  assert.notEqual(small.buffer, big.buffer);
  assert.ok(small.buffer.byteLength <= 1 << 16, `kept ${small.buffer.byteLength} bytes`);
});

test('keyArgs returns a scratch view; owned copies it', () => {
  const a = keyArgs('abc');
  const o = owned(a);
  assert.notEqual(o.buffer, a.buffer);
  keyArgs('xyz');
  assert.equal(hex(o), hex(encode(['abc'])));
  const e = encode([1]);
  assert.equal(owned(e), e);
});

test('decode gives what the library gives', () => {
  const lib = new Decoder({ useBigInt64: true, mapKeyConverter: (k: unknown) => (typeof k === 'bigint' ? Number(k) : k) as string });
  for (const v of SAMPLE_VALUES) {
    let b: Uint8Array;
    try {
      b = encode(v);
    } catch {
      continue;
    }
    const got = decode(b);
    let want = lib.decode(b.slice());
    want = JSON.parse(JSON.stringify(want, (_, x) => (typeof x === 'bigint' ? (x >= -(2n ** 53n) && x <= 2n ** 53n ? Number(x) : `${x}n`) : x)));
    const norm = JSON.parse(JSON.stringify(got, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)));
    assert.deepEqual(norm, want, String(v));
  }
  assert.equal(decode(encode(2n ** 60n)), 2n ** 60n);
  assert.equal(decode(encode(-(2n ** 60n))), -(2n ** 60n));
  assert.equal(decode(encode(-(2 ** 40))), -(2 ** 40));
  assert.ok(Number.isNaN(decode(encode(NaN))));
  assert.equal(decode(Uint8Array.of(0xca, 0x3f, 0xc0, 0, 0)), 1.5);
  assert.deepEqual(decode(Uint8Array.of(0x81, 0x01, 0xa1, 0x61)), { 1: 'a' }); // an int map key: the library's path
});

test('decode refuses what the library refuses', () => {
  for (const h of ['', 'c1', '92', 'a3616263ff', '0000', 'd9', '81a95f5f70726f746f5f5f01']) {
    assert.throws(() => decode(Uint8Array.from(Buffer.from(h, 'hex'))), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue', h);
  }
});

test('a decoded bin is a copy, not a view of the input', () => {
  const b = encode({ bin: Uint8Array.of(1, 2, 3) });
  const v = decode(b) as { bin: Uint8Array };
  b.fill(0);
  assert.deepEqual([...v.bin], [1, 2, 3]);
  const d = encode([new Date(5)]);
  assert.deepEqual(decode(d), [new Date(5)]);
});

test('a getter that reads while keyValueArgs encodes does not overwrite its buffer', () => {
  let inner: Uint8Array | undefined;
  const v = {
    a: 1,
    get b() {
      inner = keyArgs('other-key');
      keyValueArgs('k2', { x: 'y' });
      return 2;
    },
  };
  assert.equal(hex(keyValueArgs('k', v)), hex(encode(['k', { a: 1, b: 2 }])));
  assert.equal(hex(inner!), hex(encode(['other-key'])));
});
