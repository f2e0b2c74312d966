// Unit tests of the shim's side of upgrades (src/migrate.ts): what the
// upgrade function sees, what goes back to the bridge, and how failures
// reach open()'s caller. UpgradeFake stands in for Go's half
// (platform/wasm/bridge_upgrade.go); the real one runs in Chromium
// (e2e/migrate_test.go).

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '@msgpack/msgpack';
import { FakeBridge, bridgeError } from './fake-bridge.js';
import type { BridgeError, BridgeOpenOptions, BridgeTable, UpgradeStep } from '../src/bridge.js';
import { open, DbrsError, single, list, lookupTable, lookupSet, lookupMap, type Upgrade } from '../src/index.js';

type Stored = { name: string; kind: string; els: [unknown[], unknown][] };

/** A FakeBridge whose databases are stored at version 1 with these tables, and upgraded through upgradeStep. */
class UpgradeFake extends FakeBridge {
  tables: Stored[] = [
    { name: 'owner', kind: 'single', els: [[[], 7]] },
    { name: 'queue', kind: 'list', els: [[[], 'a'], [[], 'b']] },
    { name: 'people', kind: 'lookup_table', els: [[['ann'], 31], [['bob'], 42]] },
    { name: 'tags', kind: 'lookup_set', els: [[['x'], 1], [['x'], 2]] },
    { name: 'grid', kind: 'lookup_map', els: [[[1, 2], 'z']] },
    { name: 'trash', kind: 'list', els: [] },
  ];
  steps: string[] = [];
  finish: string | null | undefined;
  private done: ((msg: string | null) => void) | undefined;

  override async open(name: string, tables: BridgeTable[], opts: BridgeOpenOptions): Promise<number> {
    if (opts.version !== undefined && opts.version > 1) {
      const finished = new Promise<string | null>((r) => (this.done = r));
      if (opts.onUpgrade) opts.onUpgrade(9, 1, opts.version, this.tables.map((t) => ({ name: t.name, kind: t.kind }) as BridgeTable));
      else this.done!(null);
      const msg = await finished;
      if (msg !== null) throw bridgeError('Internal', `upgrade from version 1 to ${opts.version}: ${msg}`);
    }
    return super.open(name, tables, opts);
  }

  override upgradeStep(id: number, step: UpgradeStep, ...args: (string | Uint8Array)[]): BridgeError | null | Uint8Array {
    const [x, y] = args as [string | undefined, unknown];
    if (id !== 9 || this.finish !== undefined) return bridgeError('Closed', 'no upgrade');
    this.steps.push(`${step}${typeof x === 'string' ? ' ' + x : ''}${typeof y === 'string' ? ' ' + y : ''}`);
    const t = this.tables.find((s) => s.name === x);
    switch (step) {
      case 'finish':
        this.finish = x ?? null;
        this.done!(this.finish);
        return null;
      case 'rename':
        t!.name = y as string;
        return null;
      case 'drop':
        this.tables = this.tables.filter((s) => s !== t);
        return null;
      case 'elements':
        return encode(t!.els);
      case 'setValues': {
        const vals = decode(y as Uint8Array) as unknown[];
        t!.els = t!.els.map(([k], i) => [k, vals[i]]);
        return null;
      }
    }
    return bridgeError('BadValue', 'unknown step');
  }
}

let fake: UpgradeFake;
let n = 0;
const g = globalThis as { __dbrs?: unknown };

beforeEach(() => {
  fake = new UpgradeFake();
  g.__dbrs = fake;
});

const v2 = {
  owner: single<string>(),
  queue: list<string>(),
  users: lookupTable<string, { name: string; age: number }>(),
  tags: lookupSet<string, boolean>(),
  grid: lookupMap<number, number, string>({ value: 'string' }),
};

