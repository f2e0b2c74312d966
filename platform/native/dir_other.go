//go:build !windows

package native

import "os"

// syncDir fsyncs the folder dir, making the creation, renaming and removal of
// its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
