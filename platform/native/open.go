package native

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dbrs-db/dbrs/core"
)

// Open opens (or creates) the database in folder dir with the struct schema
// S. opts.ReadOnly opens with a shared lock and refuses writes;
// opts.LockTimeout bounds the wait for another opener (ErrLocked after it);
// opts.MustExist refuses to create a database (ErrNotExist). A folder that
// holds other files but no log fails with ErrNotDatabase (see NewBackend).
// An open that fails on a damaged log (ErrCorrupt) says how to inspect and
// repair it with the dbrs command. Close releases the folder.
func Open[S any](dir string, opts core.Options) (*core.DB[S], error) {
	b, err := NewBackend(dir, backendOptions(opts))
	if err != nil {
		return nil, err
	}
	db, err := core.Open[S](b, opts)
	if err != nil {
		b.Close()
		return nil, RepairHint(dir, err)
	}
	return db, nil
}

// OpenDynamic opens the database in folder dir with a schema described at
// run time (see core.Dynamic), as Open does.
func OpenDynamic(dir string, tables []core.TableSpec, opts core.Options) (*core.DB[core.Dynamic], error) {
	b, err := NewBackend(dir, backendOptions(opts))
	if err != nil {
		return nil, err
	}
	db, err := core.OpenDynamic(b, tables, opts)
	if err != nil {
		b.Close()
		return nil, RepairHint(dir, err)
	}
	return db, nil
}

func backendOptions(opts core.Options) BackendOptions {
	return BackendOptions{ReadOnly: opts.ReadOnly, LockTimeout: opts.LockTimeout, MustExist: opts.MustExist}
}

// RepairHint returns err, from opening the folder dir, with the commands
// that inspect and repair the log appended when err matches core.ErrCorrupt.
// The result matches everything err matches. Other errors pass unchanged.
func RepairHint(dir string, err error) error {
	if !errors.Is(err, core.ErrCorrupt) {
		return err
	}
	q := shellQuote(dir)
	return &hintError{err: err, hint: fmt.Sprintf("run `dbrs verify %s` to see the damage, and `dbrs repair %s` to cut the log back to its last intact record (it shows what it would cut; --yes applies it)", q, q)}
}

// shellQuote returns s as one word of a POSIX shell command.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@%=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hintError is an error with advice appended to its message.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + "; " + e.hint }
func (e *hintError) Unwrap() error { return e.err }