test('upgrade: each step reaches the bridge, with values per table kind', async () => {
  const seen: unknown[][] = [];
  const db = await open(`m${n++}`, v2, {
    version: 2,
    upgrade(u: Upgrade) {
      assert.equal(u.from, 1);
      assert.equal(u.to, 2);
      u.transform('owner', (v, ...rest) => (seen.push([v, ...rest]), `#${v}`));
      u.transform('queue', (v, i) => (seen.push([v, i]), `${i}:${v}`));
      u.rename('people', 'users');
      u.transform('users', (age, k) => (seen.push([age, k]), { name: k, age }));
      u.transform('tags', (v) => v > 1);
      u.transform('grid', (v, k1, k2) => (seen.push([v, k1, k2]), `${k1},${k2}=${v}`));
      u.drop('trash');
      assert.deepEqual(u.tables().map((t) => t.name), ['owner', 'queue', 'users', 'tags', 'grid']);
    },
  });
  await db.close();
  assert.deepEqual(seen, [[7], ['a', 0], ['b', 1], [31, 'ann'], [42, 'bob'], ['z', 1, 2]]);
  assert.deepEqual(fake.steps, [
    'elements owner', 'setValues owner', 'elements queue', 'setValues queue', 'rename people users',
    'elements users', 'setValues users', 'elements tags', 'setValues tags', 'elements grid', 'setValues grid',
    'drop trash', 'finish',
  ]);
  assert.equal(fake.finish, null);
  const by = (name: string) => fake.tables.find((t) => t.name === name)!.els.map(([, v]) => v);
  assert.deepEqual(by('owner'), ['#7']);
  assert.deepEqual(by('queue'), ['0:a', '1:b']);
  assert.deepEqual(by('users'), [{ name: 'ann', age: 31 }, { name: 'bob', age: 42 }]);
  assert.deepEqual(by('tags'), [false, true]);
  assert.deepEqual(by('grid'), ['1,2=z']);
});

test('upgrade: a throw rejects open with the same error, and finish carries its message', async () => {
  const boom = new Error('boom');
  await assert.rejects(open(`m${n++}`, v2, { version: 2, upgrade() { throw boom; } }), (e) => e === boom);
  assert.equal(fake.finish, 'boom');
  fake = new UpgradeFake();
  g.__dbrs = fake;
  await assert.rejects(open(`m${n++}`, v2, { version: 2, async upgrade() { await Promise.resolve(); throw boom; } }), (e) => e === boom);
  assert.equal(fake.finish, 'boom');
});

test('upgrade: a new value is checked against the schema table of its name', async () => {
  let err: unknown;
  await assert.rejects(open(`m${n++}`, v2, {
    version: 2,
    upgrade(u) {
      try {
        u.transform('grid', () => 5); // grid values must be strings
      } catch (e) {
        err = e;
        throw e;
      }
    },
  }), (e) => e === err);
  assert.ok(err instanceof DbrsError && err.code === 'BadValue', String(err));
  assert.ok(!fake.steps.includes('setValues grid'), 'nothing was sent for the refused values');
});

test('upgrade: a set member must be a key', async () => {
  await assert.rejects(open(`m${n++}`, v2, { version: 2, upgrade(u) { u.transform('tags', () => ({ no: 1 })); } }),
    (e) => e instanceof DbrsError && e.code === 'BadValue');
});

test('upgrade: unknown tables and bad options', async () => {
  await assert.rejects(open(`m${n++}`, v2, { version: 2, upgrade(u) { u.drop('nope'); } }),
    (e) => e instanceof DbrsError && e.code === 'UnknownTable');
  await assert.rejects(open(`m${n++}`, v2, { upgrade() {} }), TypeError);
  await assert.rejects(open(`m${n++}`, v2, { version: -1 }), TypeError);
  await assert.rejects(open(`m${n++}`, v2, { version: 1.5 }), TypeError);
  // A Go 'Version' error keeps its code.
  fake.open = async () => { throw bridgeError('Version', 'the database is at version 3, newer than this program\'s 2'); };
  await assert.rejects(open(`m${n++}`, v2, { version: 2 }), (e) => e instanceof DbrsError && e.code === 'Version');
});
