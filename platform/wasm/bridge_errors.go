//go:build js && wasm

package wasm

// Error mapping of the bridge: every Go error becomes a JS Error with a
// stable `code` (js/src/bridge.ts, BridgeErrorCode).

import (
	"errors"
	"strings"
	"syscall/js"

	"github.com/dbrs-db/dbrs/core"
)

// bridgeError is an error the bridge itself raises with a known code
// ('Busy', 'Locked', 'Closed', 'BadValue', 'TxClosed'...).
type bridgeError struct {
	code string
	msg  string
}

func (e *bridgeError) Error() string { return e.msg }

func newBridgeError(code, msg string) error {
	if !strings.HasPrefix(msg, "dbrs: ") {
		msg = "dbrs: " + msg
	}
	return &bridgeError{code: code, msg: msg}
}

func badValue(msg string) error { return newBridgeError("BadValue", msg) }

var (
	errUnknownHandle = newBridgeError("Closed", "database is closed (unknown or closed handle)")
	errNoTx          = newBridgeError("TxClosed", "no open transaction on this handle")
	errBusy          = newBridgeError("Busy", "the write lock is held; await writable(h) and retry")
	errTxOpen        = newBridgeError("Busy", "a transaction is already open on this handle")
)

// idbOther are the IndexedDB errors that map to the generic 'IDB' code.
var idbOther = []error{ErrInvalidState, ErrVersion, ErrConstraint, ErrData, ErrTimeout, ErrUnavailable, ErrCorruptStore}

// errorCode returns the bridge code of err. ErrPoisoned is checked first;
// then damage to the log (Corrupt, BadEntry, which wrap the entry's own
// cause), then IndexedDB failures (which core wraps in its own messages),
// then the core sentinels. Anything else is 'Internal'.
func errorCode(err error) string {
	if errors.Is(err, core.ErrPoisoned) {
		return "Poisoned"
	}
	return causeCode(err)
}

// causeCode is errorCode without the ErrPoisoned check: for a poisoned
// database it names the failure that poisoned it.
func causeCode(err error) string {
	var be *bridgeError
	if errors.As(err, &be) {
		return be.code
	}
	switch {
	case errors.Is(err, core.ErrVersion):
		return "Version"
	case errors.Is(err, core.ErrCorrupt):
		return "Corrupt"
	case errors.Is(err, core.ErrBadEntry):
		return "BadEntry"
	case errors.Is(err, ErrQuotaExceeded):
		return "Quota"
	case errors.Is(err, ErrAbort):
		return "Abort"
	case errors.Is(err, ErrUnknown):
		return "IDBUnknown"
	}
	var ie *IDBError
	if errors.As(err, &ie) {
		return "IDB"
	}
	for _, s := range idbOther {
		if errors.Is(err, s) {
			return "IDB"
		}
	}
	switch {
	case errors.Is(err, core.ErrSchema):
		return "Schema"
	case errors.Is(err, core.ErrUnknownTable):
		return "UnknownTable"
	case errors.Is(err, core.ErrLocked):
		return "Locked"
	case errors.Is(err, core.ErrNotFound):
		return "NotFound"
	case errors.Is(err, core.ErrIndex):
		return "Index"
	case errors.Is(err, core.ErrEmpty):
		return "Empty"
	case errors.Is(err, core.ErrReadOnly):
		return "ReadOnly"
	case errors.Is(err, core.ErrTxClosed):
		return "TxClosed"
	case errors.Is(err, core.ErrClosed), errors.Is(err, core.ErrNotOpen):
		return "Closed"
	case errors.Is(err, core.ErrTooLarge):
		return "TooLarge"
	case errors.Is(err, core.ErrBadValue):
		return "BadValue"
	}
	return "Internal"
}

// toJSError builds the JS Error the bridge returns or rejects with:
// `new Error(message)` with `code`, and `causeCode` (Poisoned) or `segment`
// and `offset` (Corrupt) when they apply.
func toJSError(err error) js.Value {
	msg := err.Error()
	if !strings.HasPrefix(msg, "dbrs: ") {
		msg = "dbrs: " + msg
	}
	e := jsError.New(msg)
	code := errorCode(err)
	e.Set("code", code)
	if code == "Poisoned" {
		e.Set("causeCode", causeCode(err))
	}
	var ce *core.CorruptError
	if errors.As(err, &ce) {
		e.Set("segment", float64(ce.Segment))
		e.Set("offset", float64(ce.Offset))
	}
	return e
}
