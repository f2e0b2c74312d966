package native

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

const (
	dirPerm  = 0o700 // permissions of a folder NewBackend creates
	filePerm = 0o600 // permissions of every file the backend creates

	segmentSuffix = ".seg" // a segment file is "%016x.seg"
	tempSuffix    = ".tmp" // an Install in progress writes "%016x.seg.tmp"
)

// Preallocation grows a segment file by steps of max(minPreallocStep,
// min(size, maxPreallocStep)): the size doubles from 1 MiB up to 64 MiB, then
// grows 64 MiB at a time.
const (
	minPreallocStep = 1 << 20
	maxPreallocStep = 64 << 20
)

// errFallocateUnsupported is returned by fallocate when the file system (or
// the OS) cannot preallocate; the backend then grows files by plain writes.
var errFallocateUnsupported = errors.New("fallocate is not supported")

// BackendOptions configures NewBackend. The zero value opens read-write and
// fails at once if another opener holds the folder.
type BackendOptions struct {
	// ReadOnly opens the folder without changing it. The LOCK file is locked
	// shared, so read-only openers coexist with each other but not with a
	// writer, and Create, Append, Truncate and Install fail with an error
	// matching core.ErrReadOnly. The folder must exist; a missing LOCK file
	// is not created (the open proceeds unlocked). The zero value
	// (false) opens read-write: the folder is created (0700) if missing, the
	// lock is exclusive, and leftovers of an interrupted Install are removed.
	ReadOnly bool

	// LockTimeout is how long NewBackend waits, polling, for an incompatible
	// opener to release the lock before it fails with an error matching
	// core.ErrLocked. The zero value fails at once.
	LockTimeout time.Duration

	// MustExist refuses to create a database: when the folder is missing,
	// or holds no segment file, NewBackend fails with an error matching
	// core.ErrNotExist and creates nothing. The zero value (false) creates
	// a missing folder, and starts a database in an empty one.
	MustExist bool

	// NoLock, with ReadOnly, takes no lock at all, so the backend opens
	// even while a writer holds the folder: inspection tools use it. It
	// reads the files as they are at each read. Segments read while the
	// writer appends may end in a partial record, which core reads as a
	// torn tail; a compaction that removes a segment between Segments and
	// ReadSegment makes ReadSegment fail with an error matching
	// fs.ErrNotExist (opening again then succeeds). NoLock without
	// ReadOnly is an error.
	NoLock bool
}

// Backend stores segments as files in one folder; see the package
// documentation for the layout. It implements core.Backend and is safe for
// concurrent use as that interface requires; Create, Append, Truncate,
// Install and Close are also serialized among themselves.
type Backend struct {
	dir      string
	readOnly bool
	lock     *os.File // holds the lock; nil for a read-only open that takes none

	// fs makes every call that changes a file or the folder (fsys.go): osFS,
	// or in tests a wrapper that injects faults or records the calls. Tests
	// replace it only before any concurrent use.
	fs fileSystem

	writeMu     sync.Mutex // serializes Create, Append, Truncate, Install and Close
	noFallocate bool       // set once fallocate proved unsupported; guarded by writeMu

	mu     sync.Mutex // guards closed and segs
	closed bool
	segs   map[uint64]*segmentFile // open segment files, by ID

	// prepared is closed when the syncs of a read-write open (syncAtOpen)
	// have ended, with their error in prepErr; nil for a read-only open.
	// They run while core reads and replays the log; every method that
	// writes or syncs waits for them first (ready).
	prepared chan struct{}
	prepErr  error
}

// segmentFile is an open segment file.
type segmentFile struct {
	f *os.File
	// size is the file's size, preallocated tail included. It is set when
	// the file is opened and changed only under Backend.writeMu.
	size int64
	// end is where the bytes appended through this Backend end, 0 before
	// the first Append (changed only under Backend.writeMu). Core appends
	// at the logical end of a segment, so past end the file holds only its
	// preallocated zero tail, or bytes of an Append that failed (which
	// core cuts).
	end int64
}

var (
	_ core.Backend          = (*Backend)(nil)
	_ core.StreamingBackend = (*Backend)(nil)
)

