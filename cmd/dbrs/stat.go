package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

var statCommand = &command{
	name:    "stat",
	args:    "DIR",
	summary: "Segments, records, sizes, tables and the last compaction",
	help: `
Opens DIR read-only without a lock (it runs beside an application that has
the database open) and prints:

  segments         the live segments (the newest complete snapshot and
                   later), and stale ones that the next compaction removes
  version          the schema version the log is at (Options.Version)
  records          records in the live log
  log bytes        bytes of those records
  live bytes       bytes a compacted log of the current state would take
  file bytes       size of the segment files, preallocated zeros included
  torn tail        bytes of a record cut short at the end of the log
  last compaction  the snapshot segment the log starts from, and when it
                   was written; "never" if the log holds no snapshot
  tables           each table's kind; its items (values, keys of a lookup
                   table); its entries (elements) and bytes in a snapshot`,
	nargs: [2]int{1, 1},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		asJSON := fs.Bool("json", false, "print the statistics as one JSON object")
		return func(args []string) error { return c.stat(args[0], *asJSON) }
	},
}

type statTable struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Items   *int   `json:"items,omitempty"` // nil for a custom kind
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
}

type statResult struct {
	Folder           string      `json:"folder"`
	Segments         int         `json:"segments"`
	StaleSegments    int         `json:"staleSegments"`
	Version          uint64      `json:"version"`
	Records          int64       `json:"records"`
	LogBytes         int64       `json:"logBytes"`
	LiveBytes        int64       `json:"liveBytes"`
	FileBytes        int64       `json:"fileBytes"`
	TornBytes        int64       `json:"tornBytes"`
	SnapshotSegment  *uint64     `json:"snapshotSegment"` // nil: never compacted
	LastCompaction   *time.Time  `json:"lastCompaction"`  // the snapshot file's modification time
	Tables           []statTable `json:"tables"`
	segmentFileCount int
}

func (c *cli) stat(dir string, asJSON bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	v, err := c.openRead(dir, p)
	if err != nil {
		return err
	}
	defer v.close()
	st := v.db.Stats()
	res := statResult{
		Folder:    dir,
		Segments:  st.Segments,
		Version:   v.db.Version(),
		Records:   st.Records,
		LogBytes:  st.LogBytes,
		LiveBytes: st.LiveBytes,
		TornBytes: v.db.OpenStats().TornBytes,
		Tables:    []statTable{},
	}
	// The base segment is a snapshot if it holds a snapshot-end record.
	first, base := true, uint64(0)
	_, err = core.WalkLog(v.log, func(r core.LogRecord) error {
		if first {
			base, first = r.Segment, false
		}
		if r.Kind == core.RecordSnapshotEnd && r.Segment == base {
			res.SnapshotSegment = &base
		}
		return nil
	})
	if err != nil {
		return err
	}
	if res.SnapshotSegment != nil {
		if fi, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%016x.seg", base))); err == nil {
			t := fi.ModTime()
			res.LastCompaction = &t
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("dbrs: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			if fi, err := e.Info(); err == nil {
				res.FileBytes += fi.Size()
				res.segmentFileCount++
			}
		}
	}
	res.StaleSegments = max(0, res.segmentFileCount-res.Segments)
	p.phase("measuring tables", -1)
	usage, err := snapshotUsage(v.db)
	if err != nil {
		return err
	}
	p.stop()
	for _, spec := range v.specs {
		t := statTable{Name: spec.Name, Kind: spec.Kind}
		if u := usage[spec.Name]; u != nil {
			t.Entries, t.Bytes = len(u.entries), u.bytes
		}
		if n, ok := tableItems(v.db, spec); ok {
			t.Items = &n
		}
		res.Tables = append(res.Tables, t)
	}
	if asJSON {
		return writeIndented(c.stdout, res)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "folder:\t%s\n", dir)
	fmt.Fprintf(w, "segments:\t%d live, %d stale\n", res.Segments, res.StaleSegments)
	fmt.Fprintf(w, "version:\t%d\n", res.Version)
	fmt.Fprintf(w, "records:\t%d\n", res.Records)
	fmt.Fprintf(w, "log bytes:\t%s\n", sizeString(res.LogBytes))
	fmt.Fprintf(w, "live bytes:\t%s\n", sizeString(res.LiveBytes))
	fmt.Fprintf(w, "file bytes:\t%s\n", sizeString(res.FileBytes))
	if res.TornBytes > 0 {
		fmt.Fprintf(w, "torn tail:\t%s (a last write cut short, or in progress; the next read-write open cuts it)\n", tornString(res.TornBytes, tornData(v.log, res.TornBytes)))
	} else {
		fmt.Fprintf(w, "torn tail:\tnone\n")
	}
	switch {
	case res.SnapshotSegment == nil:
		fmt.Fprintf(w, "last compaction:\tnever (the log holds no snapshot)\n")
	case res.LastCompaction == nil:
		fmt.Fprintf(w, "last compaction:\tsnapshot segment %d\n", *res.SnapshotSegment)
	default:
		fmt.Fprintf(w, "last compaction:\tsnapshot segment %d, written %s (%s ago)\n", *res.SnapshotSegment,
			res.LastCompaction.Format(time.DateTime), time.Since(*res.LastCompaction).Round(time.Second))
	}
	fmt.Fprintf(w, "tables:\t%d\n", len(res.Tables))
	if err := w.Flush(); err != nil {
		return err
	}
	if len(res.Tables) == 0 {
		return nil
	}
	w = tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  TABLE\tKIND\tITEMS\tENTRIES\tBYTES")
	for _, t := range res.Tables {
		items := "-"
		if t.Items != nil {
			items = fmt.Sprint(*t.Items)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%d\t%d\n", t.Name, t.Kind, items, t.Entries, t.Bytes)
	}
	return w.Flush()
}

// tableItems returns the items of a table of a built-in kind: 0 or 1 for
// a single, the length of a list, the keys of a lookup table.
func tableItems(db *core.DB[core.Dynamic], spec core.TableSpec) (int, bool) {
	d := db.Tables
	switch spec.Kind {
	case core.KindSingle:
		t, err := d.Single(spec.Name)
		if err != nil {
			return 0, false
		}
		if _, ok := t.Get(); ok {
			return 1, true
		}
		return 0, true
	case core.KindList:
		if t, err := d.List(spec.Name); err == nil {
			return t.Len(), true
		}
	case core.KindLookupTable:
		if t, err := d.LookupTable(spec.Name); err == nil {
			return t.Len(), true
		}
	case core.KindLookupList:
		if t, err := d.LookupList(spec.Name); err == nil {
			return t.Len(), true
		}
	case core.KindLookupSet:
		if t, err := d.LookupSet(spec.Name); err == nil {
			return t.Len(), true
		}
	case core.KindLookupMap:
		if t, err := d.LookupMap(spec.Name); err == nil {
			return t.Len(), true
		}
	}
	return 0, false
}

// sizeString shows n bytes, with a rounded size in KiB, MiB or GiB.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%d bytes (%.1f GiB)", n, float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d bytes (%.1f KiB)", n, float64(n)/(1<<10))
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
