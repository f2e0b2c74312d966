package core

// Backend stores the segments of one database. core calls it from one
// goroutine at a time for Create, Append, Truncate and Install (they are
// serialized by the database's write lock), but Sync may run concurrently with
// Append and with another Sync, and ReadSegment may run concurrently with
// anything (compaction reads sealed segments while writers append to the
// active one). Implementations: MemBackend here, platform/native (OS files)
// and platform/wasm (IndexedDB).
//
// Durability contract: data passed to Append becomes durable only when a
// later Sync of the same segment returns nil. Create and Install are durable
// when they return nil. After a power loss, each segment holds the bytes its
// last successful Sync covered; every byte written or cut since (by Append
// or Truncate) may be in any state it had since that Sync, independently of
// the others: pages may persist out of order (a later page kept, an earlier
// one lost, reading as zeros or as its older contents), the segment's length
// may be any length it had since (an unsynced Truncate may come back), and a
// page may tear. Nothing else is lost or invented. core tells a torn tail
// from corruption by synced watermark records (see record.go).
// core/internal/crashtest simulates exactly this model.
type Backend interface {
	// Segments returns the IDs of all segments, ascending. An Install that
	// did not complete must not show its segment here.
	Segments() ([]uint64, error)

	// ReadSegment returns the bytes of segment id from offset 0. The result
	// may extend past the last record with zero bytes (preallocation) and
	// must include everything appended so far, synced or not. The caller
	// owns the returned slice: the backend never writes to it again (the
	// state loaded at open keeps strings that alias it).
	ReadSegment(id uint64) ([]byte, error)

	// Create makes a new empty segment id and makes its existence durable.
	// It fails if id exists. Ordering: every byte appended to an older
	// segment before Create must become durable no later than any byte
	// appended to the new one (native: Create syncs the other segments
	// first; IndexedDB: one serialized flush queue). core relies on this so
	// that a crash never keeps a newer segment's commits while losing an
	// older one's.
	Create(id uint64) error

	// Append writes p at byte offset off of segment id. off is always the
	// logical end of the segment as core knows it (the end of the last
	// record); an offset past the end is an error. The backend must not
	// retain p after Append returns.
	Append(id uint64, off int64, p []byte) error

	// Sync makes every byte appended to segment id durable. It is safe to
	// call concurrently with Append and with other Syncs; a Sync that
	// returns nil covers every Append that returned before it was called.
	Sync(id uint64) error

	// Truncate discards the bytes of segment id at and after size (nothing
	// if size is past the end). Until the next successful Sync of id, a
	// crash may leave the old bytes, which core reads as a torn tail.
	Truncate(id uint64, size int64) error

	// Install atomically creates segment id holding the concatenation of
	// chunks (each a run of whole records), then removes the segments listed
	// in remove. When it returns nil the new segment and the removals are
	// durable. If it fails or the process dies, segment id is either absent
	// or complete, never partial, and each removed segment may or may not be
	// gone (a power loss during the removals may bring any of them back).
	// core re-reads Segments after a failed Install to learn which.
	Install(id uint64, chunks [][]byte, remove []uint64) error

	// Close releases the backend's resources (files, locks, connections).
	// It does not sync: core syncs before it closes. Every method called
	// after Close returns an error.
	Close() error
}

// SyncedSizer is implemented by backends that know how many bytes of a
// segment are durable. A sync may make durable more than core asked for
// (IndexedDB flushes everything buffered); after a failed sync, core keeps
// the commits that lie wholly within the durable bytes instead of failing
// them, and cuts only what follows.
type SyncedSizer interface {
	Synced(id uint64) int64
}

// StreamingBackend is implemented by backends that take a transaction's
// records while it is still open: their Append passes the bytes on to
// storage (rather than holding them in memory until Sync), and their
// Truncate cuts any bytes, durable ones included. When CutsDurable reports
// true, a large transaction appends its records as it goes and a rollback
// cuts them (stream.go), so that it holds a chunk or two of encoded entries
// in memory instead of all of them. Other backends (IndexedDB, which can
// cut only what it has not flushed) get a transaction's records at commit.
type StreamingBackend interface {
	CutsDurable() bool
}
