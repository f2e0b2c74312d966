package main

import (
	"flag"
	"fmt"
	"text/tabwriter"
)

var compactCommand = &command{
	name:    "compact",
	args:    "DIR",
	summary: "Rewrite the log as a snapshot of the current state",
	help: `
Opens DIR read-write with the tables its log defines and compacts it, as
db.Compact does: the live log is rewritten as one snapshot segment, which
replaces the old segments atomically. It takes the folder's lock, so no
program may have the database open (compaction also runs automatically
inside the program, by CompactRatio). Tables of custom kinds are kept as
they are. A log whose tables are all of custom kinds must be compacted by
its program.`,
	nargs: [2]int{1, 1},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		return func(args []string) error { return c.compact(args[0]) }
	},
}

func (c *cli) compact(dir string) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	v, err := c.openWrite(dir, p)
	if err != nil {
		return err
	}
	before := v.db.Stats()
	p.phase("compacting", -1)
	err = v.db.Compact()
	after := v.db.Stats()
	if cerr := v.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	p.stop()
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "log bytes:\t%s -> %s\n", sizeString(before.LogBytes), sizeString(after.LogBytes))
	fmt.Fprintf(w, "records:\t%d -> %d\n", before.Records, after.Records)
	fmt.Fprintf(w, "segments:\t%d -> %d\n", before.Segments, after.Segments)
	return w.Flush()
}
