// The browser side of the benchmark. The Go driver (../main.go) loads
// index.html, which loads this module, and calls the functions of
// window.bench through chromedp, one run at a time, each in a fresh page.
//
// Every library is used the way its documentation shows, and dbrs only
// through the shim's public API (open, lookupTable, db.tables.t.insert/get,
// db.transaction, db.view, close, deleteDatabase), so the benchmark keeps
// working when the JS↔Go bridge changes. getMany/insertMany are used only
// if the shim has them (feature-detected, as the extra "dbrs (…Many)" runs).
//
// Libraries are imported on demand (dynamic import), so a page load that
// measures one library loads only that library.
//
// Each exported function returns a plain object; a failure returns
// { error: "…" } instead of rejecting, so the driver can record it and go on.

const STORE = 't';

/** The key of record i: 'k00000012'. */
export function key(i) {
  return 'k' + String(i).padStart(8, '0');
}

/** The value of record i: a small JSON-like object. */
export function value(i) {
  return { name: 'user-' + i, n: i, tags: ['a', 'b'] };
}

/** Keys and values of records 0..n-1, built before any timing starts. */
function records(n) {
  const keys = new Array(n);
  const vals = new Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = key(i);
    vals[i] = value(i);
  }
  return { keys, vals };
}

/** mulberry32: a small seeded PRNG, so every library reads the same keys. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** count random record numbers in [0, n), the same for a given seed. */
function readPlan(n, count, seed) {
  const r = rng(seed);
  const idx = new Array(count);
  const keys = new Array(count);
  for (let j = 0; j < count; j++) {
    idx[j] = Math.floor(r() * n);
    keys[j] = key(idx[j]);
  }
  return { idx, keys };
}

/** Throws unless v is the value of record i. */
function check(v, i, what) {
  if (!v || v.n !== i || v.name !== 'user-' + i) {
    throw new Error(`${what}: record ${key(i)} read back as ${JSON.stringify(v)}`);
  }
}

function checkAll(vals, idx, what) {
  if (!Array.isArray(vals) || vals.length !== idx.length) {
    throw new Error(`${what}: got ${vals && vals.length} values for ${idx.length} keys`);
  }
  for (let j = 0; j < idx.length; j++) check(vals[j], idx[j], what);
}

// ------------------------------------------------------------- raw IndexedDB

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function txDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

const idb = {
  name: 'raw IndexedDB',
  async open(name, durability, create = true) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => {
        if (!create) {
          r.transaction.abort();
          return;
        }
        r.result.createObjectStore(STORE);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error || new Error(`open ${name} failed`));
      r.onblocked = () => reject(new Error(`open ${name} blocked`));
    });
    // 'default' leaves the browser's default (relaxed since Chrome 121).
    const opts = durability === 'default' ? undefined : { durability };
    return {
      commitOne(k, v) {
        const tx = db.transaction(STORE, 'readwrite', opts);
        tx.objectStore(STORE).put(v, k);
        return txDone(tx);
      },
      async commitEach(keys, vals) {
        for (let i = 0; i < keys.length; i++) await this.commitOne(keys[i], vals[i]);
      },
      async bulk(keys, vals) {
        const tx = db.transaction(STORE, 'readwrite', opts);
        const s = tx.objectStore(STORE);
        for (let i = 0; i < keys.length; i++) s.put(vals[i], keys[i]);
        await txDone(tx);
      },
      async getEach(keys, idx) {
        for (let j = 0; j < keys.length; j++) {
          const v = await req(db.transaction(STORE, 'readonly').objectStore(STORE).get(keys[j]));
          check(v, idx[j], 'get');
        }
      },
      async getInTx(keys, idx) {
        const tx = db.transaction(STORE, 'readonly');
        const s = tx.objectStore(STORE);
        const out = new Array(keys.length);
        for (let j = 0; j < keys.length; j++) {
          const r = s.get(keys[j]);
          r.onsuccess = () => { out[j] = r.result; };
        }
        await txDone(tx);
        checkAll(out, idx, 'get in one transaction');
      },
      get(k) {
        return req(db.transaction(STORE, 'readonly').objectStore(STORE).get(k));
      },
      getAll() {
        return req(db.transaction(STORE, 'readonly').objectStore(STORE).getAll());
      },
      async close() {
        db.close();
      },
    };
  },
  async remove(name) {
    await new Promise((resolve, reject) => {
      const r = indexedDB.deleteDatabase(name);
      r.onsuccess = () => resolve();
      r.onerror = () => reject(r.error);
      // 'blocked' only says a connection is still closing; the delete
      // goes on once it has closed.
      r.onblocked = () => {};
    });
  },
};

