//go:build linux || darwin || dragonfly || freebsd || illumos || netbsd || openbsd

package native

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes a flock on f without waiting: exclusive or shared. flock
// locks belong to the open file description, so a second open of the same
// LOCK file conflicts even within one process. held reports that another
// holder blocks the lock; err reports any other failure.
func tryLock(f *os.File, exclusive bool) (held bool, err error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err = control(f, func(fd int) error { return syscall.Flock(fd, how|syscall.LOCK_NB) })
	if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
		return true, nil
	}
	return false, err
}

// isReadOnlyFS reports whether err says the file system is mounted read-only.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// unlock does nothing: closing the LOCK file releases the flock at once.
func unlock(f *os.File) error { return nil }