// NewBackend opens the folder dir as a backend and locks it (see
// BackendOptions). A missing folder is created (0700) unless the open is
// read-only or opts.MustExist is set (then the error matches
// core.ErrNotExist). A folder that holds files but no segment file is not a
// database, and NewBackend refuses it with an error matching
// core.ErrNotDatabase rather than start one among other files; the files
// dbrs itself makes (LOCK, a leftover "%016x.seg.tmp") do not count. These
// checks come before anything is written.
//
// A read-write open also removes files left by an Install that did not
// complete, and fdatasyncs every segment file and the folder, so that bytes
// a previous process wrote but never synced are durable before this one
// builds on them. Those syncs run in the background while the log is read:
// Create, Append, Sync, Truncate and Install wait for them first, and fail
// with their error if they failed (core's Open syncs before it returns, so
// it reports that error). A read-only open writes nothing, not even the LOCK file:
// when LOCK is missing (no read-write opener has made it) it proceeds
// without a lock. On error nothing stays locked or open.
func NewBackend(dir string, opts BackendOptions) (*Backend, error) {
	return newBackend(dir, opts, osFS{})
}

// newBackend is NewBackend making its changes through fsys.
func newBackend(dir string, opts BackendOptions, fsys fileSystem) (*Backend, error) {
	if opts.NoLock && !opts.ReadOnly {
		return nil, fmt.Errorf("dbrs: open %s: NoLock needs ReadOnly", dir)
	}
	if err := checkFolder(fsys, dir, opts); err != nil {
		return nil, err
	}
	var lock *os.File
	if !opts.NoLock {
		var err error
		if lock, err = lockFolder(dir, opts.ReadOnly, opts.LockTimeout); err != nil {
			return nil, err
		}
	}
	b := &Backend{
		dir:      dir,
		readOnly: opts.ReadOnly,
		lock:     lock,
		fs:       fsys,
		segs:     map[uint64]*segmentFile{},
	}
	if !opts.ReadOnly {
		if err := b.prepareFolder(); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// checkFolder decides, before anything is written, whether dir may be
// opened as NewBackend documents, and creates it when it is missing and
// may be created.
func checkFolder(fsys fileSystem, dir string, opts BackendOptions) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if opts.ReadOnly || opts.MustExist {
			return fmt.Errorf("%w: %w", core.ErrNotExist, err)
		}
		return makeFolder(fsys, dir)
	case err != nil:
		return fmt.Errorf("dbrs: open %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("dbrs: open %s: not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("dbrs: open %s: %w", dir, err)
	}
	var foreign []string
	for _, e := range entries {
		name := e.Name()
		if _, ok := parseSegmentName(name); ok {
			return nil // a dbrs log
		}
		base, tmp := strings.CutSuffix(name, tempSuffix)
		if _, ok := parseSegmentName(base); (tmp && ok) || name == lockFileName {
			continue
		}
		foreign = append(foreign, name)
	}
	switch {
	case len(foreign) > 0:
		return fmt.Errorf("%w: %s holds %s but no segment file (dbrs creates a database only in an empty or missing folder)", core.ErrNotDatabase, dir, describeNames(foreign))
	case opts.MustExist:
		return fmt.Errorf("%w: %s holds no segment file", core.ErrNotExist, dir)
	}
	return nil
}

// describeNames names the first few of names for an error message.
func describeNames(names []string) string {
	const shown = 3
	quoted := make([]string, 0, shown)
	for _, n := range names[:min(len(names), shown)] {
		quoted = append(quoted, strconv.Quote(n))
	}
	s := strings.Join(quoted, ", ")
	if len(names) > shown {
		s += fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return s
}

// makeFolder creates the missing folder dir (0700) and its missing parents,
// and makes each new entry durable by syncing the folder that holds it:
// the first commit's durability depends on every one of them.
func makeFolder(fsys fileSystem, dir string) error {
	dir = filepath.Clean(dir)
	var created []string // the folders missing now, deepest first
	for p := dir; p != filepath.Dir(p); p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		created = append(created, p)
	}
	if len(created) == 0 {
		created = []string{dir} // made by someone else meanwhile: sync it anyway
	}
	if err := fsys.mkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("dbrs: create folder: %w", err)
	}
	for _, p := range created {
		if err := fsys.syncDir(filepath.Dir(p)); err != nil {
			return fmt.Errorf("dbrs: create folder %s: %w", p, err)
		}
	}
	return nil
}

