//go:build !(linux || darwin || dragonfly || freebsd || illumos || netbsd || openbsd || windows)

package native

import (
	"errors"
	"os"
	"runtime"
)

// tryLock fails: without flock the backend cannot keep a second process out
// of the folder, so it refuses to open rather than risk two writers.
func tryLock(f *os.File, exclusive bool) (held bool, err error) {
	return false, errors.New("file locking is not supported on " + runtime.GOOS)
}

// isReadOnlyFS reports false: read-only file systems are not detected here.
func isReadOnlyFS(err error) bool { return false }

// unlock does nothing: tryLock never locks here.
func unlock(f *os.File) error { return nil }
