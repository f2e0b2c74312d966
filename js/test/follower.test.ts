import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppliedRequests, before, olderThan, parseMessage, tabsSupported } from '../src/follower.js';
import { decode, encode } from '../src/codec.js';
import { FakeBridge } from './fake-bridge.js';

const rec = Uint8Array.of(1, 2, 3, 4);

test('parseMessage accepts every message shape of the tab protocol', () => {
  const good: unknown[] = [
    { v: 1, t: 'hello', from: 'a' },
    { v: 1, t: 'leader', from: 'a', segment: 1, offset: 40 },
    { v: 1, t: 'leader', from: 'a', segment: 1, offset: 40, version: 3 },
    { v: 1, t: 'hello', from: 'a', version: null },
    { v: 1, t: 'versionchange', from: 'c', version: 2 },
    { v: 1, t: 'bye', from: 'b' },
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 44, record: rec, tables: ['users'], at: 1.5 },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [{ table: 'users', op: 'insert', args: rec }], tx: true, base: [1, 40], reads: ['users'] },
    { v: 1, t: 'req', from: 'b', id: 2, ops: [{ table: 'users', op: 'clear', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 3, ack: 2, ops: [{ table: 'users', op: 'clear', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'res', from: 'a', to: 'b', id: 1, ok: true, results: rec, pos: [1, 44] },
    { v: 1, t: 'res', from: 'a', to: 'b', id: 2, ok: false, code: 'NotFound', message: 'dbrs: x', pos: [1, 44] },
  ];
  for (const m of good) {
    const p = parseMessage(m);
    assert.notEqual(typeof p, 'string', `refused ${JSON.stringify(m)}: ${String(p)}`);
    assert.equal((p as { t: string }).t, (m as { t: string }).t);
  }
});

test('parseMessage refuses hostile messages with a reason, never a throw', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const bad: unknown[] = [
    null, 42, 'hello', [], revoked.proxy,
    { v: 2, t: 'hello', from: 'a' },
    { v: 1, t: 'hello' },
    { v: 1, t: 'nope', from: 'a' },
    { v: 1, t: 'leader', from: 'a', segment: -1, offset: 0 },
    { v: 1, t: 'hello', from: 'a', version: -1 },
    { v: 1, t: 'hello', from: 'a', version: '2' },
    { v: 1, t: 'versionchange', from: 'c' },
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 48, record: rec, tables: [], at: 0 }, // record shorter than its span
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 44, record: [1, 2, 3, 4], tables: [], at: 0 },
    { v: 1, t: 'commit', from: 'a', segment: 1.5, offset: 40, end: 44, record: rec, tables: [], at: 0 },
    { v: 1, t: 'req', from: 'b', id: 0, ops: [{ table: 't', op: 'insert', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [{ table: 't', op: 'insert', args: 'x' }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [null], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ack: 2, ops: [{ table: 't', op: 'insert', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 3, ack: -1, ops: [{ table: 't', op: 'insert', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [{ table: 't', op: 'insert', args: rec }], tx: true, base: [1], reads: [] },
    { v: 1, t: 'res', from: 'a', to: 'b', id: 1, ok: true, pos: [1, 2] },
    { v: 1, t: 'res', from: 'a', to: 'b', id: 1, ok: false, pos: [1, 2] },
  ];
  bad.forEach((m, i) => {
    const p = parseMessage(m);
    assert.equal(typeof p, 'string', `accepted bad message ${i}`);
  });
});

test('positions order by segment, then offset', () => {
  assert.ok(before([1, 10], [1, 11]));
  assert.ok(before([1, 99], [2, 0]));
  assert.ok(!before([2, 0], [1, 99]));
  assert.ok(!before([1, 10], [1, 10]));
});

test('a bridge without the follow methods keeps one tab at a time', () => {
  assert.equal(tabsSupported(new FakeBridge()), false);
});

test('a request without ack (an older shim) acks every id below its own', () => {
  const p = parseMessage({ v: 1, t: 'req', from: 'b', id: 7, ops: [{ table: 't', op: 'clear', args: rec }], tx: false, base: null, reads: [] });
  assert.equal((p as { ack: number }).ack, 7);
});

// Stored and read back as the leader does: encode, then decode.
const roundTrip = (a: AppliedRequests) => AppliedRequests.decode(encode(a.value()));
const res = (n: number) => Uint8Array.of(0x91, n);

test('applied requests answer each id with its own results, whatever the order they ran in', () => {
  // Two requests in flight (ack 1 on both); 2 runs first, as after a failover.
  let a = roundTrip(AppliedRequests.none.with(2, res(2), 1));
  assert.equal(a.find(1), 'run');
  a = roundTrip(a.with(1, res(1), 1));
  assert.deepEqual(a.find(1), res(1));
  assert.deepEqual(a.find(2), res(2));
  assert.equal(a.find(3), 'run');
});

test('applied requests are kept until their sender acks them, then dropped as gone', () => {
  let a = AppliedRequests.none.with(1, res(1), 1).with(2, res(2), 1).with(3, res(3), 1);
  a = roundTrip(a.with(4, res(4), 3)); // 1 and 2 were answered
  assert.equal(a.find(1), 'gone');
  assert.equal(a.find(2), 'gone');
  assert.deepEqual(a.find(3), res(3));
  assert.deepEqual(a.find(4), res(4));
  assert.deepEqual([...a.done.keys()], [3, 4]);
  // A late, smaller ack never lowers the floor.
  a = a.with(5, res(5), 2);
  assert.equal(a.floor, 3);
  assert.equal(a.find(2), 'gone');
});

test('applied requests read the older one-request form and refuse malformed entries as none', () => {
  const old = AppliedRequests.decode(encode([5, res(5)]));
  assert.deepEqual(old.find(5), res(5));
  assert.equal(old.find(4), 'gone');
  assert.equal(old.find(6), 'run');
  const warn = console.warn;
  const warned: unknown[] = [];
  console.warn = (...x: unknown[]) => warned.push(x);
  try {
    for (const bad of [encode('x'), encode([1, [2]]), encode([1, ['a', res(1)]]), Uint8Array.of(0xc1)]) {
      assert.equal(AppliedRequests.decode(bad).find(1), 'run');
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(warned.length, 4);
  assert.deepEqual(decode(encode(AppliedRequests.none.value())), [0, []]);
});

test('a tab gives way to a newer version, and a tab without one to any', () => {
  assert.ok(olderThan(1, 2));
  assert.ok(olderThan(null, 0));
  assert.ok(!olderThan(2, 2));
  assert.ok(!olderThan(3, 2));
});