// prepareFolder removes "%016x.seg.tmp" files, then starts syncAtOpen.
// Other files in the folder are left alone.
func (b *Backend) prepareFolder() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("dbrs: list folder: %w", err)
	}
	var segs []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(b.dir, name)
		if base, ok := strings.CutSuffix(name, tempSuffix); ok {
			if _, ok := parseSegmentName(base); ok {
				if err := b.fs.remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("dbrs: remove leftover temporary file: %w", err)
				}
			}
			continue
		}
		if _, ok := parseSegmentName(name); ok {
			segs = append(segs, path)
		}
	}
	b.prepared = make(chan struct{})
	fsys := b.fs // tests may replace b.fs once NewBackend has returned
	go func() {
		defer close(b.prepared)
		b.prepErr = syncAtOpen(fsys, b.dir, segs)
	}()
	return nil
}

// syncAtOpen fdatasyncs the segment files at paths and syncs the folder dir,
// so that bytes a previous process wrote but never synced are durable
// before this one builds on them.
func syncAtOpen(fsys fileSystem, dir string, paths []string) error {
	for _, path := range paths {
		if err := syncFile(fsys, path); err != nil {
			return fmt.Errorf("dbrs: sync segment file at open: %w", err)
		}
	}
	if err := fsys.syncDir(dir); err != nil {
		return fmt.Errorf("dbrs: sync folder %s: %w", dir, err)
	}
	return nil
}

// ready waits until the syncs of the open have ended and returns their
// error.
func (b *Backend) ready() error {
	if b.prepared == nil {
		return nil
	}
	<-b.prepared
	return b.prepErr
}

// syncFile fdatasyncs the file at path.
func syncFile(fsys fileSystem, path string) error {
	f, err := fsys.openFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = fsys.fdatasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// path returns the file name of segment id.
func (b *Backend) path(id uint64) string {
	return filepath.Join(b.dir, fmt.Sprintf("%016x%s", id, segmentSuffix))
}

// parseSegmentName returns the ID of a segment file name, and false for any
// name that is not exactly "%016x.seg" (16 lowercase hex digits).
func parseSegmentName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || fmt.Sprintf("%016x", id) != hex {
		return 0, false
	}
	return id, true
}

// opError adds context to err from operation op on segment id. core.ErrClosed
// and read-only refusals already say what happened and pass unchanged.
func opError(op string, id uint64, err error) error {
	if errors.Is(err, core.ErrClosed) || errors.Is(err, core.ErrReadOnly) {
		return err
	}
	return fmt.Errorf("dbrs: %s segment %d: %w", op, id, err)
}

// writable returns core.ErrClosed after Close, an error matching
// core.ErrReadOnly on a read-only backend, and nil otherwise.
func (b *Backend) writable(op string, id uint64) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return core.ErrClosed
	}
	if b.readOnly {
		return fmt.Errorf("%w: cannot %s segment %d of %s", core.ErrReadOnly, op, id, b.dir)
	}
	return nil
}

// segment returns the open file of segment id, opening it if needed. It
// fails with core.ErrClosed after Close and with an error matching
// fs.ErrNotExist if the segment does not exist.
func (b *Backend) segment(id uint64) (*segmentFile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, core.ErrClosed
	}
	if s, ok := b.segs[id]; ok {
		return s, nil
	}
	flag := os.O_RDWR
	if b.readOnly {
		flag = os.O_RDONLY
	}
	f, err := b.fs.openFile(b.path(id), flag, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &segmentFile{f: f, size: fi.Size()}
	b.segs[id] = s
	return s, nil
}

// Segments returns the IDs of the "%016x.seg" files in the folder, ascending.
// Other files, including an Install's temporary file, are not listed.
func (b *Backend) Segments() ([]uint64, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, core.ErrClosed
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("dbrs: list segments: %w", err)
	}
	ids := []uint64{}
	for _, e := range entries {
		if id, ok := parseSegmentName(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// ReadSegment returns the whole file of segment id, including any zero tail
// left by preallocation. It sees every Append that returned before it was
// called. A missing segment gives an error matching fs.ErrNotExist.
func (b *Backend) ReadSegment(id uint64) ([]byte, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, core.ErrClosed
	}
	data, err := readFile(b.path(id))
	if err != nil {
		return nil, opError("read", id, err)
	}
	return data, nil
}

// readChunk is the size of the buffers readFile reads through.
const readChunk = 256 << 10

// readBufs holds readFile's buffers (*[]byte of readChunk bytes) between
// calls.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// readFile returns the contents of the file at path, as os.ReadFile does,
// but has the kernel write only into a small buffer that calls reuse, and
// copies from there into the result. On a virtual machine that shadows
// page tables, the kernel's first write to each page of a process costs a
// fault (about 8 µs per 4 KiB): reading a 12 MB segment straight into a
// new buffer took 20 ms there, through a reused one 1 ms.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := readBufs.Get().(*[]byte)
	defer readBufs.Put(buf)
	data := make([]byte, 0, fi.Size()) // it grows if the file does meanwhile
	for {
		n, err := f.Read(*buf)
		data = append(data, (*buf)[:n]...)
		switch {
		case errors.Is(err, io.EOF):
			return data, nil
		case err != nil:
			return nil, err
		}
	}
}

