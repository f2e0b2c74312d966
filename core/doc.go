// Package core implements dbrs, an embedded, transactional key-value store
// with a typed schema. All data lives in memory; every mutation is appended
// to a log, which compaction rewrites as a snapshot.
//
// # Basics
//
// A schema is a struct whose fields are tables:
//
//	type Schema struct {
//		Owner core.Single[string]
//		Admins core.List[string]
//		Users core.LookupTable[string, Account] `dbrs:"users"`
//	}
//
// Open binds it by reflection. Table names come from the field name or the
// dbrs tag; the log identifies tables by name, so fields may be reordered or
// added freely. Table types: Single, List, LookupTable, LookupList,
// LookupSet, LookupMap, and user-defined kinds through Custom.
//
// Each mutation through db.Tables is a transaction of its own (auto-commit)
// and is durable when it returns nil. db.Update groups mutations on several
// tables into one transaction: all-or-nothing, of any size that fits in
// memory (one log record, or several that only their last commits), rolled
// back in memory if the function returns an error or panics. db.View gives a
// consistent read-only view of every table. Reads return copies (or
// iterators over copies), so callers can never alias internal state.
// db.Subscribe delivers every durable commit, in order, with the tables it
// wrote.
//
// A Backend stores the log: MemBackend here (no I/O), package
// platform/native (a folder of files) and package platform/wasm (IndexedDB).
// The log format is specified in record.go.
//
// # Schema versions
//
// Adding a table needs nothing. To rename or drop one, or change its value
// type, set Options.Version and Options.Upgrade: when the stored version is
// older, Open runs the upgrade (Upgrade.Rename, Upgrade.Drop, Transform,
// TransformSingle, TransformList, TransformMap) once, atomically, before it
// returns; a newer stored version is refused with ErrVersion. See migrate.go.
//
// # Durability
//
// Under SyncAlways (the default) a commit returns nil only after its record
// is synced; concurrent commits share one sync. After a crash, reopening
// yields a prefix of the commit sequence that holds every acknowledged
// commit and no partial transaction. A failed write or sync is reported to
// the caller and its changes are undone in memory; if the log cannot be
// repaired, the database refuses writes (ErrPoisoned) until reopened.
//
// # Caveats
//
//   - Writers are serialized, and a transaction holds the write lock while
//     its function runs: keep Update functions short. Readers outside it wait
//     too, so that no reader ever sees half a transaction.
//   - Inside Update or View, use the handles the function receives. Using
//     db.Tables there waits for the lock the function itself holds, and
//     never returns.
//   - A reader may see a commit a moment before it is durable. If that
//     commit's sync then fails, the commit is undone.
//   - Values whose types hold references (slices, maps, pointers) are kept as
//     msgpack bytes and decoded on every read, except []byte and RawValue,
//     which are kept as bytes and copied on every read. Plain values
//     (numbers, strings, arrays and structs of them) are kept as Go values.
//     Strings, []byte, bools, integers and float64 are encoded and decoded
//     without reflection; other types go through msgpack/v5.
//   - Keys must be plain: bool, integers, strings, or arrays and structs of
//     them. Float keys are refused: NaN never equals itself, and -0 equals 0
//     with other bytes, so neither could be found again by its bytes.
package core
