// Schema builders. Each returns a tiny definition object whose type
// carries the table's key and value types; open() reads its `kind`, and its
// optional runtime `checks` (for plain-JS callers, whom the types do not
// protect: a write whose key or value fails a check rejects with
// 'BadValue' before anything is logged).
//
//     const schema = {
//       owner: single<string>(),
//       users: lookupTable<string, Account>(),
//     };

import { validChecks, type TableChecks } from './checks.js';
import type { Key } from './codec.js';
import type {
  SingleDef, ListDef, LookupTableDef, LookupListDef, LookupSetDef, LookupMapDef,
} from './types.js';

/** A table holding at most one T. */
export function single<T>(checks?: Pick<TableChecks, 'value'>): SingleDef<T> {
  return def('single', checks, ['value']);
}

/** An ordered list of T. */
export function list<T>(checks?: Pick<TableChecks, 'value'>): ListDef<T> {
  return def('list', checks, ['value']);
}

/**
 * A map K → V. K must be a Key (no objects: see README "Keys"). checks,
 * optional, are run on every write: `lookupTable<string, number>({ key:
 * 'string', value: 'number' })`.
 */
export function lookupTable<K extends Key, V>(checks?: Pick<TableChecks, 'key' | 'value'>): LookupTableDef<K, V> {
  return def('lookup_table', checks, ['key', 'value']);
}

/** A map K → ordered list of V; cheaper than a lookupTable of arrays for small edits. */
export function lookupList<K extends Key, V>(checks?: Pick<TableChecks, 'key' | 'value'>): LookupListDef<K, V> {
  return def('lookup_list', checks, ['key', 'value']);
}

/** A map K → set of V. Members are compared by their encoding, so V must be a Key too. */
export function lookupSet<K extends Key, V extends Key>(checks?: Pick<TableChecks, 'key' | 'value'>): LookupSetDef<K, V> {
  return def('lookup_set', checks, ['key', 'value']);
}

/** A two-level map K1 → (K2 → V). */
export function lookupMap<K1 extends Key, K2 extends Key, V>(checks?: TableChecks): LookupMapDef<K1, K2, V> {
  return def('lookup_map', checks, ['key', 'inner', 'value']);
}

function def<D>(kind: string, checks: TableChecks | undefined, allowed: (keyof TableChecks)[]): D {
  const c = validChecks(checks, allowed);
  return (c ? { kind, checks: c } : { kind }) as D;
}
