package native_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/backendtest"
	"github.com/dbrs-db/dbrs/platform/native"
)

func TestBackend(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) core.Backend {
		b, err := native.NewBackend(t.TempDir(), native.BackendOptions{})
		if err != nil {
			t.Fatalf("NewBackend: %v", err)
		}
		return b
	})
}

// openBackend opens dir and closes the backend when the test ends.
func openBackend(t *testing.T, dir string, opts native.BackendOptions) *native.Backend {
	t.Helper()
	b, err := native.NewBackend(dir, opts)
	if err != nil {
		t.Fatalf("NewBackend(%s, %+v): %v", dir, opts, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func segPath(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%016x.seg", id))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantDbrsError(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, target)
	}
	if !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("%s: error %q does not start with \"dbrs: \"", what, err)
	}
}

// checkData fails t unless got is want followed only by zero bytes.
func checkData(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("%s: the first %d bytes differ from what was written", what, len(want))
	}
	if bytes.ContainsFunc(got[len(want):], func(r rune) bool { return r != 0 }) {
		t.Fatalf("%s: non-zero bytes after the data end %d", what, len(want))
	}
}

func TestNewBackend_ErrLocked(t *testing.T) {
	dir := t.TempDir()
	openBackend(t, dir, native.BackendOptions{})
	b, err := native.NewBackend(dir, native.BackendOptions{})
	if err == nil {
		b.Close()
	}
	wantDbrsError(t, "second read-write open in the same process", err, core.ErrLocked)
}

func TestNewBackend_LockTimeout_Expires(t *testing.T) {
	dir := t.TempDir()
	openBackend(t, dir, native.BackendOptions{})
	const timeout = 150 * time.Millisecond
	start := time.Now()
	b, err := native.NewBackend(dir, native.BackendOptions{LockTimeout: timeout})
	if err == nil {
		b.Close()
	}
	wantDbrsError(t, "open with LockTimeout while locked", err, core.ErrLocked)
	if waited := time.Since(start); waited < timeout {
		t.Fatalf("NewBackend failed after %v, want it to wait at least %v", waited, timeout)
	}
}

func TestNewBackend_LockTimeout_Acquired(t *testing.T) {
	dir := t.TempDir()
	first, err := native.NewBackend(dir, native.BackendOptions{})
	must(t, err)
	must(t, first.Create(1))
	released := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		released <- first.Close()
	}()
	second := openBackend(t, dir, native.BackendOptions{LockTimeout: 10 * time.Second})
	must(t, <-released)
	ids, err := second.Segments()
	must(t, err)
	if !slices.Equal(ids, []uint64{1}) {
		t.Fatalf("Segments = %v, want [1]", ids)
	}
}

func TestNewBackend_ReadOnly_Shared(t *testing.T) {
	dir := t.TempDir()
	data := []byte("a read-only opener sees this")
	rw := openBackend(t, dir, native.BackendOptions{})
	must(t, rw.Create(1))
	must(t, rw.Append(1, 0, data))
	must(t, rw.Sync(1))
	must(t, rw.Close())

	ro1 := openBackend(t, dir, native.BackendOptions{ReadOnly: true})
	ro2 := openBackend(t, dir, native.BackendOptions{ReadOnly: true})
	for _, ro := range []*native.Backend{ro1, ro2} {
		got, err := ro.ReadSegment(1)
		must(t, err)
		checkData(t, "segment 1 read-only", got, data)
		must(t, ro.Sync(1))
		wantDbrsError(t, "Create read-only", ro.Create(2), core.ErrReadOnly)
		wantDbrsError(t, "Append read-only", ro.Append(1, int64(len(data)), []byte("x")), core.ErrReadOnly)
		wantDbrsError(t, "Truncate read-only", ro.Truncate(1, 0), core.ErrReadOnly)
		wantDbrsError(t, "Install read-only", ro.Install(2, [][]byte{data}, []uint64{1}), core.ErrReadOnly)
	}
	b, err := native.NewBackend(dir, native.BackendOptions{})
	if err == nil {
		b.Close()
	}
	wantDbrsError(t, "read-write open while read-only openers hold the folder", err, core.ErrLocked)

	got, err := ro1.ReadSegment(1)
	must(t, err)
	checkData(t, "segment 1 after refused writes", got, data)
	if _, err := os.Stat(segPath(dir, 2)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("segment 2 file after refused Create/Install: %v, want it absent", err)
	}
}

