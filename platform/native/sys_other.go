//go:build !linux

package native

import "os"

// fdatasync flushes f through os.File.Sync: fsync, or F_FULLFSYNC on darwin.
func fdatasync(f *os.File) error { return f.Sync() }

// fallocate always reports errFallocateUnsupported: outside Linux segment
// files grow by plain writes.
func fallocate(f *os.File, off, n int64) error { return errFallocateUnsupported }