// ------------------------------------------------------------- Dexie

const dexie = {
  name: 'Dexie',
  async open(name, durability) {
    const { Dexie } = await import('dexie');
    // Dexie's default leaves the browser's default durability (relaxed
    // since Chrome 121); 'strict' / 'relaxed' set chromeTransactionDurability.
    const db = new Dexie(name, durability === 'default' ? {} : { chromeTransactionDurability: durability });
    db.version(1).stores({ [STORE]: '' }); // out-of-line keys
    await db.open();
    const t = db.table(STORE);
    return {
      commitOne(k, v) {
        return t.put(v, k);
      },
      async commitEach(keys, vals) {
        for (let i = 0; i < keys.length; i++) await this.commitOne(keys[i], vals[i]);
      },
      async bulk(keys, vals) {
        await db.transaction('rw', t, () => t.bulkPut(vals, keys));
      },
      async getEach(keys, idx) {
        for (let j = 0; j < keys.length; j++) check(await t.get(keys[j]), idx[j], 'get');
      },
      async getInTx(keys, idx) {
        await db.transaction('r', t, async () => {
          for (let j = 0; j < keys.length; j++) check(await t.get(keys[j]), idx[j], 'get in transaction');
        });
      },
      get(k) {
        return t.get(k);
      },
      getAll() {
        return t.toArray();
      },
      async close() {
        db.close();
      },
    };
  },
  async remove(name) {
    const { Dexie } = await import('dexie');
    await Dexie.delete(name);
  },
};

// ------------------------------------------------------------- dbrs

async function dbrsModule() {
  return import('dbrs');
}

const dbrs = {
  name: 'dbrs',
  async open(name, durability, create = true, many = false) {
    const m = await dbrsModule();
    const opts = { lockTimeoutMs: 10000 };
    if (durability !== 'default') opts.durability = durability;
    const db = await m.open(name, { [STORE]: m.lookupTable() }, opts);
    const t = db.tables[STORE];
    if (many && (typeof t.insertMany !== 'function' || typeof t.getMany !== 'function')) {
      await db.close();
      throw new Error('this shim has no insertMany/getMany');
    }
    return {
      commitOne(k, v) {
        return t.insert(k, v);
      },
      async commitEach(keys, vals) {
        for (let i = 0; i < keys.length; i++) await this.commitOne(keys[i], vals[i]);
      },
      async bulk(keys, vals) {
        if (many) {
          // Assumed signature: insertMany(entries: [K, V][]), one commit.
          const entries = keys.map((k, i) => [k, vals[i]]);
          await t.insertMany(entries);
          return;
        }
        await db.transaction((tx) => {
          const tt = tx[STORE];
          for (let i = 0; i < keys.length; i++) tt.insert(keys[i], vals[i]);
        });
      },
      async getEach(keys, idx) {
        // Reads are synchronous: nothing to await.
        for (let j = 0; j < keys.length; j++) check(t.get(keys[j]), idx[j], 'get');
      },
      async getInTx(keys, idx) {
        if (many) {
          // Assumed signature: getMany(keys: K[]): (V | undefined)[].
          checkAll(await t.getMany(keys), idx, 'getMany');
          return;
        }
        db.view((v) => {
          const vt = v[STORE];
          for (let j = 0; j < keys.length; j++) check(vt.get(keys[j]), idx[j], 'get in view');
        });
      },
      async get(k) {
        return t.get(k);
      },
      async getAll() {
        return t.entries();
      },
      async close() {
        await db.close();
      },
    };
  },
  async remove(name) {
    const m = await dbrsModule();
    await m.deleteDatabase(name);
  },
};

const libs = { dbrs, idb, dexie };

function lib(name) {
  const l = libs[name];
  if (!l) throw new Error(`unknown library ${name}`);
  return l;
}

function describe(e) {
  if (e instanceof Error) {
    const code = e.code ? ` [${e.code}]` : '';
    return `${e.name}${code}: ${e.message}`;
  }
  return String(e);
}

