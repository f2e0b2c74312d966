package native

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is a fileSystem that passes every call to inner and logs, in
// order, each change it made and each sync: the log a durability check
// replays (see fsModel). Calls that fail are not logged: they changed
// nothing the model needs (a failed write may have written some bytes, but
// no check here injects failures).
//
// Ordering invariant: a change is logged after its call returned, and a
// sync is logged as a begin before its call starts and an end after it
// returned. So a change logged before a sync's begin had completed before the
// sync started, and the sync covers it; one logged after may not be covered,
// and the model assumes it is not.
type recorder struct {
	inner fileSystem

	mu      sync.Mutex
	ops     []fsOp
	initial []fsEntry        // the tree under root when the recorder started
	files   map[*os.File]int // inode of each file opened through the recorder
	names   map[string]int   // inode currently at each path
	inodes  int              // last inode number given out
	tokens  int              // last sync token given out
}

// opKind names a logged event.
type opKind string

const (
	opCreate    opKind = "create"    // openFile created path (O_CREATE on a missing name)
	opMkdir     opKind = "mkdir"     // mkdirAll created the folder path
	opWrite     opKind = "write"     // data written to file at off
	opTruncate  opKind = "truncate"  // file cut or extended to n bytes
	opFallocate opKind = "fallocate" // file extended to at least off+n bytes
	opSyncBegin opKind = "fdatasync-begin"
	opSyncEnd   opKind = "fdatasync-end"
	opRename    opKind = "rename" // path renamed to to
	opRemove    opKind = "remove" // path removed
	opDirBegin  opKind = "syncdir-begin"
	opDirEnd    opKind = "syncdir-end"
	opMark      opKind = "mark" // an event of the test (see mark)
)

// fsOp is one logged event.
type fsOp struct {
	kind  opKind
	path  string // the file or folder (file ops: the path it was opened by)
	to    string // rename's new path
	file  int    // file ops: the inode
	off   int64
	n     int64
	data  []byte // write: a copy of the bytes written
	token int    // pairs a sync's begin and end
	mark  markKind
	acked int // mark: the commits acknowledged as durable from here on
}

func (o fsOp) String() string {
	name := filepath.Base(o.path)
	switch o.kind {
	case opWrite:
		return fmt.Sprintf("write %s [%d, %d)", name, o.off, o.off+int64(len(o.data)))
	case opTruncate:
		return fmt.Sprintf("truncate %s to %d", name, o.n)
	case opFallocate:
		return fmt.Sprintf("fallocate %s [%d, %d)", name, o.off, o.off+o.n)
	case opRename:
		return fmt.Sprintf("rename %s to %s", name, filepath.Base(o.to))
	case opMark:
		return fmt.Sprintf("mark %s (commits 1..%d acknowledged)", o.mark, o.acked)
	}
	return fmt.Sprintf("%s %s", o.kind, name)
}

// markKind is what a mark says has happened, and so what must be durable.
type markKind string

const (
	// markCommit: commit acked was acknowledged as durable (SyncAlways): its
	// write must have been fdatasynced in a segment file whose creation was
	// synced, and every later crash must keep commits 1..acked.
	markCommit markKind = "commit"
	// markSettled: a call returned (Compact, Close) after which commits
	// 1..acked are durable and no change to the folder is pending.
	markSettled markKind = "settled"
	// markSettledFiles: besides markSettled's promise, no segment file holds
	// unsynced bytes (Open).
	markSettledFiles markKind = "settled-files"
)

// fsEntry is a file or folder that existed when the recorder started.
type fsEntry struct {
	path string
	ino  int
	dir  bool
	data []byte
}

