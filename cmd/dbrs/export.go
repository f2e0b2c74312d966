package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

const isWindows = runtime.GOOS == "windows"

var exportCommand = &command{
	name:    "export",
	args:    "DIR FILE",
	summary: "Write the state to FILE as one snapshot segment",
	help: `
Opens DIR read-only without a lock and writes its current state to FILE in
the log format: one segment holding a schema record, snapshot records and a
snapshot-end record, exactly what compaction writes. FILE is a complete
database in one file:

  dbrs import FILE DIR2           makes a new native database from it
  importLog(name, [{id: 1, data}]) loads it into a browser database
                                  (data: the file's bytes as a Uint8Array)

Tables of custom kinds are exported as their raw entries and come back
intact. FILE is written to a temporary file, synced and renamed into place;
an existing FILE is refused unless --force. FILE "-" writes to stdout.`,
	nargs: [2]int{2, 2},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		force := fs.Bool("force", false, "replace FILE if it exists")
		return func(args []string) error { return c.export(args[0], args[1], *force) }
	},
}

var importCommand = &command{
	name:    "import",
	args:    "FILE DIR",
	summary: "Make a new database in DIR from an exported FILE",
	help: `
Reads FILE (a snapshot segment from dbrs export, or any single segment
that holds a whole log, such as a native segment file of a database that
was never compacted), checks that it is intact and replays, and installs it
as the first segment of a new database in DIR. DIR must be missing or
empty: import never writes into an existing database. FILE "-" reads
stdin.`,
	nargs: [2]int{2, 2},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		return func(args []string) error { return c.importFile(args[0], args[1]) }
	},
}

func (c *cli) export(dir, file string, force bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	if file != "-" && !force {
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("dbrs: %s exists; remove it or pass --force", file)
		}
	}
	v, err := c.openRead(dir, p)
	if err != nil {
		return err
	}
	defer v.close()
	p.phase("writing snapshot", -1)
	snap, err := v.db.SnapshotSegment()
	if err != nil {
		return err
	}
	summary := c.stdout
	if file == "-" {
		summary = c.stderr
		if _, err := c.stdout.Write(snap); err != nil {
			return fmt.Errorf("dbrs: write stdout: %w", err)
		}
	} else if err := writeFileAtomic(file, snap); err != nil {
		return err
	}
	p.stop()
	fmt.Fprintf(summary, "exported %s: %s, %s, to %s\n", dir, plural(len(v.specs), "table", "tables"), sizeString(int64(len(snap))), file)
	return nil
}

// writeFileAtomic writes data to path through a synced temporary file
// renamed into place.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("dbrs: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("dbrs: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dbrs: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dbrs: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("dbrs: %w", err)
	}
	return syncParent(path)
}

func (c *cli) importFile(file, dir string) error {
	p := c.newProgress("reading "+file, -1)
	defer p.stop()
	var (
		data []byte
		err  error
	)
	if file == "-" {
		data, err = io.ReadAll(c.stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("dbrs: read %s: %w", file, err)
	}
	p.phase("checking "+file, -1)
	mem := core.NewMemBackend()
	if err := mem.Install(1, [][]byte{data}, nil); err != nil {
		return err
	}
	rep, err := core.Verify(mem)
	switch {
	case err != nil:
		return err
	case rep.Records == 0 && len(core.TrimSegment(data, true)) > 0:
		return fmt.Errorf("dbrs: %s is an incomplete snapshot: its snapshot-end record is missing or cut short", file)
	case rep.Records == 0:
		return fmt.Errorf("%w: %s holds no dbrs records", core.ErrNotDatabase, file)
	case rep.Corrupt != nil:
		return fmt.Errorf("dbrs: %s is damaged: %w", file, rep.Corrupt)
	case rep.TornBytes > 0:
		return fmt.Errorf("dbrs: %s ends in %d bytes of a torn record: it is not a whole segment", file, rep.TornBytes)
	}
	v, err := openView(file, nil, mem, true, p)
	if err != nil {
		return fmt.Errorf("dbrs: %s does not replay: %w", file, err)
	}
	tables := len(v.specs)
	v.db.Close()

	p.phase("writing "+dir, -1)
	nb, err := native.NewBackend(dir, native.BackendOptions{})
	if err != nil {
		return lockedHint(err)
	}
	defer nb.Close()
	ids, err := nb.Segments()
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		return fmt.Errorf("dbrs: %s already holds a database; import writes only into a missing or empty folder", dir)
	}
	if err := nb.Install(1, [][]byte{core.TrimSegment(data, true)}, nil); err != nil {
		return err
	}
	if err := nb.Close(); err != nil {
		return err
	}
	p.stop()
	fmt.Fprintf(c.stdout, "imported %s into %s: %s, %d records, %s\n", file, dir, plural(tables, "table", "tables"), rep.Records, sizeString(rep.Bytes))
	return nil
}
