package main

import (
	"bufio"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dbrs-db/dbrs/core"
)

var getCommand = &command{
	name:    "get",
	args:    "DIR TABLE [KEY [KEY2]]",
	summary: "One value of a table, as JSON",
	help: `
Opens DIR read-only without a lock and prints, as indented JSON:

  single        the value (no KEY)
  list          the item at index KEY (a decimal number)
  lookup_table  the value under KEY
  lookup_list   the list under KEY
  lookup_set    the set under KEY, members in the order of their bytes
  lookup_map    the inner map under KEY as [{"key": K2, "value": V}, ...];
                with KEY2, the value under KEY and KEY2

KEY and KEY2 are strings; with --json-key they are JSON values, encoded the
way dbrs encodes keys (integers in their shortest form, objects as maps in
the order given, as Go structs are encoded): --json-key 42, --json-key
'["a",1]'. The exit status is 1 when there is no such value.`,
	nargs: [2]int{2, 4},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		jsonKey := fs.Bool("json-key", false, "KEY and KEY2 are JSON values, not strings")
		return func(args []string) error { return c.get(args[0], args[1], args[2:], *jsonKey) }
	},
}

var keysCommand = &command{
	name:    "keys",
	args:    "DIR TABLE [KEY]",
	summary: "The keys of a lookup table, one JSON value a line",
	help: `
Opens DIR read-only without a lock and prints the keys of a lookup_table,
lookup_list, lookup_set or lookup_map table, one compact JSON value a line
(a string key is printed quoted), in the order of their msgpack bytes. With
KEY, a lookup_map table prints the keys of the inner map under KEY (see
dbrs get --help for KEY and --json-key).`,
	nargs: [2]int{2, 3},
	setup: func(fs *flag.FlagSet, c *cli) func([]string) error {
		jsonKey := fs.Bool("json-key", false, "KEY is a JSON value, not a string")
		return func(args []string) error { return c.keys(args[0], args[1], args[2:], *jsonKey) }
	},
}

// encodeKey returns the msgpack key of the command-line argument arg.
func encodeKey(arg string, jsonKey bool) (core.RawKey, error) {
	if jsonKey {
		b, err := jsonMsgpack(arg)
		return core.RawKey(b), err
	}
	b, err := msgpack.Marshal(arg)
	return core.RawKey(b), err
}

// notFound reports a missing value on stderr and returns errNo. A string
// key that is missing from a table whose keys are not strings gets a hint.
func (c *cli) notFound(what string, jsonKey bool, someKey core.RawKey) error {
	msg := "dbrs: " + what
	if !jsonKey && someKey != "" {
		if code := someKey[0]; !(code >= 0xa0 && code <= 0xbf || code >= 0xd9 && code <= 0xdb) {
			msg += fmt.Sprintf("; the table's keys are not strings (one is %s): give KEY as JSON with --json-key", mustJSON([]byte(someKey)))
		}
	}
	fmt.Fprintln(c.stderr, msg)
	return errNo
}

// firstKey returns one key of a lookup table, "" if it has none.
func firstKey(keys func(func(core.RawKey) bool)) core.RawKey {
	for k := range keys {
		return k
	}
	return ""
}

