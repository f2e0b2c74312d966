//go:build js && wasm

package wasm

import (
	"errors"
	"fmt"
	"syscall/js"

	"github.com/hack-pad/go-indexeddb/idb"
)

// Errors returned when IndexedDB fails. Each one stands for a DOMException
// name; the error the backend returns is an *IDBError that matches the
// sentinel with errors.Is, and also matches go-indexeddb's
// idb.NewDOMException(name), so callers may test either way.
var (
	// ErrQuotaExceeded is returned when the browser refuses a write because
	// the origin ran out of storage quota (QuotaExceededError). Nothing of
	// the failed transaction was written.
	ErrQuotaExceeded = errors.New("dbrs: IndexedDB quota exceeded")

	// ErrAbort is returned when IndexedDB aborted a transaction
	// (AbortError), for example because the connection was closed by the
	// browser while it ran. Nothing of the transaction was written.
	ErrAbort = errors.New("dbrs: IndexedDB transaction aborted")

	// ErrUnknown is returned for IndexedDB's UnknownError, which browsers
	// use for transient failures such as a lost backing-store connection
	// or a failed disk write. Nothing of the transaction was written.
	ErrUnknown = errors.New("dbrs: IndexedDB unknown error")

	// ErrInvalidState is returned when the database connection is closed
	// or being deleted (InvalidStateError), for example after DeleteIDB or
	// after another tab upgraded the database.
	ErrInvalidState = errors.New("dbrs: IndexedDB connection is closed")

	// ErrVersion is returned when the stored database is newer than this
	// code (VersionError).
	ErrVersion = errors.New("dbrs: IndexedDB database version is newer than supported")

	// ErrConstraint is returned when a write breaks a store constraint
	// (ConstraintError).
	ErrConstraint = errors.New("dbrs: IndexedDB constraint violated")

	// ErrData is returned when IndexedDB rejects a key or a value
	// (DataError, DataCloneError).
	ErrData = errors.New("dbrs: IndexedDB rejected a key or value")

	// ErrTimeout is returned when IndexedDB timed out (TimeoutError).
	ErrTimeout = errors.New("dbrs: IndexedDB operation timed out")

	// ErrUnavailable is returned when the page has no usable IndexedDB
	// (no indexedDB global, or SecurityError in private or sandboxed
	// contexts).
	ErrUnavailable = errors.New("dbrs: IndexedDB is not available")

	// ErrCorruptStore is returned when the chunks store holds something
	// this backend never writes: a value that is not a Uint8Array, a key
	// that is not [segment, offset], or chunks that do not tile a segment.
	ErrCorruptStore = errors.New("dbrs: IndexedDB chunks store is corrupt")
)

// domExceptionErrors maps DOMException names to the sentinels above.
var domExceptionErrors = []struct {
	name string
	err  error
}{
	{"QuotaExceededError", ErrQuotaExceeded},
	{"AbortError", ErrAbort},
	{"UnknownError", ErrUnknown},
	{"InvalidStateError", ErrInvalidState},
	{"TransactionInactiveError", ErrInvalidState},
	{"VersionError", ErrVersion},
	{"ConstraintError", ErrConstraint},
	{"DataError", ErrData},
	{"DataCloneError", ErrData},
	{"TimeoutError", ErrTimeout},
	{"SecurityError", ErrUnavailable},
}

// IDBError reports a failed IndexedDB operation. It matches, with
// errors.Is, the sentinel for its DOMException name (ErrQuotaExceeded, ...)
// and the underlying cause (an idb.DOMException, or an injected fault).
type IDBError struct {
	Op      string // "open", "flush", "install", "read", "segments", "delete"
	DB      string // database name
	Name    string // DOMException name, "" if the cause was not a DOMException
	Message string // DOMException message, if any
	Err     error  // the cause
}

func (e *IDBError) Error() string {
	s := fmt.Sprintf("dbrs: IndexedDB %s of %q failed", e.Op, e.DB)
	switch {
	case e.Name != "" && e.Message != "":
		return s + ": " + e.Name + ": " + e.Message
	case e.Name != "":
		return s + ": " + e.Name
	case e.Err != nil:
		return s + ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the sentinel for the DOMException name, if known, and the
// cause.
func (e *IDBError) Unwrap() []error {
	errs := make([]error, 0, 2)
	for _, m := range domExceptionErrors {
		if m.name == e.Name {
			errs = append(errs, m.err)
			break
		}
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// wrapIDBError turns an error from go-indexeddb (an idb.DOMException, whose
// name is not exported, or a js.Error) into an *IDBError. It returns nil for
// nil and leaves an *IDBError alone.
func wrapIDBError(op, db string, err error) error {
	if err == nil {
		return nil
	}
	var ie *IDBError
	if errors.As(err, &ie) {
		return err
	}
	e := &IDBError{Op: op, DB: db, Err: err}
	var je js.Error
	if errors.As(err, &je) {
		e.Name, e.Message = jsErrorName(je.Value)
		e.Err = idb.NewDOMException(e.Name)
		return e
	}
	for _, m := range domExceptionErrors {
		if errors.Is(err, idb.NewDOMException(m.name)) {
			e.Name = m.name
			// go-indexeddb formats a DOMException as "name: message".
			if msg := err.Error(); len(msg) > len(m.name)+2 && msg[:len(m.name)] == m.name {
				e.Message = msg[len(m.name)+2:]
			}
			break
		}
	}
	return e
}

// jsDOMExceptionError builds an *IDBError from a JS DOMException (or any JS
// Error object) received in an event, as request.error or transaction.error.
func jsDOMExceptionError(op, db string, v js.Value) error {
	name, msg := jsErrorName(v)
	if name == "" {
		name = "AbortError" // a transaction aborted without an error
	}
	return &IDBError{Op: op, DB: db, Name: name, Message: msg, Err: idb.NewDOMException(name)}
}

func jsErrorName(v js.Value) (name, msg string) {
	if v.Type() != js.TypeObject {
		return "", ""
	}
	if n := v.Get("name"); n.Type() == js.TypeString {
		name = n.String()
	}
	if m := v.Get("message"); m.Type() == js.TypeString {
		msg = m.String()
	}
	return name, msg
}