func TestNewBackend_ReadOnly_BlockedByWriter(t *testing.T) {
	dir := t.TempDir()
	openBackend(t, dir, native.BackendOptions{})
	b, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true})
	if err == nil {
		b.Close()
	}
	wantDbrsError(t, "read-only open while a writer holds the folder", err, core.ErrLocked)
}

func TestNewBackend_ReadOnly_MissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	b, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true})
	if err == nil {
		b.Close()
	}
	wantDbrsError(t, "read-only open of a missing folder", err, fs.ErrNotExist)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read-only open created the folder (stat: %v)", err)
	}
}

func TestNewBackend_Permissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parent", "db")
	b := openBackend(t, dir, native.BackendOptions{})
	must(t, b.Create(1))
	must(t, b.Append(1, 0, []byte("x")))
	must(t, b.Install(2, [][]byte{[]byte("y")}, nil))
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{
		{filepath.Dir(dir), fs.ModeDir | 0o700},
		{dir, fs.ModeDir | 0o700},
		{filepath.Join(dir, "LOCK"), 0o600},
		{segPath(dir, 1), 0o600},
		{segPath(dir, 2), 0o600},
	} {
		fi, err := os.Stat(c.path)
		must(t, err)
		if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
		}
	}
}

func TestNewBackend_RemovesLeftoverTemp(t *testing.T) {
	dir := t.TempDir()
	tmp := segPath(dir, 3) + ".tmp"
	other := filepath.Join(dir, "notes.tmp")
	must(t, os.WriteFile(segPath(dir, 2), nil, 0o600))
	must(t, os.WriteFile(tmp, []byte("half an install"), 0o600))
	must(t, os.WriteFile(other, []byte("not ours"), 0o600))

	ro := openBackend(t, dir, native.BackendOptions{ReadOnly: true})
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("a read-only open touched the folder: %v", err)
	}
	must(t, ro.Close())

	b := openBackend(t, dir, native.BackendOptions{})
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("leftover %s after a read-write open: %v, want it removed", tmp, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("a file the backend does not own was touched: %v", err)
	}
	ids, err := b.Segments()
	must(t, err)
	if !slices.Equal(ids, []uint64{2}) {
		t.Fatalf("Segments = %v, want [2]", ids)
	}
}

func TestBackend_Segments_IgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		"00000000000000AB.seg", // uppercase hex
		"ab.seg",               // not 16 digits
		"00000000000000ab.seg.tmp",
		"00000000000000ab.segx",
		"README",
	} {
		must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	must(t, os.WriteFile(filepath.Join(dir, "00000000000000ac.seg"), nil, 0o600))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	b := openBackend(t, dir, native.BackendOptions{})
	ids, err := b.Segments()
	must(t, err)
	if !slices.Equal(ids, []uint64{0xac}) {
		t.Fatalf("Segments = %v, want [172]", ids)
	}
}

