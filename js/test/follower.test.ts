import { test } from 'node:test';
import assert from 'node:assert/strict';
import { before, parseMessage, tabsSupported } from '../src/follower.js';
import { FakeBridge } from './fake-bridge.js';

const rec = Uint8Array.of(1, 2, 3, 4);

test('parseMessage accepts every message shape of the tab protocol', () => {
  const good: unknown[] = [
    { v: 1, t: 'hello', from: 'a' },
    { v: 1, t: 'leader', from: 'a', segment: 1, offset: 40 },
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 44, record: rec, tables: ['users'], at: 1.5 },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [{ table: 'users', op: 'insert', args: rec }], tx: true, base: [1, 40], reads: ['users'] },
    { v: 1, t: 'req', from: 'b', id: 2, ops: [{ table: 'users', op: 'clear', args: rec }], tx: false, base: null, reads: [] },
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
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 48, record: rec, tables: [], at: 0 }, // record shorter than its span
    { v: 1, t: 'commit', from: 'a', segment: 1, offset: 40, end: 44, record: [1, 2, 3, 4], tables: [], at: 0 },
    { v: 1, t: 'commit', from: 'a', segment: 1.5, offset: 40, end: 44, record: rec, tables: [], at: 0 },
    { v: 1, t: 'req', from: 'b', id: 0, ops: [{ table: 't', op: 'insert', args: rec }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [{ table: 't', op: 'insert', args: 'x' }], tx: false, base: null, reads: [] },
    { v: 1, t: 'req', from: 'b', id: 1, ops: [null], tx: false, base: null, reads: [] },
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
