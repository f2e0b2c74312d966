// Regression tests for bugs found in review.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge } from './fake-bridge.js';
import { open, lookupTable, DbrsError } from '../src/index.js';

const g = globalThis as { __dbrs?: unknown };
beforeEach(() => {
  g.__dbrs = new FakeBridge();
});

test('keys with a lone surrogate are refused, so distinct strings never share a key', async () => {
  const db = await open('surrogates', { t: lookupTable<string, number>() });
  const pad = 'x'.repeat(60);
  for (const k of [pad + '\uD800', pad + '\uDC00', '\uD800', '\uDC00x', 'a\uDBFF']) {
    await assert.rejects(db.tables.t.insert(k, 1), (e: unknown) => e instanceof DbrsError && e.code === 'BadValue', JSON.stringify(k));
  }
  await db.tables.t.insert(pad + '\uD83D\uDE00', 2); // a well-formed pair is fine
  await db.tables.t.insert(pad + '\uFFFD', 3);
  assert.equal(db.tables.t.len(), 2);
});

test('a transaction callback result whose then getter throws is rolled back', async () => {
  const fake = g.__dbrs as FakeBridge;
  const db = await open('thenthrows', { t: lookupTable<string, number>() });
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  await assert.rejects(db.transaction((tx) => {
    tx.t.insert('ghost', 1);
    return proxy as never;
  }));
  assert.equal(db.tables.t.get('ghost'), undefined, 'the write is undone');
  assert.equal(fake.begin(1), null, 'the bridge transaction was ended');
});
