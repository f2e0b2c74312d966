package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

var dumpCommand = &command{
	name:    "dump",
	args:    "DIR",
	summary: "The state of every table, or the raw records of the log",
	help: `
Opens DIR read-only without a lock (it runs beside an application that has
the database open) with the tables its log defines, and prints each table:
as text by default, as one JSON document with --json. Keys and values are
msgpack, shown as JSON: maps keep their order, a map key that is not a
string becomes its JSON text, binary is {"$bin": base64}. Lookup keys are
listed in the order of their msgpack bytes. A table of a custom kind (a
core.Custom table) cannot be decoded without its program: its entries are
shown raw ([op, args...] as its program defines them), as the log holds
them since the program last compacted it.

JSON form:
  {"tables": {"NAME": {"kind": "single", "value": V},
              "NAME": {"kind": "list", "items": [V, ...]},
              "NAME": {"kind": "lookup_table", "entries": [{"key": K, "value": V}, ...]},
              "NAME": {"kind": "lookup_list", "entries": [{"key": K, "values": [V, ...]}, ...]},
              "NAME": {"kind": "lookup_set", "entries": [{"key": K, "members": [V, ...]}, ...]},
              "NAME": {"kind": "lookup_map", "entries": [{"key": K, "entries": [{"key": K2, "value": V}]}]},
              "NAME": {"kind": "CUSTOM", "custom": true, "entries": [ENTRY, ...]}}}

--records prints the log itself instead: every intact record of the live
log in order, with the entries of commits and snapshots by table (an entry
is [op, args...] as the table kind defines it; see core/record.go). It
decodes no table state, so it works on a log that does not open, and it
stops at the first damage, which it reports on stderr (exit status 1).
With --json it prints one JSON object per record (JSON Lines).`,
	nargs: [2]int{1, 1},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		table := fs.String("table", "", "print only the table `NAME`")
		asJSON := fs.Bool("json", false, "print JSON instead of text")
		records := fs.Bool("records", false, "print the raw record stream of the log instead of the state")
		return func(args []string) error {
			if *records {
				return c.dumpRecords(args[0], *table, *asJSON)
			}
			return c.dump(args[0], *table, *asJSON)
		}
	},
}

func (c *cli) dump(dir, table string, asJSON bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	v, err := c.openRead(dir, p)
	if err != nil {
		return err
	}
	defer v.close()
	specs := v.specs
	if table != "" {
		spec, err := v.table(table)
		if err != nil {
			return err
		}
		specs = []core.TableSpec{spec}
	}
	var usage map[string]*tableUsage
	for _, s := range specs {
		if !builtinKind(s.Kind) {
			p.phase("reading custom tables", -1)
			if usage, err = snapshotUsage(v.db); err != nil {
				return err
			}
			break
		}
	}
	p.stop()
	tables := object{}
	out := bufio.NewWriter(c.stdout)
	for i, spec := range specs {
		obj, txt, err := renderTable(v.db, spec, usage)
		if err != nil {
			return err
		}
		if asJSON {
			tables = append(tables, member{spec.Name, obj})
			continue
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, txt.heading)
		for _, l := range txt.lines {
			fmt.Fprintln(out, "  "+l)
		}
	}
	if asJSON {
		if err := writeIndented(out, object{{"tables", tables}}); err != nil {
			return err
		}
	}
	return out.Flush()
}

func (c *cli) dumpRecords(dir, table string, asJSON bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	nb, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true, NoLock: true, MustExist: true})
	if err != nil {
		return err
	}
	defer nb.Close()
	p.phase("reading log", segmentFileBytes(dir))
	log := newCachedBackend(nb, p)
	if _, err := log.Segments(); err != nil {
		return err
	}
	// Read everything first, so that progress ends before printing starts.
	ids, _ := log.Segments()
	for _, id := range ids {
		if _, err := log.ReadSegment(id); err != nil {
			return err
		}
	}
	p.stop()
	out := bufio.NewWriter(c.stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	r := newRecordReader()
	rep, err := core.WalkLog(log, func(rec core.LogRecord) error {
		j := recordJSON{Segment: rec.Segment, Offset: rec.Offset, Size: rec.Size, Kind: kindNames[rec.Kind]}
		switch rec.Kind {
		case core.RecordSchema:
			tables, err := r.schema(rec)
			if err != nil {
				return err
			}
			if table != "" {
				return nil
			}
			for _, t := range tables {
				j.Tables = append(j.Tables, schemaTableJSON(t))
			}
		case core.RecordCommit, core.RecordSnapshot, core.RecordCommitPart:
			entries, err := r.entries(rec)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if table == "" || r.name(e.table) == table {
					j.Entries = append(j.Entries, entryJSON{Table: r.name(e.table), ID: e.table, Entry: mustJSON(e.entry)})
				}
			}
			if table != "" && len(j.Entries) == 0 {
				return nil
			}
		default:
			if table != "" {
				return nil
			}
			j.Payload = mustJSON(rec.Payload)
		}
		if asJSON {
			return enc.Encode(j)
		}
		fmt.Fprintf(out, "segment %d offset %d: %s, %d bytes", j.Segment, j.Offset, j.Kind, j.Size)
		switch {
		case j.Tables != nil:
			fmt.Fprintf(out, ", %s\n", plural(len(j.Tables), "table", "tables"))
			for _, t := range j.Tables {
				fmt.Fprintf(out, "  table %d: %s (%s)\n", t.ID, t.Name, t.Kind)
			}
		case j.Entries != nil:
			fmt.Fprintf(out, ", %s\n", plural(len(j.Entries), "entry", "entries"))
			for _, e := range j.Entries {
				fmt.Fprintf(out, "  %s %s\n", e.Table, e.Entry)
			}
		case j.Payload != nil:
			fmt.Fprintf(out, ": %s\n", j.Payload)
		default:
			fmt.Fprintln(out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rep.Corrupt != nil {
		out.Flush()
		fmt.Fprintf(c.stderr, "%v\nthe log is damaged there: nothing after it is shown (run `dbrs verify %s`)\n", rep.Corrupt, dir)
		return errNo
	}
	if rep.TornBytes > 0 {
		out.Flush()
		fmt.Fprintf(c.stderr, "dbrs: the log ends in a torn tail of %d bytes (a last write cut short, or in progress), not shown\n", rep.TornBytes)
	}
	return nil
}
