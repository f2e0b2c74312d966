// dbrs: a typed, transactional key-value store in the browser, backed by
// dbrs.wasm and IndexedDB. See README.md.
//
// Runtime exports: open, deleteDatabase, importLog, the schema builders and
// DbrsError. Everything else is types.

export { open, deleteDatabase, importLog } from './db.js';
export { single, list, lookupTable, lookupList, lookupSet, lookupMap } from './schema.js';
export { DbrsError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Check, TableChecks } from './checks.js';
export type {
  Key,
  Schema,
  TableDef,
  SingleDef, ListDef, LookupTableDef, LookupListDef, LookupSetDef, LookupMapDef,
  Single, SingleTx, SingleView,
  List, ListTx, ListView,
  LookupTable, LookupTableTx, LookupTableView,
  LookupList, LookupListTx, LookupListView,
  LookupSet, LookupSetTx, LookupSetView,
  LookupMap, LookupMapTx, LookupMapView,
  TableOf, TxTableOf, ViewTableOf,
  Tables, TxTables, ViewTables,
  SyncResult,
  DB,
  Change,
  Subscribable,
  Stats,
  TabRole,
  Segment,
  LoadOptions,
  OpenOptions,
  Upgrade,
} from './types.js';
export type { Bridge, BridgeError, BridgeErrorCode, BridgeOpenOptions, BridgeResult, BridgeSegment, BridgeTable, TableKind, UpgradeStep } from './bridge.js';
