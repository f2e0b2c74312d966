// Compile-time tests of the public types. Nothing here runs.
//
// `npm run typetest` (tsc --noEmit --strict -p tsconfig.typetest.json)
// passes only if every line marked @ts-expect-error is an error and every
// other line compiles. An unused @ts-expect-error is itself an error, so a
// type that became too loose fails this file.

import {
  open, single, list, lookupTable, lookupList, lookupSet, lookupMap, DbrsError,
  type DB, type Schema, type Key, type Stats, type ErrorCode,
  type Single, type LookupTable, type LookupTableTx, type LookupTableView,
} from '../src/index.js';

/** Exact type equality (as in idb's and tsd's tests). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {
  void (0 as unknown as T);
}

interface Account {
  name: string;
  balance: number;
}

const schema = {
  owner: single<string>(),
  admins: list<string>(),
  users: lookupTable<string, Account>(),
  byAge: lookupTable<number, string[]>(),
  history: lookupList<string, number>(),
  tags: lookupSet<string, string>(),
  grid: lookupMap<number, [number, number], boolean>(),
};

declare const db: DB<typeof schema>;

async function positives(): Promise<void> {
  // open infers the schema.
  const d = await open('app', schema, { durability: 'relaxed', wasmURL: '/dbrs.wasm' });
  expectType<Equal<typeof d, DB<typeof schema>>>();

  // Table handle types carry K and V.
  expectType<Equal<typeof db.tables.owner, Single<string>>>();
  expectType<Equal<typeof db.tables.users, LookupTable<string, Account>>>();

  // Reads are synchronous.
  expectType<Equal<ReturnType<typeof db.tables.owner.get>, string | undefined>>();
  expectType<Equal<ReturnType<typeof db.tables.admins.all>, string[]>>();
  expectType<Equal<ReturnType<typeof db.tables.admins.at>, string | undefined>>();
  expectType<Equal<ReturnType<typeof db.tables.users.get>, Account | undefined>>();
  expectType<Equal<ReturnType<typeof db.tables.users.entries>, [string, Account][]>>();
  expectType<Equal<ReturnType<typeof db.tables.users.keys>, string[]>>();
  expectType<Equal<ReturnType<typeof db.tables.history.get>, number[]>>();
  expectType<Equal<ReturnType<typeof db.tables.tags.has>, boolean>>();
  expectType<Equal<ReturnType<typeof db.tables.grid.getInner>, Map<[number, number], boolean>>>();
  expectType<Equal<ReturnType<typeof db.tables.grid.get>, boolean | undefined>>();

  // Writes outside a transaction return Promises.
  expectType<Equal<ReturnType<typeof db.tables.users.insert>, Promise<void>>>();
  expectType<Equal<ReturnType<typeof db.tables.admins.pop>, Promise<string>>>();
  await db.tables.owner.insert('parth');
  await db.tables.users.insert('parth', { name: 'Parth', balance: 0 });
  await db.tables.byAge.insert(42, ['a']);
  await db.tables.history.push('k', 1);
  await db.tables.tags.insert('item', 'red');
  await db.tables.grid.insert(1, [2, 3], true);

  // A transaction: synchronous writes, the callback's value comes back.
  const total = await db.transaction((tx) => {
    expectType<Equal<typeof tx.users, LookupTableTx<string, Account>>>();
    expectType<Equal<ReturnType<typeof tx.users.insert>, void>>();
    expectType<Equal<ReturnType<typeof tx.admins.pop>, string>>();
    tx.users.insert('a', { name: 'A', balance: 1 });
    tx.admins.push('a');
    return tx.users.len();
  });
  expectType<Equal<typeof total, number>>();
  const nothing = await db.transaction((tx) => {
    tx.owner.clear();
  });
  expectType<Equal<typeof nothing, void>>();

  // A view returns its value synchronously, with read-only tables.
  const n = db.view((v) => {
    expectType<Equal<typeof v.users, LookupTableView<string, Account>>>();
    return v.users.len() + v.admins.len();
  });
  expectType<Equal<typeof n, number>>();

  // Stats and errors.
  const s: Stats = db.stats();
  expectType<Equal<typeof s.logBytes, number>>();
  try {
    await db.tables.users.remove('x');
  } catch (e) {
    if (e instanceof DbrsError) {
      expectType<Equal<typeof e.code, ErrorCode>>();
      if (e.code === 'NotFound') void e;
    }
  }

  // Tuple, bigint, bytes and null keys are Keys.
  const k1: Key = ['a', 1, 2n, null, Uint8Array.of(1), [true]];
  void k1;
  const kk = await open('k', { t: lookupTable<[string, number], Uint8Array>() });
  await kk.tables.t.insert(['x', 1], Uint8Array.of(1));

  // Without a literal schema type, names and types are loose.
  const loose: DB<Schema> = d as unknown as DB<Schema>;
  void loose.tables['anything'];
}
void positives;

async function negatives(): Promise<void> {
  // A table that does not exist.
  // @ts-expect-error: no table 'nope'
  db.tables.nope;
  // @ts-expect-error: no table 'nope' in a transaction either
  await db.transaction((tx) => tx.nope);

  // Wrong key type.
  // @ts-expect-error: users keys are strings
  db.tables.users.get(1);
  // @ts-expect-error: byAge keys are numbers
  await db.tables.byAge.insert('42', ['a']);
  // @ts-expect-error: grid inner keys are [number, number]
  db.tables.grid.get(1, [1, '2']);
  // @ts-expect-error: tags keys are strings
  db.tables.tags.has(1, 'red');
  // @ts-expect-error: 'text' is not a kind a check can name
  lookupTable<string, number>({ key: 'text' });
  // @ts-expect-error: a list has no keys to check
  list<number>({ key: 'string' });
  // @ts-expect-error: a change names the schema's tables only
  db.subscribe((c) => { const t: 'nope' = c.tables[0]!; void t; });
  // @ts-expect-error: a live query reads through a view: no writes
  db.liveQuery((v) => v.users.insert('a', { name: 'A', balance: 1 }), () => {});
  // @ts-expect-error: users keys are strings, in getMany too
  db.tables.users.getMany([1]);
  // @ts-expect-error: insertMany takes [key, value] pairs of the table's types
  await db.tables.users.insertMany([['a', 'not an account']]);
  // @ts-expect-error: no insertMany inside a view
  db.view((v) => v.users.insertMany([]));

  // Wrong value type.
  // @ts-expect-error: a string is not an Account
  await db.tables.users.insert('a', 'not an account');
  // @ts-expect-error: balance must be a number
  await db.tables.users.insert('a', { name: 'A', balance: '1' });
  // @ts-expect-error: name is missing
  await db.tables.users.insert('a', { balance: 1 });
  // @ts-expect-error: owner holds strings
  await db.tables.owner.insert(5);
  // @ts-expect-error: history lists hold numbers
  await db.tables.history.push('k', 'one');
  // @ts-expect-error: set members are strings
  await db.tables.tags.insert('item', 3);

  // Wrong return type use.
  // @ts-expect-error: get may be undefined
  const acc: Account = db.tables.users.get('a');
  void acc;
  // @ts-expect-error: a write outside a transaction is a Promise, not void
  const popped: string = db.tables.admins.pop();
  void popped;

  // Methods of other table kinds.
  // @ts-expect-error: a single has no push
  db.tables.owner.push('x');
  // @ts-expect-error: a lookupTable has no removeAt
  db.tables.users.removeAt(0);

  // Writes on a view do not compile.
  db.view((v) => {
    // @ts-expect-error: read-only
    v.users.insert('a', { name: 'A', balance: 1 });
    // @ts-expect-error: read-only
    v.admins.push('x');
    // @ts-expect-error: read-only
    v.owner.clear();
    // @ts-expect-error: read-only
    v.tags.remove('item', 'red');
    // @ts-expect-error: read-only
    v.grid.clearKey(1);
    return v.users.len();
  });

  // The transaction callback must be synchronous.
  // @ts-expect-error: async callback
  await db.transaction(async (tx) => {
    tx.admins.push('x');
  });
  // @ts-expect-error: returning a Promise
  await db.transaction((tx) => Promise.resolve(tx.users.len()));
  // @ts-expect-error: async view callback
  db.view(async (v) => v.users.len());

  // Tx writes return void, not Promises: awaiting them is pointless, and
  // using their result as a Promise does not compile.
  await db.transaction((tx) => {
    // @ts-expect-error: void has no then
    tx.users.insert('a', { name: 'A', balance: 1 }).then(() => {});
  });

  // Tables may not be replaced.
  // @ts-expect-error: readonly
  db.tables = db.tables;
  // @ts-expect-error: readonly property
  db.tables.users = db.tables.users;

  // Object keys are not Keys (their encoding could not match Go's).
  // @ts-expect-error: object key type
  lookupTable<{ id: number }, string>();
  // @ts-expect-error: object set member type
  lookupSet<string, { tag: string }>();
  // @ts-expect-error: Date keys
  lookupMap<string, Date, number>();

  // Options are checked.
  // @ts-expect-error: durability is 'strict' | 'relaxed'
  await open('x', schema, { durability: 'fast' });
  // @ts-expect-error: a schema entry must be a table definition
  await open('x', { t: 5 });

  // Upgrades: a version and a function of an Upgrade.
  await open('x', schema, {
    version: 2,
    upgrade(u) {
      expectType<Equal<typeof u.from, number>>();
      u.rename('people', 'users');
      u.transform('users', (age: number, name: string) => ({ name, balance: age }));
      u.drop('cache');
    },
  });
  await open('x', schema, { version: 2, upgrade: async (u) => { await Promise.resolve(u.from); } });
  // @ts-expect-error: version is a number
  await open('x', schema, { version: '2' });
  // @ts-expect-error: table names are strings
  await open('x', schema, { version: 2, upgrade(u) { u.drop(3); } });
}
void negatives;