// Create fdatasyncs every open segment file, so that all bytes appended to
// other segments are durable before any byte of the new one, then creates
// the empty file of segment id (O_EXCL, 0600) and syncs the folder. It fails
// if the segment exists. If it fails after creating the file, it removes the
// file again (best effort).
func (b *Backend) Create(id uint64) error {
	if err := b.ready(); err != nil {
		return opError("create", id, err)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if err := b.writable("create", id); err != nil {
		return err
	}
	b.mu.Lock()
	open := make(map[uint64]*os.File, len(b.segs))
	for sid, s := range b.segs {
		open[sid] = s.f
	}
	b.mu.Unlock()
	for sid, f := range open {
		if err := b.fs.fdatasync(f); err != nil {
			return opError("create", id, fmt.Errorf("sync segment %d first: %w", sid, err))
		}
	}
	path := b.path(id)
	f, err := b.fs.openFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return opError("create", id, err)
	}
	if err := b.fs.syncDir(b.dir); err != nil {
		f.Close()
		b.fs.remove(path)
		return opError("create", id, fmt.Errorf("sync folder: %w", err))
	}
	b.mu.Lock()
	b.segs[id] = &segmentFile{f: f}
	b.mu.Unlock()
	return nil
}

// Append writes p at offset off of segment id with pwrite. If the write ends
// past the file's size, the file is first extended by fallocate (see
// preallocate). off must not lie past the file's end. On error some of p may
// have been written; the caller truncates back to its logical end.
func (b *Backend) Append(id uint64, off int64, p []byte) error {
	if err := b.ready(); err != nil {
		return opError("append to", id, err)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if err := b.writable("append to", id); err != nil {
		return err
	}
	s, err := b.segment(id)
	if err != nil {
		return opError("append to", id, err)
	}
	if off < 0 || off > s.size {
		return opError("append to", id, fmt.Errorf("offset %d is outside the file (size %d)", off, s.size))
	}
	end := off + int64(len(p))
	b.preallocate(s, end)
	if _, err := b.fs.writeAt(s.f, p, off); err != nil {
		s.refreshSize()
		return opError("append to", id, err)
	}
	s.size = max(s.size, end)
	s.end = end
	return nil
}

// preallocate extends s with fallocate to cover end, in whole steps of
// max(1 MiB, min(size, 64 MiB)), so that most appends and their fdatasync
// change no file size. If fallocate is unsupported the backend stops trying;
// if it fails otherwise (typically ENOSPC: the step does not fit though the
// write may), the write goes ahead without preallocation and reports any
// error itself.
func (b *Backend) preallocate(s *segmentFile, end int64) {
	if end <= s.size || b.noFallocate {
		return
	}
	step := max(minPreallocStep, min(s.size, maxPreallocStep))
	target := s.size + (end-s.size+step-1)/step*step
	err := b.fs.fallocate(s.f, s.size, target-s.size)
	switch {
	case err == nil:
		s.size = target
	case errors.Is(err, errFallocateUnsupported):
		b.noFallocate = true
	default:
		s.refreshSize()
	}
}

// refreshSize reloads s.size after a failed call that may have changed it.
func (s *segmentFile) refreshSize() {
	if fi, err := s.f.Stat(); err == nil {
		s.size = fi.Size()
	}
}

// Sync fdatasyncs segment id's file (fsync, F_FULLFSYNC on darwin, outside
// Linux). It runs concurrently with Append and other Syncs and covers every
// Append and Truncate that returned before it was called.
func (b *Backend) Sync(id uint64) error {
	if err := b.ready(); err != nil {
		return opError("sync", id, err)
	}
	s, err := b.segment(id)
	if err != nil {
		return opError("sync", id, err)
	}
	if err := b.fs.fdatasync(s.f); err != nil {
		return opError("sync", id, err)
	}
	return nil
}

// CutsDurable implements core.StreamingBackend: Truncate cuts a file at
// any size, and Append writes through to it.
func (b *Backend) CutsDurable() bool { return true }

// Truncate cuts segment id's file to size bytes, dropping any preallocated
// tail (later appends preallocate again). A size at or past the file's end
// changes nothing. The new size is durable after the next successful Sync.
func (b *Backend) Truncate(id uint64, size int64) error {
	if err := b.ready(); err != nil {
		return opError("truncate", id, err)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if err := b.writable("truncate", id); err != nil {
		return err
	}
	s, err := b.segment(id)
	if err != nil {
		return opError("truncate", id, err)
	}
	if size < 0 {
		return opError("truncate", id, fmt.Errorf("negative size %d", size))
	}
	s.end = min(s.end, size)
	if size >= s.size {
		return nil
	}
	if err := b.fs.truncate(s.f, size); err != nil {
		s.refreshSize()
		return opError("truncate", id, err)
	}
	s.size = size
	return nil
}

// Install writes the chunks to "<segment file>.tmp", fdatasyncs it, renames
// it to segment id's file and syncs the folder: from then on the segment is
// durable and complete. It then closes and deletes the files of the segments
// in remove (missing ones are skipped) and syncs the folder again. It fails
// without changes if segment id exists or remove lists id. If it fails before
// the rename, the temporary file is removed and segment id is absent; an
// error after the rename (syncing the folder or removing old segments) leaves
// segment id complete.
func (b *Backend) Install(id uint64, chunks [][]byte, remove []uint64) error {
	if err := b.ready(); err != nil {
		return opError("install", id, err)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if err := b.writable("install", id); err != nil {
		return err
	}
	if slices.Contains(remove, id) {
		return opError("install", id, errors.New("it is also listed for removal"))
	}
	path := b.path(id)
	if _, err := os.Lstat(path); err == nil {
		return opError("install", id, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return opError("install", id, err)
	}
	tmp := path + tempSuffix
	if err := b.writeTemp(tmp, chunks); err != nil {
		b.fs.remove(tmp)
		return opError("install", id, err)
	}
	if err := b.fs.rename(tmp, path); err != nil {
		b.fs.remove(tmp)
		return opError("install", id, err)
	}
	if err := b.fs.syncDir(b.dir); err != nil {
		return opError("install", id, fmt.Errorf("sync folder: %w", err))
	}
	var errs []error
	for _, r := range remove {
		b.mu.Lock()
		s := b.segs[r]
		delete(b.segs, r)
		b.mu.Unlock()
		if s != nil {
			s.f.Close()
		}
		if err := b.fs.remove(b.path(r)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove segment %d: %w", r, err))
		}
	}
	if len(remove) > 0 {
		if err := b.fs.syncDir(b.dir); err != nil {
			errs = append(errs, fmt.Errorf("sync folder: %w", err))
		}
	}
	if len(errs) > 0 {
		return opError("install", id, fmt.Errorf("segment installed, but: %w", errors.Join(errs...)))
	}
	return nil
}

// writeTemp creates path (0600, replacing any previous file), writes the
// chunks to it and fdatasyncs it.
func (b *Backend) writeTemp(path string, chunks [][]byte) error {
	f, err := b.fs.openFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if _, err := b.fs.write(f, c); err != nil {
			f.Close()
			return err
		}
	}
	if err := b.fs.fdatasync(f); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// Close closes every segment file and releases the lock. It does not sync:
// bytes appended since the last Sync are in the OS's hands. It cuts the
// preallocated tail off each segment this Backend appended to, at the end
// of its last Append, so that the next open reads no zeros. Every later
// call fails with core.ErrClosed, except Close, which returns nil.
func (b *Backend) Close() error {
	_ = b.ready() // nothing of the open outlives Close
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	for id, s := range b.segs {
		if s.end > 0 && s.size > s.end {
			// Give back the preallocated tail, so that the next open
			// reads (and scans) only the log. Best effort: a tail left
			// in place is zeros, which an open skips.
			_ = b.fs.truncate(s.f, s.end)
		}
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dbrs: close segment %d: %w", id, err))
		}
	}
	b.segs = nil
	if b.lock != nil {
		if err := unlock(b.lock); err != nil {
			errs = append(errs, fmt.Errorf("dbrs: release lock: %w", err))
		}
		if err := b.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("dbrs: release lock: %w", err))
		}
	}
	return errors.Join(errs...)
}
