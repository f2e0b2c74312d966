package native

import (
	"errors"
	"os"
	"syscall"
)

// fdatasync flushes f's data and the metadata needed to read it back (its
// size), but not its timestamps.
func fdatasync(f *os.File) error {
	return control(f, func(fd int) error { return syscall.Fdatasync(fd) })
}

// fallocate extends f to at least off+n bytes and reserves the blocks, so the
// new range reads as zeros and later writes into it need no allocation. It
// returns an error matching errFallocateUnsupported if the file system cannot
// preallocate.
func fallocate(f *os.File, off, n int64) error {
	err := control(f, func(fd int) error { return syscall.Fallocate(fd, 0, off, n) })
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return errFallocateUnsupported
	}
	return err
}
