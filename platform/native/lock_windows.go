package native

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock locks the first byte of f with LockFileEx without waiting:
// exclusive or shared. Windows locks belong to the file handle, so a second
// open of the same LOCK file conflicts even within one process, as flock
// does elsewhere. held reports that another holder blocks the lock; err
// reports any other failure.
func tryLock(f *os.File, exclusive bool) (held bool, err error) {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	err = handleControl(f, func(h windows.Handle) error {
		return windows.LockFileEx(h, flags, 0, 1, 0, new(windows.Overlapped))
	})
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

// unlock releases the lock tryLock took. Closing the handle releases it too,
// but Windows may do so only some time after the close; unlocking first
// makes the folder free at once for the next opener.
func unlock(f *os.File) error {
	return handleControl(f, func(h windows.Handle) error {
		return windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
	})
}

// handleControl runs fn on f's handle, which stays valid while fn runs.
func handleControl(f *os.File, fn func(h windows.Handle) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = fn(windows.Handle(fd)) }); err != nil {
		return err
	}
	return opErr
}

// isReadOnlyFS reports whether err says the medium is write-protected.
func isReadOnlyFS(err error) bool { return errors.Is(err, windows.ERROR_WRITE_PROTECT) }