// newRecorder records calls into osFS. The tree under root as it is now is
// the model's starting point, all of it durable.
func newRecorder(t *testing.T, root string) *recorder {
	t.Helper()
	r := &recorder{inner: osFS{}, files: map[*os.File]int{}, names: map[string]int{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r.inodes++
		e := fsEntry{path: path, ino: r.inodes, dir: d.IsDir()}
		if !e.dir {
			if e.data, err = os.ReadFile(path); err != nil {
				return err
			}
		}
		r.names[path] = e.ino
		r.initial = append(r.initial, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *recorder) log(op fsOp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

// mark logs an event of the test: what it was told, and what must hold from
// now on (see markKind).
func (r *recorder) mark(kind markKind, acked int) {
	r.log(fsOp{kind: opMark, mark: kind, acked: acked})
}

// log returns a copy of the events so far.
func (r *recorder) snapshot() []fsOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fsOp(nil), r.ops...)
}

func (r *recorder) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock() // opens are rare; holding the lock keeps names exact
	_, statErr := os.Lstat(name)
	f, err := r.inner.openFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	ino, ok := r.names[name]
	if !ok || statErr != nil {
		r.inodes++
		ino = r.inodes
		r.names[name] = ino
		r.ops = append(r.ops, fsOp{kind: opCreate, path: name, file: ino})
	} else if flag&os.O_TRUNC != 0 {
		r.ops = append(r.ops, fsOp{kind: opTruncate, path: name, file: ino, n: 0})
	}
	r.files[f] = ino
	return f, nil
}

func (r *recorder) inode(f *os.File) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	ino, ok := r.files[f]
	if !ok {
		panic(fmt.Sprintf("recorder: %s was not opened through the recorder", f.Name()))
	}
	return ino
}

func (r *recorder) mkdirAll(path string, perm os.FileMode) error {
	var missing []string
	for p := path; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		missing = append(missing, p)
	}
	if err := r.inner.mkdirAll(path, perm); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(missing) - 1; i >= 0; i-- {
		r.inodes++
		r.names[missing[i]] = r.inodes
		r.ops = append(r.ops, fsOp{kind: opMkdir, path: missing[i], file: r.inodes})
	}
	return nil
}

func (r *recorder) writeAt(f *os.File, p []byte, off int64) (int, error) {
	n, err := r.inner.writeAt(f, p, off)
	if n > 0 {
		r.log(fsOp{kind: opWrite, path: f.Name(), file: r.inode(f), off: off, data: bytes.Clone(p[:n])})
	}
	return n, err
}

func (r *recorder) write(f *os.File, p []byte) (int, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	n, err := r.inner.write(f, p)
	if n > 0 {
		r.log(fsOp{kind: opWrite, path: f.Name(), file: r.inode(f), off: off, data: bytes.Clone(p[:n])})
	}
	return n, err
}

func (r *recorder) truncate(f *os.File, size int64) error {
	if err := r.inner.truncate(f, size); err != nil {
		return err
	}
	r.log(fsOp{kind: opTruncate, path: f.Name(), file: r.inode(f), n: size})
	return nil
}

func (r *recorder) fallocate(f *os.File, off, n int64) error {
	if err := r.inner.fallocate(f, off, n); err != nil {
		return err
	}
	r.log(fsOp{kind: opFallocate, path: f.Name(), file: r.inode(f), off: off, n: n})
	return nil
}

func (r *recorder) fdatasync(f *os.File) error {
	ino := r.inode(f)
	r.mu.Lock()
	r.tokens++
	token := r.tokens
	r.ops = append(r.ops, fsOp{kind: opSyncBegin, path: f.Name(), file: ino, token: token})
	r.mu.Unlock()
	if err := r.inner.fdatasync(f); err != nil {
		return err
	}
	r.log(fsOp{kind: opSyncEnd, path: f.Name(), file: ino, token: token})
	return nil
}

func (r *recorder) rename(oldpath, newpath string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.inner.rename(oldpath, newpath); err != nil {
		return err
	}
	r.names[newpath] = r.names[oldpath]
	delete(r.names, oldpath)
	r.ops = append(r.ops, fsOp{kind: opRename, path: oldpath, to: newpath})
	return nil
}

func (r *recorder) remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.inner.remove(name); err != nil {
		return err
	}
	delete(r.names, name)
	r.ops = append(r.ops, fsOp{kind: opRemove, path: name})
	return nil
}

func (r *recorder) syncDir(dir string) error {
	r.mu.Lock()
	r.tokens++
	token := r.tokens
	r.ops = append(r.ops, fsOp{kind: opDirBegin, path: dir, token: token})
	r.mu.Unlock()
	if err := r.inner.syncDir(dir); err != nil {
		return err
	}
	r.log(fsOp{kind: opDirEnd, path: dir, token: token})
	return nil
}

// describeOps formats ops[max(0, i-n):i+1] for a failure message.
func describeOps(ops []fsOp, i, n int) string {
	var b strings.Builder
	for j := max(0, i-n); j <= i && j < len(ops); j++ {
		fmt.Fprintf(&b, "\n  %4d %v", j, ops[j])
	}
	return b.String()
}
