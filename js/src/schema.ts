// Schema builders. Each returns a tiny definition object whose type
// carries the table's key and value types; open() reads only `kind`.
//
//     const schema = {
//       owner: single<string>(),
//       users: lookupTable<string, Account>(),
//     };

import type { Key } from './codec.js';
import type {
  SingleDef, ListDef, LookupTableDef, LookupListDef, LookupSetDef, LookupMapDef,
} from './types.js';

/** A table holding at most one T. */
export function single<T>(): SingleDef<T> {
  return { kind: 'single' };
}

/** An ordered list of T. */
export function list<T>(): ListDef<T> {
  return { kind: 'list' };
}

/** A map K → V. K must be a Key (no objects: see README "Keys"). */
export function lookupTable<K extends Key, V>(): LookupTableDef<K, V> {
  return { kind: 'lookup_table' };
}

/** A map K → ordered list of V; cheaper than a lookupTable of arrays for small edits. */
export function lookupList<K extends Key, V>(): LookupListDef<K, V> {
  return { kind: 'lookup_list' };
}

/** A map K → set of V. Members are compared by their encoding, so V must be a Key too. */
export function lookupSet<K extends Key, V extends Key>(): LookupSetDef<K, V> {
  return { kind: 'lookup_set' };
}

/** A two-level map K1 → (K2 → V). */
export function lookupMap<K1 extends Key, K2 extends Key, V>(): LookupMapDef<K1, K2, V> {
  return { kind: 'lookup_map' };
}
