// Unit tests of the shim against the in-memory fake bridge (fake-bridge.ts).
// The real engine is exercised in Chromium by the Go e2e tests.

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, bridgeError } from './fake-bridge.js';
import {
  open, deleteDatabase, DbrsError, single, list, lookupTable, lookupList, lookupSet, lookupMap,
  type DB, type ErrorCode,
} from '../src/index.js';

interface Account {
  name: string;
  balance: number;
}

const schema = {
  owner: single<string>(),
  admins: list<string>(),
  users: lookupTable<string, Account>(),
  history: lookupList<string, number>(),
  tags: lookupSet<string, string>(),
  grid: lookupMap<number, [number, number], string>(),
};

let fake: FakeBridge;
let n = 0;
const g = globalThis as { __dbrs?: unknown };

beforeEach(() => {
  fake = new FakeBridge();
  g.__dbrs = fake;
});

async function fresh(): Promise<DB<typeof schema>> {
  return open(`db${n++}`, schema);
}

function code(c: ErrorCode) {
  return (e: unknown) => {
    assert.ok(e instanceof DbrsError, `expected DbrsError, got ${String(e)}`);
    assert.equal(e.code, c, e.message);
    assert.ok(e.message.startsWith('dbrs: '), e.message);
    return true;
  };
}

test('single: insert, get, clear', async () => {
  const db = await fresh();
  assert.equal(db.tables.owner.get(), undefined);
  await db.tables.owner.insert('parth');
  assert.equal(db.tables.owner.get(), 'parth');
  await db.tables.owner.clear();
  assert.equal(db.tables.owner.get(), undefined);
  await db.tables.owner.clear();
});

test('writes apply to memory before their Promise settles', async () => {
  const db = await fresh();
  const p = db.tables.users.insert('a', { name: 'A', balance: 1 });
  assert.deepEqual(db.tables.users.get('a'), { name: 'A', balance: 1 });
  await p;
});

test('list: all ops and their errors', async () => {
  const db = await fresh();
  const l = db.tables.admins;
  await l.push('a');
  await l.push('c');
  await l.insertAt(1, 'b');
  assert.deepEqual(l.all(), ['a', 'b', 'c']);
  assert.equal(l.len(), 3);
  assert.equal(l.at(1), 'b');
  assert.equal(l.at(3), undefined);
  assert.throws(() => l.at(-1), code('Index'));
  assert.throws(() => l.at(1.5), code('Index'));
  assert.throws(() => l.at('zero' as unknown as number), code('Index'));
  await l.setAt(0, 'A');
  await l.removeAt(1);
  assert.deepEqual(l.all(), ['A', 'c']);
  assert.equal(await l.pop(), 'c');
  await assert.rejects(l.removeAt(5), code('Index'));
  await assert.rejects(l.setAt(1, 'x'), code('Index'));
  await assert.rejects(l.insertAt(3, 'x'), code('Index'));
  await assert.rejects(l.removeAt(-1), code('Index'));
  await assert.rejects(l.removeAt(0.5), code('Index'));
  assert.deepEqual(l.all(), ['A'], 'failed ops wrote nothing');
  await l.clear();
  await assert.rejects(l.pop(), code('Empty'));
  assert.equal(fake.commitCount(db.name), 7, 'one commit per successful write, none for failures');
});

test('lookupTable: ops, byte order, NotFound', async () => {
  const db = await fresh();
  const u = db.tables.users;
  await u.insert('bob', { name: 'Bob', balance: 5 });
  await u.insert('al', { name: 'Al', balance: -2 });
  await u.insert('carla', { balance: 7, name: 'Carla' });
  assert.equal(u.len(), 3);
  assert.ok(u.has('bob'));
  assert.ok(!u.has('dave'));
  assert.equal(u.get('dave'), undefined);
  // msgpack order: length first, so 'al' < 'bob' < 'carla'.
  assert.deepEqual(u.keys(), ['al', 'bob', 'carla']);
  assert.deepEqual(u.entries().map(([k, v]) => [k, v.balance]), [['al', -2], ['bob', 5], ['carla', 7]]);
  await u.remove('bob');
  await assert.rejects(u.remove('bob'), code('NotFound'));
  await u.insert('al', { name: 'Al', balance: 3 });
  assert.equal(u.get('al')?.balance, 3);
  await u.clear();
  assert.equal(u.len(), 0);
});