/** Wraps fn so that it resolves to { error } instead of rejecting. */
function safe(fn) {
  return async (spec) => {
    try {
      return await fn(spec);
    } catch (e) {
      return { error: describe(e) };
    }
  };
}

// The database the current page holds open (a data run or a reload), for
// cleanup().
let held = null;

/**
 * Rows 1 and 2: n single-record commits, each awaited. Opens a fresh
 * database, times the loop only, checks the last record, deletes the
 * database.
 */
async function commits({ lib: ln, durability, db, n }) {
  const l = lib(ln);
  const { keys, vals } = records(n);
  const h = await l.open(db, durability);
  let ms;
  try {
    const t0 = performance.now();
    await h.commitEach(keys, vals);
    ms = performance.now() - t0;
    check(await h.get(keys[n - 1]), n - 1, 'last commit');
  } finally {
    await h.close();
  }
  await l.remove(db);
  return { ms };
}

/**
 * Rows 3, 4 and 5 on one fresh database: load n records in one transaction,
 * then `reads` random point reads each awaited, then the same reads inside
 * one read transaction. Leaves the database closed but in place, for
 * reload() on the next page; cleanup() deletes it.
 */
async function fill({ lib: ln, durability, db, n, reads, seed, many }) {
  const l = lib(ln);
  const { keys, vals } = records(n);
  const plan = readPlan(n, reads, seed);
  const h = await l.open(db, durability, true, many);
  held = { l, h, db };
  const out = {};
  let t0 = performance.now();
  await h.bulk(keys, vals);
  out.bulkMs = performance.now() - t0;
  check(await h.get(keys[n - 1]), n - 1, 'last record');

  // One untimed pass of other random reads first, the same for every
  // library: the timed reads then measure warm code (JIT-compiled), as in
  // an application that reads more than a few hundred times.
  const warm = readPlan(n, reads, seed + 1);
  await h.getEach(warm.keys, warm.idx);
  await h.getInTx(warm.keys, warm.idx);

  t0 = performance.now();
  await h.getEach(plan.keys, plan.idx);
  out.readsMs = performance.now() - t0;

  t0 = performance.now();
  await h.getInTx(plan.keys, plan.idx);
  out.txReadsMs = performance.now() - t0;

  await h.close();
  held = { l, h: null, db };
  return out;
}

/**
 * Row 6, on a page loaded with ?reload=<lib>&db=<name>&n=<n>: the time from
 * the navigation (performance.timeOrigin) to the moment a get of the last
 * key returns its value, then to the moment all n records are in memory as
 * an array (getAll / toArray / entries()), in the same page load.
 */
async function reload({ lib: ln, db, n, durability }) {
  const scriptMs = performance.now();
  const l = lib(ln);
  const h = await l.open(db, durability, false);
  held = { l, h, db };
  const last = await h.get(key(n - 1));
  const readableMs = performance.now();
  check(last, n - 1, 'last record after reload');
  const all = await h.getAll();
  const allMs = performance.now();
  if (!Array.isArray(all) || all.length !== n) {
    throw new Error(`read all after reload: got ${all && all.length} records, want ${n}`);
  }
  return { scriptMs, readableMs, allMs };
}

/**
 * Row 6c, on a page loaded with ?open=<lib>&db=<name>: the time from the
 * navigation to the moment a new, empty database is open. For dbrs that is
 * mostly fetching and compiling dbrs.wasm and starting Go: the floor under
 * row 6.
 */
async function openEmpty({ lib: ln, db }) {
  const l = lib(ln);
  const h = await l.open(db, 'default');
  const openMs = performance.now();
  held = { l, h, db };
  return { openMs };
}

/**
 * Closes what this page holds open and deletes its database; on a page that
 * holds nothing (a run failed on an earlier page), deletes spec.db.
 */
async function cleanup(spec) {
  if (!held) {
    if (spec && spec.db) await lib(spec.lib).remove(spec.db);
    return {};
  }
  const { l, h, db } = held;
  held = null;
  if (h) await h.close();
  await l.remove(db);
  return {};
}

/**
 * The -tiering run (tiering.go): row 3's load for dbrs alone, in one
 * transaction into a new database, between two console markers that the
 * driver finds in Chromium's log among V8's trace of what it compiles;
 * then the database is deleted.
 */
