package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

var repairCommand = &command{
	name:    "repair",
	args:    "DIR",
	summary: "Cut a damaged log back to its last intact record (dry run unless --yes)",
	help: `
A damaged log (one that fails to open with ErrCorrupt; see dbrs verify)
opens again once it is cut back to its longest intact prefix: the segment
holding the first damage is cut at the damaged record, and every later
segment is emptied, because later commits may depend on what was lost.

By default repair only reads (without a lock) and shows what it would cut:
each segment and the bytes of data it would lose (the preallocated zeros at
the end of a segment file are not data, and are counted apart).

With --yes it takes the folder's lock (no program may have the database
open), saves the bytes it is about to cut to a backup file, syncs it, then
cuts. The backup is a tar archive: REPAIR.txt says what was cut, and each
other member, named SEGMENTFILE+OFFSET, holds the bytes cut from that
segment file from that offset on. It is written in DIR unless --backup
names another file.

A torn tail (a last write cut short) is not damage: the next read-write
open cuts it, and repair leaves it alone. The exit status of a dry run is 1
when the log is damaged (it is not repaired yet).`,
	nargs: [2]int{1, 1},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		yes := fs.Bool("yes", false, "cut the log, after saving the cut bytes to a backup file")
		backup := fs.String("backup", "", "write the backup to `FILE` (default DIR/repair-TIME.tar); it must not exist")
		return func(args []string) error { return c.repair(args[0], *yes, *backup) }
	},
}

// cut is one segment that Repair cuts.
type cut struct {
	segment   uint64
	at        int64 // the segment keeps its bytes before this offset
	dataEnd   int64 // offset just past the last non-zero byte of the file
	fileBytes int64
}

// data returns the bytes of data that the cut removes.
func (c cut) data() int64 { return max(0, c.dataEnd-c.at) }

// zeros returns the preallocated zero bytes that the cut removes.
func (c cut) zeros() int64 { return c.fileBytes - max(c.at, c.dataEnd) }

// dryBackend records the cuts Repair makes instead of making them.
type dryBackend struct {
	core.Backend
	cuts []cut
}

func (d *dryBackend) Truncate(id uint64, size int64) error {
	d.cuts = append(d.cuts, cut{segment: id, at: size})
	return nil
}

func (d *dryBackend) Sync(uint64) error { return nil }

// planRepair runs core.Repair on b without letting it write, and returns
// its report and the cuts it would make, measured in b's bytes.
func planRepair(b core.Backend) (core.LogReport, []cut, error) {
	dry := &dryBackend{Backend: b}
	rep, err := core.Repair(dry)
	if err != nil {
		return rep, nil, err
	}
	for i := range dry.cuts {
		c := &dry.cuts[i]
		data, err := b.ReadSegment(c.segment)
		if err != nil {
			return rep, nil, err
		}
		c.fileBytes = int64(len(data))
		end := len(data)
		for end > 0 && data[end-1] == 0 {
			end--
		}
		c.dataEnd = int64(end)
		c.at = min(c.at, c.fileBytes)
	}
	return rep, dry.cuts, nil
}