func (c *cli) get(dir, table string, keyArgs []string, jsonKey bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	v, err := c.openRead(dir, p)
	if err != nil {
		return err
	}
	defer v.close()
	p.stop()
	spec, err := v.table(table)
	if err != nil {
		return err
	}
	if !builtinKind(spec.Kind) {
		return fmt.Errorf("dbrs: table %q is of the custom kind %q, which only its program decodes; see dbrs dump --table %s", table, spec.Kind, quoteArg(table))
	}
	least, most, wanted := 1, 1, "one KEY"
	switch spec.Kind {
	case core.KindSingle:
		least, most, wanted = 0, 0, "no KEY"
	case core.KindList:
		wanted = "one KEY, the index"
	case core.KindLookupMap:
		most, wanted = 2, "KEY, or KEY and KEY2"
	}
	if len(keyArgs) < least || len(keyArgs) > most {
		return fmt.Errorf("dbrs: table %q is a %s, which takes %s", table, spec.Kind, wanted)
	}
	var keys []core.RawKey
	if spec.Kind != core.KindList {
		for _, a := range keyArgs {
			k, err := encodeKey(a, jsonKey)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
	}
	d := v.db.Tables
	var out any
	switch spec.Kind {
	case core.KindSingle:
		t, err := d.Single(table)
		if err != nil {
			return err
		}
		val, ok := t.Get()
		if !ok {
			return c.notFound(fmt.Sprintf("table %q holds no value", table), true, "")
		}
		out = mustJSON(val)
	case core.KindList:
		t, err := d.List(table)
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(keyArgs[0])
		if err != nil {
			return fmt.Errorf("dbrs: index %q of list %q is not a number", keyArgs[0], table)
		}
		val, err := t.At(i)
		if err != nil {
			return c.notFound(fmt.Sprintf("list %q has no index %d (its length is %d)", table, i, t.Len()), true, "")
		}
		out = mustJSON(val)
	case core.KindLookupTable:
		t, err := d.LookupTable(table)
		if err != nil {
			return err
		}
		val, ok := t.Get(keys[0])
		if !ok {
			return c.notFound(fmt.Sprintf("table %q has no key %s", table, mustJSON([]byte(keys[0]))), jsonKey, firstKey(t.Keys()))
		}
		out = mustJSON(val)
	case core.KindLookupList:
		t, err := d.LookupList(table)
		if err != nil {
			return err
		}
		if !t.Has(keys[0]) {
			return c.notFound(fmt.Sprintf("table %q has no key %s", table, mustJSON([]byte(keys[0]))), jsonKey, firstKey(t.Keys()))
		}
		out = rawList(t.Get(keys[0]))
	case core.KindLookupSet:
		t, err := d.LookupSet(table)
		if err != nil {
			return err
		}
		members := t.Get(keys[0])
		if len(members) == 0 {
			return c.notFound(fmt.Sprintf("table %q has no key %s", table, mustJSON([]byte(keys[0]))), jsonKey, firstKey(t.Keys()))
		}
		out = rawList(sortedKeys(func(yield func(core.RawKey) bool) {
			for _, m := range members {
				if !yield(m) {
					return
				}
			}
		}))
	case core.KindLookupMap:
		t, err := d.LookupMap(table)
		if err != nil {
			return err
		}
		inner := t.GetInner(keys[0])
		if len(inner) == 0 {
			return c.notFound(fmt.Sprintf("table %q has no key %s", table, mustJSON([]byte(keys[0]))), jsonKey, firstKey(t.Keys()))
		}
		if len(keys) == 1 {
			out = innerEntries(inner)
			break
		}
		val, ok := inner[keys[1]]
		if !ok {
			return c.notFound(fmt.Sprintf("table %q has no key %s, %s", table, mustJSON([]byte(keys[0])), mustJSON([]byte(keys[1]))), jsonKey, firstKey(func(yield func(core.RawKey) bool) {
				for k := range inner {
					if !yield(k) {
						return
					}
				}
			}))
		}
		out = mustJSON(val)
	}
	return writeIndented(c.stdout, out)
}

func (c *cli) keys(dir, table string, keyArgs []string, jsonKey bool) error {
	p := c.newProgress("reading log", -1)
	defer p.stop()
	v, err := c.openRead(dir, p)
	if err != nil {
		return err
	}
	defer v.close()
	p.stop()
	spec, err := v.table(table)
	if err != nil {
		return err
	}
	if len(keyArgs) > 0 && spec.Kind != core.KindLookupMap {
		return fmt.Errorf("dbrs: only a lookup_map table takes a KEY (its inner keys); %q is a %s", table, spec.Kind)
	}
	d := v.db.Tables
	var keys []core.RawKey
	switch spec.Kind {
	case core.KindLookupTable:
		t, err := d.LookupTable(table)
		if err != nil {
			return err
		}
		keys = sortedKeys(t.Keys())
	case core.KindLookupList:
		t, err := d.LookupList(table)
		if err != nil {
			return err
		}
		keys = sortedKeys(t.Keys())
	case core.KindLookupSet:
		t, err := d.LookupSet(table)
		if err != nil {
			return err
		}
		keys = sortedKeys(t.Keys())
	case core.KindLookupMap:
		t, err := d.LookupMap(table)
		if err != nil {
			return err
		}
		if len(keyArgs) == 0 {
			keys = sortedKeys(t.Keys())
			break
		}
		k, err := encodeKey(keyArgs[0], jsonKey)
		if err != nil {
			return err
		}
		inner := t.GetInner(k)
		if len(inner) == 0 {
			return c.notFound(fmt.Sprintf("table %q has no key %s", table, mustJSON([]byte(k))), jsonKey, firstKey(t.Keys()))
		}
		for ik := range inner {
			keys = append(keys, ik)
		}
		keys = sortedKeys(func(yield func(core.RawKey) bool) {
			for _, k := range keys {
				if !yield(k) {
					return
				}
			}
		})
	default:
		return fmt.Errorf("dbrs: table %q is a %s, which has no keys; see dbrs dump --table %s", table, spec.Kind, quoteArg(table))
	}
	out := bufio.NewWriter(c.stdout)
	for _, k := range keys {
		out.Write(mustJSON([]byte(k)))
		out.WriteByte('\n')
	}
	return out.Flush()
}

// quoteArg returns s as one word of a POSIX shell command.
func quoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@%=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
