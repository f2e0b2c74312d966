package native_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// folderState lists dir's entries with their sizes and modification times,
// and the folder's own modification time, which any entry created or
// removed in it changes.
func folderState(t *testing.T, dir string) string {
	t.Helper()
	fi, err := os.Stat(dir)
	must(t, err)
	return fi.ModTime().String() + " | " + dirState(t, dir)
}

// newDatabase makes a database in a new folder holding one pushed item and
// returns the folder.
func newDatabase(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	must(t, db.Tables.Log.Push("x"))
	must(t, db.Close())
	return dir
}

// Regression: a read-only open created LOCK when it was missing.
func TestOpen_ReadOnly_CreatesNoLockFile(t *testing.T) {
	dir := newDatabase(t)
	must(t, os.Remove(filepath.Join(dir, "LOCK")))
	before := folderState(t, dir)

	db, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	must(t, err)
	if db.Tables.Log.Len() != 1 {
		t.Fatal("read-only open without LOCK lost data")
	}
	must(t, db.Close())
	b := openBackend(t, dir, native.BackendOptions{ReadOnly: true})
	must(t, b.Close())

	if _, err := os.Stat(filepath.Join(dir, "LOCK")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a read-only open created LOCK (stat: %v)", err)
	}
	if after := folderState(t, dir); after != before {
		t.Fatalf("read-only opens changed the folder:\n%s\n%s", before, after)
	}
}

// A read-only open of an empty folder opens an empty database and leaves
// the folder empty.
func TestOpen_ReadOnly_EmptyFolderStaysEmpty(t *testing.T) {
	dir := t.TempDir()
	db, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	must(t, err)
	if db.Tables.Log.Len() != 0 {
		t.Fatal("an empty folder opened with data")
	}
	must(t, db.Close())
	if s := dirState(t, dir); s != "" {
		t.Fatalf("a read-only open of an empty folder left %q", s)
	}
}

// Where permissions are enforced (not as root), a read-only open works on a
// folder nobody may write to.
func TestOpen_ReadOnly_ReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only folders; TestOpen_ReadOnly_CreatesNoLockFile covers this")
	}
	dir := newDatabase(t)
	must(t, os.Remove(filepath.Join(dir, "LOCK")))
	must(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	db, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	must(t, err)
	must(t, db.Close())
}

func TestOpen_MustExist(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := native.Open[Schema](missing, core.Options{MustExist: true})
	wantDbrsError(t, "MustExist on a missing folder", err, core.ErrNotExist)
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MustExist created the folder (stat: %v)", err)
	}

	empty := t.TempDir()
	_, err = native.Open[Schema](empty, core.Options{MustExist: true})
	wantDbrsError(t, "MustExist on an empty folder", err, core.ErrNotExist)
	_, err = native.Open[Schema](empty, core.Options{MustExist: true, ReadOnly: true})
	wantDbrsError(t, "MustExist read-only on an empty folder", err, core.ErrNotExist)
	if s := dirState(t, empty); s != "" {
		t.Fatalf("MustExist left %q in an empty folder", s)
	}

	// A LOCK file alone (a read-write open that stopped before its first
	// segment) is not a database either.
	must(t, os.WriteFile(filepath.Join(empty, "LOCK"), nil, 0o600))
	_, err = native.Open[Schema](empty, core.Options{MustExist: true})
	wantDbrsError(t, "MustExist on a folder holding only LOCK", err, core.ErrNotExist)

	dir := newDatabase(t)
	for _, ro := range []bool{false, true} {
		db, err := native.Open[Schema](dir, core.Options{MustExist: true, ReadOnly: ro})
		must(t, err)
		if db.Tables.Log.Len() != 1 {
			t.Fatalf("MustExist (read-only %v) opened without the data", ro)
		}
		must(t, db.Close())
	}
}

func TestOpen_ReadOnly_MissingFolder_ErrNotExist(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := native.Open[Schema](missing, core.Options{ReadOnly: true})
	wantDbrsError(t, "read-only open of a missing folder", err, core.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v does not match fs.ErrNotExist", err)
	}
}

// Regression: a folder of other files (a mistyped path) became a database.
func TestOpen_RefusesFolderOfOtherFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
	must(t, os.Mkdir(filepath.Join(dir, "photos"), 0o700))
	before := folderState(t, dir)
	for _, opts := range []core.Options{{}, {ReadOnly: true}, {MustExist: true}} {
		_, err := native.Open[Schema](dir, opts)
		wantDbrsError(t, "open of a folder of other files", err, core.ErrNotDatabase)
		if !strings.Contains(err.Error(), `"notes.txt"`) {
			t.Fatalf("the error does not name what the folder holds: %v", err)
		}
	}
	if after := folderState(t, dir); after != before {
		t.Fatalf("a refused open changed the folder:\n%s\n%s", before, after)
	}
}

// Other files beside a log are still ignored, and the files dbrs makes
// itself do not make an empty folder foreign.
func TestOpen_ExistingDatabaseWithOtherFiles(t *testing.T) {
	dir := newDatabase(t)
	must(t, os.WriteFile(filepath.Join(dir, "README"), []byte("backups"), 0o600))
	db, err := native.Open[Schema](dir, core.Options{MustExist: true})
	must(t, err)
	if db.Tables.Log.Len() != 1 {
		t.Fatal("lost data")
	}
	must(t, db.Close())

	dbrsOwn := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dbrsOwn, "LOCK"), nil, 0o600))
	must(t, os.WriteFile(segPath(dbrsOwn, 1)+".tmp", []byte("half an install"), 0o600))
	db, err = native.Open[Schema](dbrsOwn, core.Options{})
	must(t, err)
	must(t, db.Close())
}

func TestNewBackend_NoLock(t *testing.T) {
	dir := t.TempDir()
	w := openBackend(t, dir, native.BackendOptions{})
	must(t, w.Create(1))
	must(t, w.Append(1, 0, []byte("written by the holder")))
	r := openBackend(t, dir, native.BackendOptions{ReadOnly: true, NoLock: true})
	got, err := r.ReadSegment(1)
	must(t, err)
	checkData(t, "segment 1 read without a lock", got, []byte("written by the holder"))
	wantDbrsError(t, "Append without a lock", r.Append(1, 0, []byte("x")), core.ErrReadOnly)

	_, err = native.NewBackend(dir, native.BackendOptions{NoLock: true})
	if err == nil || !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("NoLock without ReadOnly: %v, want a dbrs: error", err)
	}
}

// An open that fails on corruption says which commands inspect and repair
// the log, and still matches ErrCorrupt and *CorruptError.
func TestOpen_CorruptNamesVerifyAndRepair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	for _, s := range []string{"first", "second", "third"} {
		must(t, db.Tables.Log.Push(s))
	}
	must(t, db.Close())
	path := segPath(dir, 1)
	data, err := os.ReadFile(path)
	must(t, err)
	i := bytes.Index(data, []byte("second"))
	data[i] ^= 0xff
	must(t, os.WriteFile(path, data, 0o600))

	_, err = native.Open[Schema](dir, core.Options{})
	var ce *core.CorruptError
	if !errors.Is(err, core.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("open of a corrupt log: %v, want a *CorruptError", err)
	}
	for _, want := range []string{"dbrs: log is corrupt", "dbrs verify " + dir, "dbrs repair " + dir} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
	_, err = native.OpenDynamic(dir, []core.TableSpec{{Name: "Log", Kind: core.KindList}}, core.Options{ReadOnly: true})
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "dbrs repair") {
		t.Fatalf("OpenDynamic of a corrupt log: %v", err)
	}
}
