package native

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// newTestBackend opens a read-write backend in a temporary folder and closes
// it when the test ends.
func newTestBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := NewBackend(t.TempDir(), BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// faultFS replaces a fileSystem's fdatasync or fallocate by a hook, to
// inject faults; a nil hook passes the call through.
type faultFS struct {
	fileSystem
	fdatasyncHook func(f *os.File) error
	fallocateHook func(f *os.File, off, n int64) error
}

func (fs faultFS) fdatasync(f *os.File) error {
	if fs.fdatasyncHook != nil {
		return fs.fdatasyncHook(f)
	}
	return fs.fileSystem.fdatasync(f)
}

func (fs faultFS) fallocate(f *os.File, off, n int64) error {
	if fs.fallocateHook != nil {
		return fs.fallocateHook(f, off, n)
	}
	return fs.fileSystem.fallocate(f, off, n)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestBackend_Create_SyncsOpenSegmentsFirst(t *testing.T) {
	b := newTestBackend(t)
	must(t, b.Create(1))
	must(t, b.Append(1, 0, []byte("before segment 2")))
	must(t, b.Create(3))
	var (
		mu     sync.Mutex
		synced []string
	)
	b.fs = faultFS{fileSystem: b.fs, fdatasyncHook: func(f *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		if exists(t, b.path(2)) {
			t.Errorf("%s synced after segment 2 was created", f.Name())
		}
		synced = append(synced, f.Name())
		return fdatasync(f)
	}}
	must(t, b.Create(2))
	mu.Lock()
	defer mu.Unlock()
	if len(synced) != 2 || !strings.Contains(strings.Join(synced, " "), b.path(1)) || !strings.Contains(strings.Join(synced, " "), b.path(3)) {
		t.Fatalf("Create(2) synced %v, want segments 1 and 3", synced)
	}
}

func TestBackend_Create_SyncFailure(t *testing.T) {
	b := newTestBackend(t)
	must(t, b.Create(1))
	must(t, b.Append(1, 0, []byte("x")))
	b.fs = faultFS{fileSystem: b.fs, fdatasyncHook: func(*os.File) error { return syscall.EIO }}
	err := b.Create(2)
	if !errors.Is(err, syscall.EIO) || !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("Create(2) with a failing sync of segment 1: %v, want a dbrs: error matching EIO", err)
	}
	if exists(t, b.path(2)) {
		t.Fatal("segment 2 was created although segment 1 could not be synced")
	}
}

func TestBackend_Sync_Error(t *testing.T) {
	b := newTestBackend(t)
	must(t, b.Create(1))
	b.fs = faultFS{fileSystem: b.fs, fdatasyncHook: func(*os.File) error { return syscall.EIO }}
	err := b.Sync(1)
	if !errors.Is(err, syscall.EIO) || !strings.HasPrefix(err.Error(), "dbrs: ") {
		t.Fatalf("Sync: %v, want a dbrs: error matching EIO", err)
	}
}

func TestBackend_Append_FallocateUnsupported(t *testing.T) {
	b := newTestBackend(t)
	calls := 0
	b.fs = faultFS{fileSystem: b.fs, fallocateHook: func(*os.File, int64, int64) error {
		calls++
		return errFallocateUnsupported
	}}
	must(t, b.Create(1))
	var off int64
	for range 3 {
		p := []byte("grows by plain writes")
		must(t, b.Append(1, off, p))
		off += int64(len(p))
	}
	if calls != 1 {
		t.Fatalf("fallocate called %d times, want 1 (then never again)", calls)
	}
	fi, err := os.Stat(b.path(1))
	must(t, err)
	if fi.Size() != off {
		t.Fatalf("file size %d, want the %d bytes written", fi.Size(), off)
	}
}

func TestBackend_Append_FallocateNoSpace(t *testing.T) {
	b := newTestBackend(t)
	calls := 0
	b.fs = faultFS{fileSystem: b.fs, fallocateHook: func(*os.File, int64, int64) error {
		calls++
		return syscall.ENOSPC
	}}
	must(t, b.Create(1))
	p := []byte("fits although the step does not")
	must(t, b.Append(1, 0, p))
	must(t, b.Append(1, int64(len(p)), p))
	if calls != 2 {
		t.Fatalf("fallocate called %d times, want it retried on each growing append", calls)
	}
	got, err := b.ReadSegment(1)
	must(t, err)
	if string(got) != string(p)+string(p) {
		t.Fatalf("segment holds %q", got)
	}
}

func TestBackend_Install_SyncFailure(t *testing.T) {
	b := newTestBackend(t)
	must(t, b.Create(1))
	b.fs = faultFS{fileSystem: b.fs, fdatasyncHook: func(*os.File) error { return syscall.EIO }}
	err := b.Install(2, [][]byte{[]byte("snapshot")}, []uint64{1})
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Install with a failing sync: %v, want an error matching EIO", err)
	}
	if exists(t, b.path(2)) || exists(t, b.path(2)+tempSuffix) {
		t.Fatal("a failed Install left segment 2 or its temporary file behind")
	}
	if !exists(t, b.path(1)) {
		t.Fatal("a failed Install removed segment 1")
	}
}

// TestBackend_ReadSegment_ReadChunks reads segments of sizes around the
// chunks readFile reads through, and checks that each result is the whole
// file and a slice of the caller's own, shared neither with the reused
// buffer nor with another result.
func TestBackend_ReadSegment_ReadChunks(t *testing.T) {
	b := newTestBackend(t)
	for i, size := range []int{0, 1, readChunk - 1, readChunk, readChunk + 1, 3*readChunk + 17} {
		id := uint64(i + 1)
		must(t, b.Create(id))
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(j*7 + i)
		}
		if size > 0 {
			must(t, b.Append(id, 0, data))
		}
		must(t, b.Truncate(id, int64(size))) // no preallocated tail
		first, err := b.ReadSegment(id)
		must(t, err)
		if !bytes.Equal(first, data) {
			t.Fatalf("segment of %d bytes: ReadSegment returned %d bytes that differ", size, len(first))
		}
		for j := range first {
			first[j] = ^first[j]
		}
		second, err := b.ReadSegment(id)
		must(t, err)
		if !bytes.Equal(second, data) {
			t.Fatalf("segment of %d bytes: a second ReadSegment returned other bytes after the first result was changed", size)
		}
	}
}