test('returned values are copies', async () => {
  const db = await fresh();
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  const v = db.tables.users.get('a')!;
  v.balance = 99;
  assert.equal(db.tables.users.get('a')!.balance, 1);
});

test('lookupList: push, get, removeAt, clearKey', async () => {
  const db = await fresh();
  const h = db.tables.history;
  await h.push('x', 1);
  await h.push('x', 2);
  await h.push('y', 3);
  assert.deepEqual(h.get('x'), [1, 2]);
  assert.deepEqual(h.get('nope'), []);
  assert.deepEqual(h.keys(), ['x', 'y']);
  await h.removeAt('x', 0);
  assert.deepEqual(h.get('x'), [2]);
  await assert.rejects(h.removeAt('x', 1), code('Index'));
  await assert.rejects(h.removeAt('nope', 0), code('NotFound'));
  await h.removeAt('x', 0);
  assert.deepEqual(h.keys(), ['y'], 'a key disappears with its last element');
  await h.clearKey('y');
  await h.clearKey('y');
  await h.push('z', 1);
  await h.clear();
  assert.deepEqual(h.keys(), []);
});

test('lookupSet: insert is idempotent, members in byte order', async () => {
  const db = await fresh();
  const t = db.tables.tags;
  await t.insert('i1', 'urgent');
  await t.insert('i1', 'bug');
  await t.insert('i1', 'bug');
  assert.deepEqual(t.get('i1'), ['bug', 'urgent']);
  assert.ok(t.has('i1', 'bug'));
  assert.ok(!t.has('i1', 'nope'));
  assert.ok(!t.has('i2', 'bug'));
  await assert.rejects(t.remove('i1', 'nope'), code('NotFound'));
  await assert.rejects(t.remove('i2', 'bug'), code('NotFound'));
  await t.remove('i1', 'bug');
  await t.remove('i1', 'urgent');
  assert.deepEqual(t.keys(), []);
});

test('lookupMap: tuple keys, getInner, NotFound', async () => {
  const db = await fresh();
  const m = db.tables.grid;
  await m.insert(1, [0, 0], 'origin');
  await m.insert(1, [2, 1], 'b');
  await m.insert(2, [0, 0], 'c');
  assert.equal(m.get(1, [0, 0]), 'origin');
  assert.equal(m.get(1, [9, 9]), undefined);
  const inner = m.getInner(1);
  assert.deepEqual([...inner.entries()], [[[0, 0], 'origin'], [[2, 1], 'b']]);
  assert.equal(m.getInner(7).size, 0);
  assert.deepEqual(m.keys(), [1, 2]);
  await assert.rejects(m.remove(1, [5, 5]), code('NotFound'));
  await m.remove(2, [0, 0]);
  assert.deepEqual(m.keys(), [1]);
  await m.clearKey(1);
  assert.deepEqual(m.keys(), []);
});

test('equal keys are equal whatever their JS form', async () => {
  const k = {
    a: lookupTable<[string, bigint], number>(),
    n: lookupTable<number | bigint, string>(),
  };
  const db = await open('keys', k);
  await db.tables.a.insert(['x', 5n], 1);
  assert.equal(db.tables.a.get(['x', 5n]), 1);
  await db.tables.n.insert(7, 'seven');
  assert.equal(db.tables.n.get(7n), 'seven', 'number 7 and bigint 7n are one key');
  await db.tables.n.insert(2n ** 60n, 'big');
  assert.equal(db.tables.n.get(2n ** 60n), 'big');
  assert.deepEqual(db.tables.n.keys(), [7, 2n ** 60n]);
  assert.equal(db.tables.n.len(), 2);
});

