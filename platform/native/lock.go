package native

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

// lockFileName is the file in the folder that carries the flock.
const lockFileName = "LOCK"

// lockPollInterval is how often a waiting opener retries the lock.
const lockPollInterval = 10 * time.Millisecond

// lockFolder opens dir's LOCK file and locks it: exclusively for a writer,
// shared for a read-only opener. While the lock is held by an incompatible
// opener it retries every lockPollInterval until timeout has passed, then
// fails with an error matching core.ErrLocked (timeout 0 fails at once). The
// lock lasts until the returned file is closed.
//
// A read-only opener never creates LOCK: when it is missing (no read-write
// opener has made it yet) it proceeds unlocked and gets a nil file, and so it
// does on a read-only file system, where no writer can exist.
func lockFolder(dir string, readOnly bool, timeout time.Duration) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := openLockFile(path, readOnly)
	if err != nil {
		if readOnly && (errors.Is(err, fs.ErrNotExist) || isReadOnlyFS(err)) {
			return nil, nil
		}
		return nil, fmt.Errorf("dbrs: open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		held, err := tryLock(f, !readOnly)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dbrs: lock %s: %w", path, err)
		}
		if !held {
			return f, nil
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			f.Close()
			if timeout > 0 {
				return nil, fmt.Errorf("%w: %s (waited %v)", core.ErrLocked, path, timeout)
			}
			return nil, fmt.Errorf("%w: %s", core.ErrLocked, path)
		}
		time.Sleep(min(wait, lockPollInterval))
	}
}

// openLockFile opens the LOCK file. A read-write opener creates it (0600) if
// it is missing. A read-only opener opens it read-only, so it needs no write
// permission on it, and never creates it: a missing file is an error
// matching fs.ErrNotExist.
func openLockFile(path string, readOnly bool) (*os.File, error) {
	if readOnly {
		return os.Open(path)
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
}