func TestBackend_Append_Preallocates(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preallocation is Linux-only")
	}
	const mib = 1 << 20
	dir := t.TempDir()
	path := segPath(dir, 1)
	b := openBackend(t, dir, native.BackendOptions{})
	must(t, b.Create(1))
	data := bytes.Repeat([]byte{0xa5}, 100)
	must(t, b.Append(1, 0, data))
	must(t, b.Sync(1))
	if size := fileSize(t, path); size == int64(len(data)) {
		t.Skip("the file system of t.TempDir does not support fallocate")
	} else if size != mib {
		t.Fatalf("file size after a 100-byte append is %d, want %d", size, mib)
	}
	got, err := b.ReadSegment(1)
	must(t, err)
	checkData(t, "preallocated segment", got, data)

	more := bytes.Repeat([]byte{0x5a}, mib)
	must(t, b.Append(1, int64(len(data)), more))
	data = append(data, more...)
	if size := fileSize(t, path); size != 2*mib {
		t.Fatalf("file size after crossing 1 MiB is %d, want %d", size, 2*mib)
	}
	must(t, b.Sync(1))
	must(t, b.Close())
	if size := fileSize(t, path); size != int64(len(data)) {
		t.Fatalf("file size after Close is %d, want the preallocated tail cut at the last append's end, %d", size, len(data))
	}

	b = openBackend(t, dir, native.BackendOptions{})
	got, err = b.ReadSegment(1)
	must(t, err)
	if len(got) != len(data) {
		t.Fatalf("ReadSegment after reopen returned %d bytes, want the %d bytes appended", len(got), len(data))
	}
	checkData(t, "segment after reopen", got, data)
	tail := []byte("appended after reopen at the logical end")
	must(t, b.Append(1, int64(len(data)), tail))
	data = append(data, tail...)
	got, err = b.ReadSegment(1)
	must(t, err)
	checkData(t, "segment after an append past the reopen", got, data)

	must(t, b.Truncate(1, int64(len(data))))
	if size := fileSize(t, path); size != int64(len(data)) {
		t.Fatalf("file size after Truncate to the logical end is %d, want %d", size, len(data))
	}
	must(t, b.Append(1, int64(len(data)), tail))
	data = append(data, tail...)
	if size := fileSize(t, path); size <= int64(len(data)) {
		t.Fatalf("file size after an append past a Truncate is %d, want it preallocated past %d", size, len(data))
	}
	got, err = b.ReadSegment(1)
	must(t, err)
	checkData(t, "segment after Truncate and append", got, data)
}

func TestBackend_Append_ErrNoSpace(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses /dev/full")
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	dir := t.TempDir()
	b := openBackend(t, dir, native.BackendOptions{})
	must(t, os.Symlink("/dev/full", segPath(dir, 1)))
	err := b.Append(1, 0, []byte("does not fit"))
	wantDbrsError(t, "Append to a full device", err, syscall.ENOSPC)
}

func TestBackend_Install_Reopen(t *testing.T) {
	dir := t.TempDir()
	b := openBackend(t, dir, native.BackendOptions{})
	for _, id := range []uint64{1, 2, 4} {
		must(t, b.Create(id))
		must(t, b.Append(id, 0, []byte("old segment")))
		must(t, b.Sync(id))
	}
	chunks := [][]byte{[]byte("snapshot "), []byte("in "), []byte("chunks")}
	must(t, b.Install(3, chunks, []uint64{1, 2}))
	must(t, b.Close())

	b = openBackend(t, dir, native.BackendOptions{})
	ids, err := b.Segments()
	must(t, err)
	if !slices.Equal(ids, []uint64{3, 4}) {
		t.Fatalf("Segments after reopen = %v, want [3 4]", ids)
	}
	got, err := b.ReadSegment(3)
	must(t, err)
	checkData(t, "installed segment after reopen", got, bytes.Join(chunks, nil))
	entries, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"0000000000000003.seg", "0000000000000004.seg", "LOCK"}
	if !slices.Equal(names, want) {
		t.Fatalf("folder holds %v, want %v", names, want)
	}
}

func TestBackend_Install_RefusesOwnIDInRemove(t *testing.T) {
	b := openBackend(t, t.TempDir(), native.BackendOptions{})
	if err := b.Install(1, [][]byte{[]byte("x")}, []uint64{1}); err == nil {
		t.Fatal("Install(1) listing 1 for removal succeeded, want an error")
	}
	ids, err := b.Segments()
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("Segments = %v, want none", ids)
	}
}

func TestBackend_Append_BadOffset(t *testing.T) {
	b := openBackend(t, t.TempDir(), native.BackendOptions{})
	must(t, b.Create(1))
	for _, off := range []int64{-1, 1 << 40} {
		if err := b.Append(1, off, []byte("x")); err == nil {
			t.Errorf("Append at offset %d of an empty segment succeeded, want an error", off)
		}
	}
	if err := b.Truncate(1, -1); err == nil {
		t.Error("Truncate to -1 succeeded, want an error")
	}
	if err := b.Append(7, 0, []byte("x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Append to a missing segment: %v, want an error matching fs.ErrNotExist", err)
	}
}
