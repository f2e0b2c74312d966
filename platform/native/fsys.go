package native

import "os"

// fileSystem is the seam between the backend and the OS: every call the
// backend makes that changes a file or a folder, or makes a change durable,
// goes through it. Reads (listing a folder, reading a segment, stat) and the
// LOCK file do not: they change nothing that must survive a crash.
//
// The backend uses osFS. Tests wrap it to inject faults or to record the
// order of the calls (recorder_internal_test.go), which is how they check
// that every acknowledged commit and every folder change was synced before
// anything depended on it. Invariant: a method does exactly one OS call (or
// one retried system call) and nothing else, so a wrapper sees each change
// and each sync in the order the backend makes them.
type fileSystem interface {
	// openFile opens or creates name (os.OpenFile). A creation is durable
	// only after syncDir of its folder.
	openFile(name string, flag int, perm os.FileMode) (*os.File, error)
	// mkdirAll creates path and its missing parents (os.MkdirAll). Each
	// creation is durable only after syncDir of its parent.
	mkdirAll(path string, perm os.FileMode) error
	// writeAt writes p at off (pwrite).
	writeAt(f *os.File, p []byte, off int64) (int, error)
	// write writes p at the file offset (write).
	write(f *os.File, p []byte) (int, error)
	// truncate changes f's size (ftruncate).
	truncate(f *os.File, size int64) error
	// fallocate extends f to at least off+n bytes (see sys_linux.go).
	fallocate(f *os.File, off, n int64) error
	// fdatasync makes every write, truncate and fallocate of f that returned
	// before it was called durable (see sys_linux.go).
	fdatasync(f *os.File) error
	// rename renames oldpath to newpath (os.Rename), durable only after
	// syncDir of the folder.
	rename(oldpath, newpath string) error
	// remove removes name (os.Remove), durable only after syncDir of its
	// folder.
	remove(name string) error
	// syncDir makes the creations, renames and removals of dir's entries
	// durable (see dir_other.go).
	syncDir(dir string) error
}

// osFS is the real file system.
type osFS struct{}

var _ fileSystem = osFS{}

func (osFS) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
func (osFS) mkdirAll(path string, perm os.FileMode) error         { return os.MkdirAll(path, perm) }
func (osFS) writeAt(f *os.File, p []byte, off int64) (int, error) { return f.WriteAt(p, off) }
func (osFS) write(f *os.File, p []byte) (int, error)              { return f.Write(p) }
func (osFS) truncate(f *os.File, size int64) error                { return f.Truncate(size) }
func (osFS) fallocate(f *os.File, off, n int64) error             { return fallocate(f, off, n) }
func (osFS) fdatasync(f *os.File) error                           { return fdatasync(f) }
func (osFS) rename(oldpath, newpath string) error                 { return os.Rename(oldpath, newpath) }
func (osFS) remove(name string) error                             { return os.Remove(name) }
func (osFS) syncDir(dir string) error                             { return syncDir(dir) }
