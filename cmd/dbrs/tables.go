package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"slices"

	"github.com/dbrs-db/dbrs/core"
)

// The state of one table, rendered from the dynamic schema's raw msgpack.

// member is one member of an ordered JSON object.
type member struct {
	key   string
	value any
}

// object is a JSON object that keeps its members in order.
type object []member

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := marshalJSON(m.key)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshalJSON(m.value)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// sortedKeys returns the keys of seq in the order of their bytes, as the
// dynamic ops list them.
func sortedKeys[K ~string](seq iter.Seq[K]) []K {
	keys := slices.Collect(seq)
	slices.Sort(keys)
	return keys
}

// tableText is one table as the text dump shows it: a heading and a line
// per item.
type tableText struct {
	heading string
	lines   []string
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// renderTable returns the state of the table spec in db as JSON (kind and
// content) and as text. usage gives the snapshot entries of tables of
// custom kinds, which are shown as their raw entries.
func renderTable(db *core.DB[core.Dynamic], spec core.TableSpec, usage map[string]*tableUsage) (object, tableText, error) {
	d := db.Tables
	obj := object{{"kind", spec.Kind}}
	txt := tableText{heading: fmt.Sprintf("%s (%s", spec.Name, spec.Kind)}
	switch spec.Kind {
	case core.KindSingle:
		t, err := d.Single(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		if v, ok := t.Get(); ok {
			obj = append(obj, member{"value", mustJSON(v)})
			txt.lines = append(txt.lines, string(mustJSON(v)))
		} else {
			txt.heading += ", empty"
		}
	case core.KindList:
		t, err := d.List(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		items := []json.RawMessage{}
		for i, v := range t.All() {
			items = append(items, mustJSON(v))
			txt.lines = append(txt.lines, fmt.Sprintf("[%d] %s", i, mustJSON(v)))
		}
		obj = append(obj, member{"items", items})
		txt.heading += ", " + plural(len(items), "item", "items")
	case core.KindLookupTable:
		t, err := d.LookupTable(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		entries := []object{}
		for _, k := range sortedKeys(t.Keys()) {
			v, _ := t.Get(k)
			entries = append(entries, object{{"key", mustJSON([]byte(k))}, {"value", mustJSON(v)}})
			txt.lines = append(txt.lines, fmt.Sprintf("%s: %s", mustJSON([]byte(k)), mustJSON(v)))
		}
		obj = append(obj, member{"entries", entries})
		txt.heading += ", " + plural(len(entries), "key", "keys")
	case core.KindLookupList:
		t, err := d.LookupList(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		entries := []object{}
		for _, k := range sortedKeys(t.Keys()) {
			vals := rawList(t.Get(k))
			entries = append(entries, object{{"key", mustJSON([]byte(k))}, {"values", vals}})
			txt.lines = append(txt.lines, fmt.Sprintf("%s: %s", mustJSON([]byte(k)), compactJSON(vals)))
		}
		obj = append(obj, member{"entries", entries})
		txt.heading += ", " + plural(len(entries), "key", "keys")
	case core.KindLookupSet:
		t, err := d.LookupSet(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		entries := []object{}
		for _, k := range sortedKeys(t.Keys()) {
			members := t.Get(k)
			slices.Sort(members)
			vals := rawList(members)
			entries = append(entries, object{{"key", mustJSON([]byte(k))}, {"members", vals}})
			txt.lines = append(txt.lines, fmt.Sprintf("%s: %s", mustJSON([]byte(k)), compactJSON(vals)))
		}
		obj = append(obj, member{"entries", entries})
		txt.heading += ", " + plural(len(entries), "key", "keys")
	case core.KindLookupMap:
		t, err := d.LookupMap(spec.Name)
		if err != nil {
			return nil, txt, err
		}
		entries := []object{}
		for _, k := range sortedKeys(t.Keys()) {
			inner := innerEntries(t.GetInner(k))
			entries = append(entries, object{{"key", mustJSON([]byte(k))}, {"entries", inner}})
			for _, e := range inner {
				txt.lines = append(txt.lines, fmt.Sprintf("%s, %s: %s", mustJSON([]byte(k)), e[0].value, e[1].value))
			}
		}
		obj = append(obj, member{"entries", entries})
		txt.heading += ", " + plural(len(entries), "key", "keys")
	default:
		// A custom kind: its state is the program's. The log's entries
		// for it are kept as they are (replayed since the last snapshot,
		// and compacted by the program only); show them.
		raw := []json.RawMessage{}
		if u := usage[spec.Name]; u != nil {
			for _, e := range u.entries {
				raw = append(raw, mustJSON(e.entry))
				txt.lines = append(txt.lines, string(mustJSON(e.entry)))
			}
		}
		obj = append(obj, member{"custom", true}, member{"entries", raw})
		txt.heading += ", a custom kind: " + plural(len(raw), "raw entry", "raw entries")
	}
	txt.heading += ")"
	return obj, txt, nil
}

// rawList converts raw msgpack values to JSON.
func rawList[V ~[]byte | ~string](vals []V) []json.RawMessage {
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = mustJSON([]byte(v))
	}
	return out
}

// innerEntries returns an inner map of a lookup map as key-value objects in
// key order.
func innerEntries(inner map[core.RawKey]core.RawValue) []object {
	out := []object{}
	for _, k := range slices.Sorted(func(yield func(core.RawKey) bool) {
		for k := range inner {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, object{{"key", mustJSON([]byte(k))}, {"value", mustJSON(inner[k])}})
	}
	return out
}

// compactJSON marshals v on one line.
func compactJSON(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// marshalJSON is json.Marshal without escaping <, > and &: the output is
// read by people and tools, never embedded in HTML.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