async function tieringBulk({ db, n }) {
  const { keys, vals } = records(n);
  const h = await dbrs.open(db, 'default');
  console.log('dbrs-tiering: start');
  const t0 = performance.now();
  await h.bulk(keys, vals);
  const bulkMs = performance.now() - t0;
  console.log('dbrs-tiering: end');
  check(await h.get(keys[n - 1]), n - 1, 'last record');
  await h.close();
  await dbrs.remove(db);
  return { bulkMs };
}

/** Commits made before commitPhases starts timing: the code is warm then. */
const PHASES_WARMUP = 50;

/** The median, the 90th percentile and the mean of xs, in ms. */
function quantiles(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return null;
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  return { median: a[Math.floor(a.length / 2)], p90: a[Math.floor(a.length * 0.9)], mean, n: a.length };
}

/**
 * The -phases run (phases.go): rows 1-2's awaited single-record commits,
 * each cut at the moments IndexedDB shows: the library's call returns its
 * promise (returned), the library creates its readwrite transaction
 * (transaction), that transaction's complete event fires (complete), and
 * the awaiting code resumes (resolved). For the run,
 * IDBDatabase.prototype.transaction is wrapped so that it stamps the first
 * readwrite transaction of the commit being timed and listens for its
 * complete event (a listener added when the transaction is made runs
 * before the handler the library sets afterwards). Every library goes
 * through the same wrapper.
 */
async function commitPhases({ lib: ln, durability, db, n }) {
  const l = lib(ln);
  const total = n + PHASES_WARMUP;
  const { keys, vals } = records(total);
  const h = await l.open(db, durability);
  const transaction = IDBDatabase.prototype.transaction;
  let cur = null;
  IDBDatabase.prototype.transaction = function (...args) {
    const tx = transaction.apply(this, args);
    const r = cur;
    if (r !== null && r.transaction === undefined && args[1] === 'readwrite') {
      r.transaction = performance.now();
      tx.addEventListener('complete', () => { r.complete = performance.now(); });
    }
    return tx;
  };
  const recs = [];
  let ms;
  try {
    let t0;
    for (let i = 0; i < total; i++) {
      if (i === PHASES_WARMUP) t0 = performance.now();
      const r = { call: performance.now() };
      cur = r;
      const p = h.commitOne(keys[i], vals[i]);
      r.returned = performance.now();
      await p;
      r.resolved = performance.now();
      cur = null;
      if (i >= PHASES_WARMUP) recs.push(r);
    }
    ms = performance.now() - t0;
    check(await h.get(keys[total - 1]), total - 1, 'last commit');
  } finally {
    IDBDatabase.prototype.transaction = transaction;
    await h.close();
  }
  await l.remove(db);
  const phase = (a, b) => quantiles(recs.map((r) => r[b] - r[a]));
  return {
    ms,
    warmup: PHASES_WARMUP,
    seen: recs.filter((r) => r.complete !== undefined).length,
    phases: {
      returned: phase('call', 'returned'),
      transaction: phase('call', 'transaction'),
      complete: phase('transaction', 'complete'),
      resolved: phase('complete', 'resolved'),
      total: phase('call', 'resolved'),
    },
  };
}

/** What the shim offers beyond the required API, and the browser. */
async function features() {
  const m = await dbrsModule();
  const name = 'bench-features-' + Date.now();
  const db = await m.open(name, { [STORE]: m.lookupTable() });
  const t = db.tables[STORE];
  const out = {
    insertMany: typeof t.insertMany === 'function',
    getMany: typeof t.getMany === 'function',
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  await db.close();
  await m.deleteDatabase(name);
  return out;
}

window.bench = {
  commits: safe(commits),
  fill: safe(fill),
  cleanup: safe(cleanup),
  features: safe(features),
  tieringBulk: safe(tieringBulk),
  commitPhases: safe(commitPhases),
  // Set below on a ?reload= or ?open= page; the driver awaits them.
  reload: null,
  open: null,
};

const params = new URLSearchParams(location.search);
if (params.has('reload')) {
  window.bench.reload = safe(reload)({
    lib: params.get('reload'),
    db: params.get('db'),
    n: Number(params.get('n')),
    durability: params.get('durability') || 'default',
  });
}
if (params.has('open')) {
  window.bench.open = safe(openEmpty)({ lib: params.get('open'), db: params.get('db') });
}
