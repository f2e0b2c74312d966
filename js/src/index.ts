// dbrs: a typed, transactional key-value store in the browser, backed by
// dbrs.wasm and IndexedDB. See README.md.
//
// Runtime exports: open, deleteDatabase, importLog, the schema builders and
// DbrsError. Everything else is types.
//
// Every module of the shim (and @msgpack/msgpack) is imported here directly,
// not only through the module that needs it: a page that loads the shim
// unbundled then fetches them all in one round after this file, instead of
// one round per level of imports (six before this list), and the load of
// dbrs.wasm, which waits for all of them, starts that much earlier. None of
// them has side effects; test/load.test.ts checks that the list is whole.
import './errors.js';
import './checks.js';
import '@msgpack/msgpack';
import './codec.js';
import './bridge.js';
import './ops.js';
import './wasm.js';
import './load.js';
import './tablock.js';
import './follower.js';
import './tables.js';
import './marker.js';
import './migrate.js';
import './schema.js';
import './db.js';

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
