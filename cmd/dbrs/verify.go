package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"text/tabwriter"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

var verifyCommand = &command{
	name:    "verify",
	args:    "DIR",
	summary: "Check framing and checksums, and that every entry replays",
	help: `
Reads the log in DIR without writing and without a lock, so it runs while
an application has the database open, and reports:

  segments, records, bytes  the live log, up to any damage
  torn tail   bytes of a final record cut short: a crash in the middle of
              a write (or, beside a running application, a write in
              progress). It is not damage: the next read-write open cuts it.
  damage      the first damaged record: one that valid data follows, or
              any bad record in an older segment. Opening fails on it with
              ErrCorrupt; dbrs repair cuts the log back to before it.
  replay      whether every entry decodes for its table, replaying the log
              with the tables it defines (skipped when the log is damaged)

A write in progress can look like damage to a reader without a lock, so
damage is confirmed by reading the log again before it is reported.
The exit status is 1 when there is damage or the replay fails.`,
	nargs: [2]int{1, 1},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		return func(args []string) error { return c.verify(args[0]) }
	},
}

func (c *cli) verify(dir string) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	nb, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true, NoLock: true, MustExist: true})
	if err != nil {
		return err
	}
	defer nb.Close()
	var (
		rep   core.LogReport
		cache *cachedBackend
		prev  *core.CorruptError
	)
	for try := 0; ; try++ {
		p.phase("reading log", segmentFileBytes(dir))
		cache = newCachedBackend(nb, p)
		rep, err = core.Verify(cache)
		if err != nil {
			if try < 2 && errors.Is(err, fs.ErrNotExist) { // a compaction removed a segment
				continue
			}
			return err
		}
		// Damage seen once may be a write in progress: read again, and
		// report damage seen twice at one place (or on the last read).
		if rep.Corrupt == nil || try == 2 || (prev != nil && *prev == *rep.Corrupt) {
			break
		}
		prev = rep.Corrupt
	}
	replay := "skipped (the log is damaged)"
	var replayErr error
	if rep.Corrupt == nil {
		v, err := openView(dir, nb, cache, true, p)
		if err != nil {
			replayErr = err
			replay = "failed: " + err.Error()
		} else {
			n := 0
			for _, s := range v.specs {
				if builtinKind(s.Kind) {
					n++
				}
			}
			replay = fmt.Sprintf("ok, %s decoded", plural(n, "table", "tables"))
			if len(v.specs) > n {
				replay += fmt.Sprintf(", %d of custom kinds kept as raw entries", len(v.specs)-n)
			}
			v.db.Close()
		}
	}
	p.stop()
	w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "folder:\t%s\n", dir)
	fmt.Fprintf(w, "segments:\t%d\n", rep.Segments)
	fmt.Fprintf(w, "records:\t%d\n", rep.Records)
	fmt.Fprintf(w, "bytes:\t%s\n", sizeString(rep.Bytes))
	if rep.TornBytes > 0 {
		fmt.Fprintf(w, "torn tail:\t%s at the end of the log: a last write cut short by a crash (or one in progress). Not damage: the next read-write open cuts it\n", tornString(rep.TornBytes, tornData(cache, rep.TornBytes)))
	} else {
		fmt.Fprintf(w, "torn tail:\tnone\n")
	}
	if rep.Corrupt != nil {
		fmt.Fprintf(w, "damage:\t%v\n", rep.Corrupt)
	} else {
		fmt.Fprintf(w, "damage:\tnone\n")
	}
	fmt.Fprintf(w, "replay:\t%s\n", replay)
	if err := w.Flush(); err != nil {
		return err
	}
	switch {
	case rep.Corrupt != nil:
		fmt.Fprintf(c.stdout, "\nThe database does not open. `dbrs repair %s` shows what cutting the log back to its last intact record would lose.\n", quoteArg(dir))
		return errNo
	case replayErr != nil:
		if errors.Is(replayErr, core.ErrCorrupt) {
			fmt.Fprintln(c.stdout, "\nThe records are intact but their content is inconsistent; dbrs repair cannot cut this. Restore a backup, or keep the records before the damage with dbrs dump --records.")
		}
		return errNo
	}
	return nil
}
