//go:build unix

package native

import (
	"os"
	"syscall"
)

// control runs fn on f's descriptor, retrying on EINTR. The descriptor stays
// valid while fn runs even if another goroutine closes f.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) {
		for {
			opErr = fn(int(fd))
			if opErr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return opErr
}