test('object keys are refused at run time too', async () => {
  const db = await fresh();
  const users = db.tables.users as unknown as { insert(k: unknown, v: unknown): Promise<void>; get(k: unknown): unknown };
  await assert.rejects(users.insert({ id: 1 }, { name: 'x', balance: 0 }), code('BadValue'));
  assert.throws(() => users.get({ id: 1 }), code('BadValue'));
  assert.throws(() => users.get(undefined), code('BadValue'));
});

test('transaction: atomic, read-your-writes, returns the callback value once durable', async () => {
  const db = await fresh();
  const before = fake.commitCount(db.name);
  const r = await db.transaction((tx) => {
    tx.users.insert('a', { name: 'A', balance: 10 });
    tx.users.insert('b', { name: 'B', balance: 0 });
    const a = tx.users.get('a')!;
    tx.users.insert('a', { ...a, balance: a.balance - 4 });
    tx.users.insert('b', { ...tx.users.get('b')!, balance: 4 });
    tx.admins.push('a');
    assert.equal(tx.admins.len(), 1);
    return tx.users.len();
  });
  assert.equal(r, 2);
  assert.equal(fake.commitCount(db.name), before + 1, 'one commit record');
  assert.equal(db.tables.users.get('a')!.balance, 6);
  assert.equal(db.tables.users.get('b')!.balance, 4);
});

