package core

import (
	"errors"
	"fmt"
)

// Errors returned while opening a database.
var (
	// ErrCorrupt is returned when the log holds a damaged record that cannot
	// be a torn tail: it lies in a segment that a later one follows, or below
	// a synced watermark (or, in a log without watermarks, valid data
	// follows it; see record.go). The error is a *CorruptError that names the
	// segment and offset.
	ErrCorrupt = errors.New("dbrs: log is corrupt")

	// ErrBadEntry is returned when a record is intact (its CRC matches) but a
	// table entry inside it cannot be decoded for its table: bad msgpack, an
	// unknown op, or a value of the wrong type for the schema.
	ErrBadEntry = errors.New("dbrs: bad table entry")

	// ErrSchema is returned when the schema cannot be bound: an unsupported
	// field type, a duplicate table name, no tables, or a table whose kind
	// differs from the kind recorded in the log.
	ErrSchema = errors.New("dbrs: invalid schema")

	// ErrUnknownTable is returned when the log holds a table that the schema
	// lacks and Options.KeepUnknownTables is false, or when a dynamic lookup
	// names a table that does not exist.
	ErrUnknownTable = errors.New("dbrs: unknown table")

	// ErrLocked is returned by backends that lock their storage when another
	// process (or another open in this process) holds the lock.
	ErrLocked = errors.New("dbrs: database is locked by another opener")

	// ErrNotExist is returned when there is no database to open and none may
	// be created: Options.MustExist is set and the storage is missing or
	// holds no log, or a read-only open finds no storage at all (native: no
	// folder; a read-only open of an empty folder opens an empty database).
	ErrNotExist = errors.New("dbrs: database does not exist")

	// ErrNotDatabase is returned when the storage holds other data but no
	// dbrs log (native: a folder of other files), so that a mistyped path
	// never becomes a new database among someone else's files.
	ErrNotDatabase = errors.New("dbrs: not a dbrs database")

	// ErrVersion is returned when the log's schema version is newer than
	// Options.Version (there is no downgrade), or older in a read-only
	// open, which cannot upgrade it.
	ErrVersion = errors.New("dbrs: schema version")
)

// Errors returned by table operations and transactions.
var (
	// ErrNotFound is returned when a mutation names a key that does not exist.
	ErrNotFound = errors.New("dbrs: key not found")

	// ErrIndex is returned when a list index is out of range.
	ErrIndex = errors.New("dbrs: index out of range")

	// ErrEmpty is returned by Pop on an empty list.
	ErrEmpty = errors.New("dbrs: list is empty")

	// ErrReadOnly is returned by a write on a read-only database or inside View.
	ErrReadOnly = errors.New("dbrs: read-only")

	// ErrTxClosed is returned when a table handle from a finished transaction is used.
	ErrTxClosed = errors.New("dbrs: transaction is closed")

	// ErrClosed is returned by every operation on a closed database.
	ErrClosed = errors.New("dbrs: database is closed")

	// ErrNotOpen is returned by a table handle that was never bound to a database.
	ErrNotOpen = errors.New("dbrs: table is not bound to an open database")

	// ErrTooLarge is returned when one entry (a key and its value) would
	// not fit in a record of MaxRecordSize.
	ErrTooLarge = errors.New("dbrs: record exceeds MaxRecordSize")

	// ErrBadValue is returned when a raw msgpack key or value passed to a
	// dynamic table is not exactly one well-formed msgpack value.
	ErrBadValue = errors.New("dbrs: value is not one well-formed msgpack value")

	// ErrPoisoned is returned by every write after a failure that left the log
	// in a state the database could not repair (a failed sync whose effect is
	// unknown, or a failed truncate). Reads keep working; reopen to write again.
	ErrPoisoned = errors.New("dbrs: database refuses writes after an unrecoverable I/O failure; reopen it")
)

// CorruptError reports where the log is damaged. It matches ErrCorrupt with errors.Is.
type CorruptError struct {
	Segment uint64 // segment ID
	Offset  int64  // byte offset of the damaged record within the segment
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("dbrs: log is corrupt: segment %d offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// EntryError reports a table entry that could not be applied during replay.
// It matches ErrBadEntry (and the underlying cause) with errors.Is.
type EntryError struct {
	Segment uint64
	Offset  int64  // offset of the record holding the entry
	Table   string // table name, if known
	Err     error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("dbrs: bad table entry: segment %d offset %d table %q: %v", e.Segment, e.Offset, e.Table, e.Err)
}

func (e *EntryError) Unwrap() []error { return []error{ErrBadEntry, e.Err} }

// poisonError is the sticky error of a database that refuses writes.
type poisonError struct{ cause error }

func (e *poisonError) Error() string   { return ErrPoisoned.Error() + ": " + e.cause.Error() }
func (e *poisonError) Unwrap() []error { return []error{ErrPoisoned, e.cause} }

// writeError wraps an I/O failure of a commit that was rolled back cleanly.
type writeError struct{ cause error }

func (e *writeError) Error() string {
	return "dbrs: commit failed and was rolled back: " + e.cause.Error()
}
func (e *writeError) Unwrap() error { return e.cause }

var errDuplicateMember = errors.New("set member inserted twice")