func (c *cli) repair(dir string, yes bool, backup string) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	opts := native.BackendOptions{ReadOnly: true, NoLock: true, MustExist: true}
	if yes {
		opts = native.BackendOptions{MustExist: true}
	}
	nb, err := native.NewBackend(dir, opts)
	if err != nil {
		return lockedHint(err)
	}
	defer nb.Close()
	p.phase("reading log", segmentFileBytes(dir))
	var log core.Backend = countingBackend{nb, p}
	if !yes {
		log = newCachedBackend(nb, p) // one state of the log for both passes
	}
	rep, cuts, err := planRepair(log)
	if err != nil {
		return err
	}
	p.stop()
	if rep.Corrupt == nil {
		fmt.Fprintln(c.stdout, "damage: none; nothing to repair")
		if rep.TornBytes > 0 {
			fmt.Fprintf(c.stdout, "The log ends in a torn tail (%s), which the next read-write open cuts.\n", tornString(rep.TornBytes, tornData(log, rep.TornBytes)))
		}
		return nil
	}
	verb := map[bool]string{false: "would ", true: ""}[yes]
	var data, zeros int64
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "damage:\t%v\n", rep.Corrupt)
	fmt.Fprintf(w, "kept:\t%d records, %s, before the damage\n", rep.Records, sizeString(rep.Bytes))
	for _, ct := range cuts {
		data += ct.data()
		zeros += ct.zeros()
		if ct.at == 0 {
			fmt.Fprintf(w, "%sempty:\tsegment %d: %d bytes of data\n", verb, ct.segment, ct.data())
		} else {
			fmt.Fprintf(w, "%scut:\tsegment %d from offset %d: %d bytes of data\n", verb, ct.segment, ct.at, ct.data())
		}
	}
	fmt.Fprintf(w, "%slose:\t%s of data in %s (and %d preallocated zero bytes)\n", verb, sizeString(data), plural(len(cuts), "segment", "segments"), zeros)
	if err := w.Flush(); err != nil {
		return err
	}
	if !yes {
		fmt.Fprintf(c.stdout, "\nNothing was changed. The commits in those bytes would be lost; `dbrs repair --yes %s`\ncuts them, after saving them to a backup file.\n", quoteArg(dir))
		return errNo
	}

	if backup == "" {
		backup = filepath.Join(dir, "repair-"+time.Now().UTC().Format("20060102T150405Z")+".tar")
	}
	if err := writeBackup(backup, dir, rep, cuts, nb); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nSaved the bytes to cut in %s.\n", backup)
	done, err := core.Repair(nb)
	if err != nil {
		return fmt.Errorf("%w (the bytes to cut are saved in %s)", err, backup)
	}
	if !slices.Equal(done.CutSegments, cutSegments(cuts)) {
		return fmt.Errorf("dbrs: repair cut segments %v, not the %v planned; the bytes planned are saved in %s", done.CutSegments, cutSegments(cuts), backup)
	}
	after, err := core.Verify(nb)
	switch {
	case err != nil:
		return err
	case after.Corrupt != nil:
		return fmt.Errorf("dbrs: after the cut the log is still damaged: %v (the cut bytes are saved in %s)", after.Corrupt, backup)
	}
	fmt.Fprintf(c.stdout, "\nCut. The log opens again: %d records, %s.\n", after.Records, sizeString(after.Bytes))
	return nil
}

func cutSegments(cuts []cut) []uint64 {
	ids := make([]uint64, len(cuts))
	for i, c := range cuts {
		ids[i] = c.segment
	}
	return ids
}

// writeBackup saves the bytes the cuts remove to a new tar file at path,
// and makes it durable.
func writeBackup(path, dir string, rep core.LogReport, cuts []cut, b core.Backend) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("dbrs: create backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	tw := tar.NewWriter(f)
	now := time.Now()
	readme := fmt.Sprintf("dbrs repair of %s at %s\ndamage: %v\n\nEach other member holds the bytes cut from one segment file of %s,\nnamed SEGMENTFILE+OFFSET: they stood at OFFSET in SEGMENTFILE before the cut.\nPreallocated zero bytes at the end of a file are not saved.\n",
		dir, now.UTC().Format(time.RFC3339), rep.Corrupt, dir)
	members := []struct {
		name string
		data []byte
	}{{"REPAIR.txt", []byte(readme)}}
	for _, ct := range cuts {
		if ct.data() == 0 {
			continue
		}
		data, err := b.ReadSegment(ct.segment)
		if err != nil {
			return err
		}
		if int64(len(data)) < ct.dataEnd {
			return fmt.Errorf("dbrs: segment %d changed while it was read", ct.segment)
		}
		members = append(members, struct {
			name string
			data []byte
		}{fmt.Sprintf("%016x.seg+%d", ct.segment, ct.at), data[ct.at:ct.dataEnd]})
	}
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Mode: 0o600, Size: int64(len(m.data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("dbrs: write backup: %w", err)
		}
		if _, err := tw.Write(m.data); err != nil {
			return fmt.Errorf("dbrs: write backup: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("dbrs: write backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dbrs: sync backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dbrs: write backup: %w", err)
	}
	return syncParent(path)
}

// syncParent makes the entry of the new file path durable by syncing its
// folder. Windows cannot sync a folder; there it does nothing.
func syncParent(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("dbrs: sync folder of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isWindows {
		return fmt.Errorf("dbrs: sync folder of %s: %w", path, err)
	}
	return nil
}