test('transaction: a throw rolls everything back and rejects with the same error', async () => {
  const db = await fresh();
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  const boom = new Error('boom');
  await assert.rejects(
    db.transaction((tx) => {
      tx.users.insert('a', { name: 'A', balance: 1000 });
      tx.users.remove('a');
      tx.admins.push('x');
      tx.owner.insert('me');
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(db.tables.users.get('a'), { name: 'A', balance: 1 });
  assert.deepEqual(db.tables.admins.all(), []);
  assert.equal(db.tables.owner.get(), undefined);
  assert.equal(fake.commitCount(db.name), 1);
});

test('transaction: a failing op throws synchronously, changes nothing, and may be caught', async () => {
  const db = await fresh();
  await db.transaction((tx) => {
    tx.admins.push('a');
    assert.throws(() => tx.admins.removeAt(3), code('Index'));
    assert.throws(() => tx.users.remove('ghost'), code('NotFound'));
    assert.throws(() => tx.history.removeAt('ghost', 0), code('NotFound'));
    assert.equal(tx.admins.pop(), 'a');
    assert.throws(() => tx.admins.pop(), code('Empty'));
    tx.admins.push('b');
  });
  assert.deepEqual(db.tables.admins.all(), ['b']);
});

test('transaction: an uncaught op error rolls back and rejects with it', async () => {
  const db = await fresh();
  await assert.rejects(
    db.transaction((tx) => {
      tx.admins.push('a');
      tx.users.remove('ghost');
    }),
    code('NotFound'),
  );
  assert.deepEqual(db.tables.admins.all(), []);
});

test('transaction: an async callback is rolled back with a TypeError', async () => {
  const db = await fresh();
  let late: unknown;
  await assert.rejects(
    // @ts-expect-error: async callbacks do not compile either
    db.transaction(async (tx) => {
      tx.admins.push('a');
      await null;
      try {
        tx.admins.push('late');
      } catch (e) {
        late = e;
      }
    }),
    (e: unknown) => e instanceof TypeError && /synchronous/.test(e.message),
  );
  assert.deepEqual(db.tables.admins.all(), []);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(late instanceof DbrsError && late.code === 'TxClosed', 'the tx handle is dead after the callback');
  assert.deepEqual(db.tables.admins.all(), []);
});

test('transaction: an empty transaction resolves and writes nothing', async () => {
  const db = await fresh();
  assert.equal(await db.transaction((tx) => tx.users.len()), 0);
  assert.equal(fake.commitCount(db.name), 0);
});

test('transaction: tx handles die when the callback returns', async () => {
  const db = await fresh();
  let saved: { users: { len(): number; insert(k: string, v: Account): void } } | undefined;
  await db.transaction((tx) => {
    saved = tx;
  });
  assert.throws(() => saved!.users.len(), code('TxClosed'));
  assert.throws(() => saved!.users.insert('a', { name: 'a', balance: 0 }), code('TxClosed'));
});

test('transaction: writes through db.tables and nested transactions are refused inside', async () => {
  const db = await fresh();
  const refused: Promise<void>[] = [];
  await db.transaction((tx) => {
    tx.admins.push('ok');
    refused.push(assert.rejects(db.tables.admins.push('wrong'), code('Busy')));
    refused.push(assert.rejects(db.transaction(() => 1), code('Busy')));
    refused.push(assert.rejects(db.close(), code('Busy')));
    assert.deepEqual(db.tables.admins.all(), ['ok'], 'db reads inside see the transaction');
  });
  await Promise.all(refused);
  assert.deepEqual(db.tables.admins.all(), ['ok']);
});

test('view: consistent reads; writes refused at run time', async () => {
  const db = await fresh();
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  const n = db.view((v) => v.users.len() + v.admins.len());
  assert.equal(n, 1);
  let p: Promise<void> | undefined;
  db.view((v) => {
    const w = v.users as unknown as { insert(k: string, v: Account): void };
    assert.throws(() => w.insert('b', { name: 'B', balance: 0 }), code('ReadOnly'));
    p = assert.rejects(db.tables.users.insert('c', { name: 'C', balance: 0 }), code('ReadOnly'));
  });
  await p;
  assert.equal(db.tables.users.len(), 1);
  // @ts-expect-error: async callbacks do not compile
  assert.throws(() => db.view(async (v) => v.users.len()), TypeError);
  let saved: { users: { len(): number } } | undefined;
  db.view((v) => {
    saved = v;
  });
  assert.throws(() => saved!.users.len(), code('TxClosed'));
});

test('durability failure: the write rejects with the IDB code and memory is undone', async () => {
  const db = await fresh();
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  fake.failNextCommit('Quota');
  const p = db.tables.users.insert('b', { name: 'B', balance: 2 });
  assert.ok(db.tables.users.has('b'), 'visible before durability');
  await assert.rejects(p, code('Quota'));
  assert.ok(!db.tables.users.has('b'), 'undone after the failure');
  fake.failNextCommit('Abort');
  await assert.rejects(db.transaction((tx) => tx.admins.push('x')), code('Abort'));
  assert.deepEqual(db.tables.admins.all(), []);
});

test('poisoned: later writes are refused with the cause code', async () => {
  const db = await fresh();
  fake.failNextCommit('Poisoned');
  await assert.rejects(db.tables.owner.insert('x'), (e: unknown) => {
    assert.ok(e instanceof DbrsError);
    assert.equal(e.code, 'Poisoned');
    assert.equal(e.causeCode, 'IDBUnknown');
    return true;
  });
  await assert.rejects(db.tables.owner.insert('y'), code('Poisoned'));
  await assert.rejects(db.transaction((tx) => tx.owner.insert('z')), code('Poisoned'));
  assert.equal(db.tables.owner.get(), undefined, 'reads still work');
});

test('busy engine: writes queue in call order and apply when it is free', async () => {
  const db = await fresh();
  fake.holdLock();
  const order: string[] = [];
  const p1 = db.tables.admins.push('1').then(() => order.push('p1'));
  const p2 = db.transaction((tx) => {
    tx.admins.push('2');
    return tx.admins.all();
  });
  const p3 = db.tables.admins.push('3').then(() => order.push('p3'));
  assert.deepEqual(db.tables.admins.all(), [], 'nothing applied while busy');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(db.tables.admins.all(), []);
  fake.releaseLock();
  assert.deepEqual(await p2, ['1', '2'], 'the queued transaction saw the earlier queued write');
  await Promise.all([p1, p3]);
  assert.deepEqual(db.tables.admins.all(), ['1', '2', '3']);
  assert.deepEqual(order, ['p1', 'p3']);
});

test('persistence: reopen replays committed writes only', async () => {
  const db = await open('persist', schema);
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  await db.tables.tags.insert('a', 'x');
  await db.transaction((tx) => {
    tx.admins.push('a');
    tx.grid.insert(1, [1, 1], 'one');
  });
  await db.transaction(() => {
    throw new Error('no');
  }).catch(() => {});
  await db.close();
  const again = await open('persist', schema);
  assert.deepEqual(again.tables.users.get('a'), { name: 'A', balance: 1 });
  assert.deepEqual(again.tables.tags.get('a'), ['x']);
  assert.deepEqual(again.tables.admins.all(), ['a']);
  assert.equal(again.tables.grid.get(1, [1, 1]), 'one');
  await again.close();
});

test('close: waits for pending writes; afterwards everything fails with Closed', async () => {
  const db = await fresh();
  const p = db.tables.owner.insert('x');
  const c = db.close();
  assert.equal(db.close(), c, 'close is idempotent');
  await p;
  await c;
  assert.throws(() => db.tables.owner.get(), code('Closed'));
  await assert.rejects(db.tables.owner.insert('y'), code('Closed'));
  await assert.rejects(db.transaction(() => 1), code('Closed'));
  assert.throws(() => db.view(() => 1), code('Closed'));
  assert.throws(() => db.stats(), code('Closed'));
  await assert.rejects(db.compact(), code('Closed'));
});

test('stats and compact', async () => {
  const db = await fresh();
  for (let i = 0; i < 10; i++) await db.tables.owner.insert(`v${i}`);
  const s = db.stats();
  for (const f of ['records', 'logBytes', 'liveBytes', 'compactions', 'commits', 'lastCommitMs'] as const) {
    assert.equal(typeof s[f], 'number', f);
  }
  assert.equal(s.commits, 10);
  assert.equal(s.segments, 1, 'extra fields pass through');
  await db.compact();
  const t = db.stats();
  assert.equal(t.compactions, 1);
  assert.ok(t.records < s.records);
  assert.equal(db.tables.owner.get(), 'v9');
});

test('open: schema validation and bridge error mapping', async () => {
  await assert.rejects(open('x', {}), code('Schema'));
  await assert.rejects(open('x', { t: { kind: 'nope' } } as never), code('Schema'));
  await assert.rejects(open('x', schema, { durability: 'fast' as never }), TypeError);
  const a = await open('twice', schema);
  await assert.rejects(open('twice', schema), code('Locked'));
  await a.close();
  const b = await open('grow', { t: single<number>() });
  await b.close();
  await assert.rejects(open('grow', { t: list<number>() }), code('Schema'));
  await assert.rejects(open('grow', { other: single<number>() }), code('UnknownTable'));
  const c = await open('grow', { t: single<number>(), added: list<string>() });
  await c.close();
});

test('deleteDatabase', async () => {
  const db = await open('gone', schema);
  await db.tables.owner.insert('x');
  await assert.rejects(deleteDatabase('gone'), code('Locked'));
  await db.close();
  await deleteDatabase('gone');
  const again = await open('gone', schema);
  assert.equal(again.tables.owner.get(), undefined);
});

test('bridge errors without a known code become Internal; unknown tables are UnknownTable', async () => {
  const db = await fresh();
  const orig = fake.read.bind(fake);
  fake.read = () => {
    throw new Error('Go program has already exited');
  };
  assert.throws(() => db.tables.owner.get(), code('Internal'));
  fake.read = () => bridgeError('Corrupt', 'log is corrupt', { segment: 3, offset: 77 });
  assert.throws(() => db.tables.owner.get(), (e: unknown) => e instanceof DbrsError && e.code === 'Corrupt' && e.segment === 3 && e.offset === 77);
  fake.read = orig;
  const r = fake.read(1, 'nope', 'get', Uint8Array.of(0x90));
  assert.ok(r instanceof Error && (r as { code?: string }).code === 'UnknownTable');
});

test('protocol mismatch is refused', async () => {
  g.__dbrs = { ...fake, protocol: 2 };
  await assert.rejects(open('p', schema), code('Internal'));
});

test('one bridge crossing per read and per auto-commit write', async () => {
  const db = await fresh();
  fake.calls.length = 0;
  db.tables.users.get('a');
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  await db.tables.admins.push('x');
  // (The first durable commit also reads stats once, for the lost-database marker.)
  assert.deepEqual(fake.calls.filter((c) => c !== 'stats'), ['read', 'exec', 'exec']);
  fake.calls.length = 0;
  await db.transaction((tx) => {
    tx.admins.push('y');
    tx.admins.len();
  });
  assert.deepEqual(fake.calls, ['begin', 'apply', 'read', 'commit']);
});

test('lookupTable: getMany and insertMany in one call each', async () => {
  const db = await fresh();
  await db.tables.users.insertMany([['a', { name: 'A', balance: 1 }], ['b', { name: 'B', balance: 2 }]]);
  assert.deepEqual(db.tables.users.getMany(['b', 'nobody', 'a']), [
    { name: 'B', balance: 2 }, undefined, { name: 'A', balance: 1 },
  ]);
  assert.deepEqual(db.tables.users.getMany([]), []);
  await db.transaction((tx) => {
    tx.users.insertMany(new Map([['c', { name: 'C', balance: 3 }]]));
    assert.equal(tx.users.getMany(['c'])[0]?.name, 'C');
  });
  assert.equal(db.tables.users.len(), 3);
  await assert.rejects(db.tables.users.insertMany([['d'] as unknown as [string, Account]]), code('BadValue'));
  assert.throws(() => db.tables.users.getMany('a' as unknown as string[]), code('BadValue'));
  assert.equal(db.tables.users.len(), 3);
});

test('runtime checks: a write whose key or value fails its check rejects before anything is logged', async () => {
  const checked = {
    users: lookupTable<string, number>({ key: 'string', value: 'number' }),
    blobs: lookupTable<number, Uint8Array>({ value: 'bytes' }),
    scores: list<number>({ value: (v) => typeof v === 'number' && v >= 0 }),
    grid: lookupMap<string, number, string>({ inner: 'number', value: (v) => { if (v === 'bad') throw new Error('no bad values'); return true; } }),
  };
  const db = await open(`checked${n++}`, checked);
  const plain = db as unknown as { tables: Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>> };
  await db.tables.users.insert('a', 1);
  await assert.rejects(plain.tables.users!.insert!(42, 1), (e: unknown) => code('BadValue')(e) && /users\.insert: key must be a string, got 42/.test((e as Error).message));
  await assert.rejects(plain.tables.users!.insert!('b', '1'), (e: unknown) => code('BadValue')(e) && /value must be a number, got "1"/.test((e as Error).message));
  await assert.rejects(plain.tables.users!.insertMany!([['c', 3], ['d', 'four']]), code('BadValue'));
  await assert.rejects(plain.tables.blobs!.insert!(1, [1, 2]), code('BadValue'));
  await assert.rejects(db.tables.scores.push(-1), (e: unknown) => code('BadValue')(e) && /refused by the table's check/.test((e as Error).message));
  await assert.rejects(plain.tables.grid!.insert!('k', 'x', 'v'), code('BadValue'));
  await assert.rejects(db.tables.grid.insert('k', 1, 'bad'), (e: unknown) => code('BadValue')(e) && /no bad values/.test((e as Error).message));
  await db.transaction((tx) => {
    assert.throws(() => (tx.users as unknown as { insert(k: unknown, v: unknown): void }).insert(7, 7), code('BadValue'));
    tx.users.insert('t', 2); // the transaction goes on
  });
  assert.deepEqual(db.tables.users.entries(), [['a', 1], ['t', 2]]);
  assert.equal(fake.commitCount(db.name), 2, 'refused writes logged nothing');
  assert.throws(() => lookupTable({ key: 'text' as 'string' }), TypeError);
  assert.throws(() => list({ key: 'string' } as never), TypeError);
});

test('a table the schema lacks is UnknownTable; NotFound names the key as written', async () => {
  const db = await fresh();
  const loose = db.tables as unknown as Record<string, unknown>;
  assert.throws(() => loose.userz, (e: unknown) => code('UnknownTable')(e) && /no table "userz"/.test((e as Error).message));
  await db.transaction((tx) => {
    assert.throws(() => (tx as unknown as Record<string, unknown>).nope, code('UnknownTable'));
  });
  assert.throws(() => db.view((v) => (v as unknown as Record<string, unknown>).nope), code('UnknownTable'));
  assert.equal((db.tables as unknown as { then?: unknown }).then, undefined, 'db.tables can be awaited');
  assert.equal(await db.tables, db.tables);
  await assert.rejects(db.tables.users.remove('nobody'), (e: unknown) => code('NotFound')(e) && (e as Error).message === 'dbrs: users.remove: key "nobody" not found');
  await db.transaction((tx) => {
    assert.throws(() => tx.tags.remove('k', 'red'), (e: unknown) => code('NotFound')(e) && /member "red" of key "k" not found/.test((e as Error).message));
  });
});

test('subscribe: once per durable commit, in order, with the tables written; nothing for a rollback or a failure', async () => {
  const db = await fresh();
  const seen: string[][] = [];
  const users: number[] = [];
  const unsub = db.subscribe((c) => seen.push(c.tables));
  const unsubUsers = db.tables.users.subscribe(() => users.push(seen.length));
  await db.tables.owner.insert('a');
  await db.transaction((tx) => {
    tx.users.insert('u', { name: 'U', balance: 1 });
    tx.admins.push('x');
  });
  await assert.rejects(db.transaction((tx) => {
    tx.owner.insert('b');
    throw new Error('roll back');
  }));
  await assert.rejects(db.tables.users.remove('nobody'), code('NotFound'));
  fake.failNextCommit('Quota');
  await assert.rejects(db.tables.owner.insert('lost'), code('Quota'));
  const p1 = db.tables.users.insert('v', { name: 'V', balance: 2 });
  const p2 = db.tables.owner.insert('c');
  await Promise.all([p1, p2]);
  assert.deepEqual(seen, [['owner'], ['admins', 'users'], ['users'], ['owner']]);
  assert.deepEqual(users, [2, 3], 'the users listener ran after the commits that wrote users');
  unsub();
  unsubUsers();
  await db.tables.users.insert('w', { name: 'W', balance: 3 });
  assert.equal(seen.length, 4, 'no calls after unsubscribing');
  await db.transaction((tx) => {
    assert.throws(() => (tx.users as unknown as { subscribe(f: () => void): void }).subscribe(() => {}), code('ReadOnly'));
  });
});

test('liveQuery: runs at once, then again after each commit to a table it read', async () => {
  const db = await fresh();
  const results: (number | undefined)[] = [];
  const stop = db.liveQuery((v) => v.users.get('a')?.balance, (r) => results.push(r));
  assert.deepEqual(results, [undefined]);
  await db.tables.users.insert('a', { name: 'A', balance: 1 });
  await db.tables.owner.insert('not read by the query');
  await db.transaction((tx) => tx.users.insert('a', { name: 'A', balance: 2 }));
  assert.deepEqual(results, [undefined, 1, 2]);
  stop();
  await db.tables.users.insert('a', { name: 'A', balance: 3 });
  assert.deepEqual(results, [undefined, 1, 2]);
});
