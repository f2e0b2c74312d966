// Schema upgrades: the Upgrade object that open()'s upgrade function gets,
// over the bridge's upgradeStep calls (platform/wasm/bridge_upgrade.go,
// core/migrate.go). Go holds the stored tables; a transform fetches one
// table's elements as msgpack, decodes them, calls the function on each,
// checks and encodes the results as a write would, and hands them back in
// one call. Go checks the result against the schema and installs it
// atomically once the function has returned.

import type { Bridge, BridgeTable, UpgradeStep } from './bridge.js';
import { runCheck } from './checks.js';
import { checkKey, decode, encode } from './codec.js';
import { DbrsError, isBridgeError, toDbrsError } from './errors.js';
import type { TableSpec } from './tables.js';
import type { Upgrade } from './types.js';

/** The upgrade of one open(): the onUpgrade to give the bridge, and what the user's function threw. */
export interface Upgrader {
  onUpgrade(id: number, from: number, to: number, tables: BridgeTable[]): void;
  /** Set when the user's function threw or rejected: open() rethrows it as it was. */
  failure?: { error: unknown };
}

/**
 * Returns the upgrader of an open() with the schema `defs`. onUpgrade never
 * throws: it starts fn and, whatever fn does, ends with the 'finish' step
 * (with a message when fn failed), which lets the open go on.
 */
export function upgrader(b: Bridge, fn: (u: Upgrade) => void | Promise<void>, defs: readonly TableSpec[]): Upgrader {
  const up: Upgrader = {
    onUpgrade(id, from, to, tables) {
      const u = new StoredTables(b, id, from, to, tables, defs);
      void (async () => {
        try {
          await fn(u);
        } catch (e) {
          up.failure = { error: e };
          b.upgradeStep(id, 'finish', e instanceof Error ? e.message : String(e));
          return;
        }
        b.upgradeStep(id, 'finish');
      })();
    },
  };
  return up;
}

class StoredTables implements Upgrade {
  private readonly list: { name: string; kind: string }[];

  constructor(
    private readonly b: Bridge,
    private readonly id: number,
    readonly from: number,
    readonly to: number,
    tables: BridgeTable[],
    private readonly defs: readonly TableSpec[],
  ) {
    this.list = tables.map((t) => ({ name: t.name, kind: t.kind }));
  }

  private step(step: UpgradeStep, ...args: (string | Uint8Array)[]): null | Uint8Array {
    const r = this.b.upgradeStep(this.id, step, ...args);
    if (isBridgeError(r)) throw toDbrsError(r);
    return r;
  }

  private find(name: unknown): { name: string; kind: string } {
    const t = this.list.find((x) => x.name === name);
    if (!t) throw new DbrsError('UnknownTable', `dbrs: upgrade: ${JSON.stringify(name)} is not among the stored tables`);
    return t;
  }

  tables(): { name: string; kind: string }[] {
    return this.list.map((t) => ({ ...t }));
  }

  rename(from: string, to: string): void {
    if (typeof from !== 'string' || typeof to !== 'string') throw new TypeError('dbrs: rename needs two table names');
    const t = this.find(from);
    this.step('rename', from, to);
    t.name = to;
  }

  drop(table: string): void {
    const t = this.find(table);
    this.step('drop', table);
    this.list.splice(this.list.indexOf(t), 1);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transform(table: string, fn: (value: any, ...keys: any[]) => unknown): void {
    if (typeof fn !== 'function') throw new TypeError('dbrs: transform needs a function');
    const t = this.find(table);
    const raw = this.step('elements', table);
    if (!(raw instanceof Uint8Array)) throw new DbrsError('Internal', 'dbrs: upgrade: the bridge returned no elements');
    const els = decode(raw) as [unknown[], unknown][];
    const checks = this.defs.find((d) => d.name === table)?.checks ?? {};
    const where = `upgrade of ${table}: value`;
    const out = els.map(([keys, v], i) => {
      const nv = fn(v, ...(t.kind === 'list' ? [i] : keys));
      if (t.kind === 'lookup_set') checkKey(nv, 'set member');
      runCheck(checks.value, nv, where);
      return nv;
    });
    this.step('setValues', table, encode(out));
  }
}
