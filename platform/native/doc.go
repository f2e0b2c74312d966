// Package native stores a dbrs database in a folder of segment files on the
// local file system. Backend implements core.Backend on that folder; it is
// Linux-first; on macOS, the BSDs, illumos and Windows it works without
// preallocation, and where there is no lock of the kind it needs (Solaris,
// AIX, Plan 9) NewBackend refuses to open rather than run unlocked.
//
// # The folder
//
// The folder (created 0700 if missing) holds:
//
//   - LOCK: an empty file (0600) that carries the lock described below.
//   - 0000000000000001.seg, ...: one file (0600) per segment, named by its ID
//     as 16 lowercase hex digits. A segment file holds records (see
//     core/record.go) and may end in zero bytes left by preallocation.
//   - 0000000000000009.seg.tmp: a segment being installed by compaction. It
//     becomes a segment only by an atomic rename; a read-write open deletes
//     any such leftover of an interrupted Install.
//
// Other files in the folder are ignored and left alone. But a folder that
// holds other files and no segment file is not a database: NewBackend
// refuses it (core.ErrNotDatabase) rather than create one there, so a
// mistyped path fails instead of filling someone's folder. A missing or
// empty folder becomes a new database, unless BackendOptions.MustExist (or
// core.Options.MustExist) is set: then it fails with core.ErrNotExist.
//
// # Locking
//
// A read-write backend holds an exclusive lock on LOCK; a read-only backend
// holds a shared one. The lock is flock, or LockFileEx on Windows; both
// belong to the open file, not to the process. So one writer, or any number of readers, may have the
// folder open at a time, across processes and within one process (each
// NewBackend opens LOCK anew, and flock locks belong to the open file). An
// opener that conflicts fails with an error matching core.ErrLocked, after
// polling for BackendOptions.LockTimeout. The lock is released by Close or
// when the process exits, however it exits.
//
// A read-only open writes nothing: if LOCK is missing (no read-write opener
// has made it) it is not created, and the open proceeds without a lock.
// BackendOptions.NoLock opens read-only without any lock, beside a writer,
// for inspection tools such as `dbrs verify`.
//
// # Preallocation
//
// Appends write with pwrite at the offset core gives. When a write would end
// past the file's size, the file is first extended with fallocate (Linux) by
// max(1 MiB, min(size, 64 MiB)) at a time, so it reads as zeros past the data.
// An fdatasync then usually has no size change to journal, which roughly
// halves its cost. Truncate drops the preallocated tail; later appends extend
// the file again. Where fallocate is unsupported, files grow by plain writes.
//
// # Durability
//
// Sync of a segment is one fdatasync of its file (fsync elsewhere, with
// F_FULLFSYNC on darwin, FlushFileBuffers on Windows), and may run alongside
// appends and other syncs. Windows cannot flush a folder, so there the
// folder syncs below are skipped and NTFS's metadata journal is trusted.
// Create first fdatasyncs every open segment file, so everything appended to
// older segments is durable before anything in the new one, then creates the
// file and syncs the folder. Install writes the new segment to a temporary
// file, syncs it, renames it into place and syncs the folder before it
// deletes the segments it replaces. A read-write open syncs every segment
// file once, so data a crashed process wrote but never synced is made durable
// before new data is built on it: those syncs run while core reads the log,
// and every write or sync waits for them. A folder that NewBackend creates, and each
// missing parent it creates with it, is made durable by syncing the folder
// that holds it.
//
// Every call that changes a file or the folder goes through one small seam
// (fsys.go). The tests replace it by a recorder and check the order of
// writes, fdatasyncs, renames, removals and folder syncs against a
// power-loss model (durability_internal_test.go): a kill -9 test cannot,
// since the page cache survives a killed process.
package native
