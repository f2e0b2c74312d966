package core

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Schema versions and upgrades.
//
// A log may carry a schema version (Options.Version), stored in its schema
// records (record.go). Open compares it with the program's, at the first
// schema record it replays and before any table is bound:
//   - equal: the open goes on as usual;
//   - the log's is newer: ErrVersion (there is no downgrade);
//   - the log's is older: the upgrade runs, then the open starts again.
//
// The upgrade is atomic by construction, as compaction is (compact.go):
//  1. the old log is replayed without the schema, every table into a raw
//     state (values as their msgpack bytes), and each table's state is
//     taken as the entries compaction would write for it;
//  2. Options.Upgrade renames, drops and transforms those tables (Upgrade);
//  3. the result is encoded as a snapshot segment (a schema record holding
//     the new version, snapshot records, a snapshot-end record) and checked
//     by opening it, read-only and in memory, with the program's schema: a
//     value that does not decode as its new type, a table of the wrong
//     kind, or an old table left unhandled fails here;
//  4. Backend.Install writes the segment as the newest one and removes the
//     old segments.
//
// Nothing is written before step 4, so an upgrade that fails, or a crash
// before Install has made the segment durable, leaves the old log (at the
// old version) authoritative, and the next open runs the upgrade again.
// Once the segment is durable it is the base of the log (a complete snapshot
// segment, which older segments may not outlive: the next compaction
// removes any that Install left), its version equals the program's, and the
// upgrade never runs again. Memory: the old tables are held twice (raw and
// as entries) while the upgrade runs.

// Upgrade is the step that Open runs when the stored schema version is older
// than Options.Version. It holds the stored tables under their stored names,
// each as a list of elements (see Element); Rename, Drop and the Transform
// functions change them, and tables of the schema that no stored table
// becomes start empty.
type Upgrade struct {
	// From is the stored version (0 for a log written without a version);
	// To is Options.Version.
	From, To uint64

	tables []*upgradeTable
}

// upgradeTable is one table as an upgrade holds it: its entries are those
// compaction writes for its state, [op, args...]. For the built-in kinds
// op is the insert (or push), and args are the element's keys then its
// value.
type upgradeTable struct {
	name, kind string
	entries    [][]byte
}

// Element is one value of a table under upgrade, with the keys under which
// it is stored, all as msgpack.
type Element struct {
	// Keys are none for a single and a list, the key for a lookup table,
	// lookup list and lookup set, and the outer then the inner key for a
	// lookup map.
	Keys []RawKey
	// Value is the value; in a lookup set, the element (itself a key).
	Value RawValue
}

// upgradeNeeded is what loading returns when the log is at an older
// version than the program's: open then upgrades and loads again.
type upgradeNeeded struct{ from, to uint64 }

func (u *upgradeNeeded) Error() string {
	return fmt.Sprintf("dbrs: schema version %d needs an upgrade to %d", u.from, u.to)
}

// seeVersion checks the version of a schema record being replayed.
func (e *engine) seeVersion(stored uint64) error {
	if e.rawVersion {
		e.version = stored
		return nil
	}
	want := e.opts.Version
	switch {
	case stored == want:
		return nil
	case stored > want:
		return fmt.Errorf("%w: the database is at version %d, newer than this program's %d, and dbrs does not downgrade", ErrVersion, stored, want)
	case e.opts.ReadOnly:
		return fmt.Errorf("%w: the database is at version %d, older than this program's %d, and a read-only open cannot upgrade it", ErrVersion, stored, want)
	}
	return &upgradeNeeded{from: stored, to: want}
}

// schemaVersion reads the version of a schema record payload: its third
// element, or 0 without one.
func schemaVersion(payload []byte) (uint64, error) {
	d := &entryReader{b: payload}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n < 3 {
		return 0, nil
	}
	if _, err := d.skip(); err != nil { // the kind
		return 0, err
	}
	if _, err := d.skip(); err != nil { // the tables
		return 0, err
	}
	v, err := d.DecodeUint(math.MaxUint64)
	if err != nil {
		return 0, fmt.Errorf("schema record: version: %w", err)
	}
	return v, nil
}

// Version returns the schema version of the database: Options.Version, which
// the log holds.
func (db *DB[S]) Version() uint64 { return db.e.version }

// upgrade runs the upgrade of the log in b from version from to
// opts.Version for the schema desc, and installs its result (see the top
// of this file).
func upgrade(b Backend, desc *schemaDesc, opts Options, from uint64) error {
	u := &Upgrade{From: from, To: opts.Version}
	fail := func(err error) error {
		return fmt.Errorf("dbrs: upgrade from version %d to %d: %w", u.From, u.To, err)
	}

	// 1. The old log, raw.
	old, err := newEngine(b, &schemaDesc{}, Options{ReadOnly: true, KeepUnknownTables: true})
	if err != nil {
		return fail(err)
	}
	old.rawVersion = true
	if err := old.load(); err != nil {
		return fail(err)
	}
	for _, t := range old.tables {
		entries, err := tableEntries(t)
		if err != nil {
			return fail(err)
		}
		u.tables = append(u.tables, &upgradeTable{name: t.name, kind: t.kind, entries: entries})
	}
	old = nil

	// 2. The program's steps.
	if opts.Upgrade != nil {
		if err := opts.Upgrade(u); err != nil {
			return fail(err)
		}
	}

	// 3. The new log, checked against the schema.
	chunks, err := u.snapshot()
	if err != nil {
		return fail(err)
	}
	check := NewMemBackend()
	if err := check.Install(1, chunks, nil); err != nil {
		return fail(err)
	}
	copts := opts
	copts.ReadOnly = true
	ce, err := newEngine(check, desc, copts)
	if err != nil {
		return fail(err)
	}
	if err := ce.load(); err != nil {
		return fail(fmt.Errorf("the upgraded tables do not fit the schema: %w", err))
	}

	// 4. Install: the one write, and the moment the upgrade happens.
	ids, err := b.Segments()
	if err != nil {
		return fail(fmt.Errorf("list segments: %w", err))
	}
	id := uint64(1)
	if len(ids) > 0 {
		id = ids[len(ids)-1] + 1
	}
	if err := b.Install(id, chunks, ids); err != nil {
		// As in compaction: the segment may have become durable before a
		// removal failed. Then the upgrade is done, and the next
		// compaction removes what is left.
		now, lerr := b.Segments()
		if lerr != nil || !slices.Contains(now, id) {
			return fail(fmt.Errorf("install segment %d: %w", id, err))
		}
	}
	return nil
}

// tableEntries returns the entries compaction writes for t's state.
func tableEntries(t *tableInfo) ([][]byte, error) {
	w := newEntryWriter()
	w.stored = true
	if err := t.state.compact(w, t.id); err != nil {
		return nil, fmt.Errorf("table %q: %w", t.name, err)
	}
	d := &entryReader{b: w.buf.Bytes()}
	var entries [][]byte
	for !d.done() {
		if _, err := d.DecodeUint(math.MaxUint32); err != nil {
			return nil, err
		}
		entry, err := d.skip()
		if err != nil {
			return nil, err
		}
		entries = append(entries, bytes.Clone(entry))
	}
	return entries, nil
}

// snapshot encodes the tables as a snapshot segment at version u.To.
func (u *Upgrade) snapshot() ([][]byte, error) {
	tables := make([]*tableInfo, len(u.tables))
	states := make([]tableState, len(u.tables))
	for i, t := range u.tables {
		tables[i] = &tableInfo{id: uint32(i), name: t.name, kind: t.kind}
		states[i] = &opaqueState{k: t.kind, entries: t.entries}
	}
	chunks, _, err := snapshot(schemaRecordOf(tables, u.To), tables, states)
	return chunks, err
}

// Tables returns the tables as the upgrade holds them now: their names and
// kinds, in the order of the stored log.
func (u *Upgrade) Tables() []TableSpec {
	specs := make([]TableSpec, len(u.tables))
	for i, t := range u.tables {
		specs[i] = TableSpec{Name: t.name, Kind: t.kind}
	}
	return specs
}

func (u *Upgrade) table(name string) (*upgradeTable, error) {
	for _, t := range u.tables {
		if t.name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: %q is not among the stored tables", ErrUnknownTable, name)
}

// Rename renames the table from to to, keeping its contents. It fails with
// ErrUnknownTable if there is no table from, and with ErrSchema if a table
// called to exists.
func (u *Upgrade) Rename(from, to string) error {
	t, err := u.table(from)
	if err != nil {
		return err
	}
	if to == "" {
		return fmt.Errorf("%w: cannot rename %q to an empty name", ErrSchema, from)
	}
	if _, err := u.table(to); err == nil && from != to {
		return fmt.Errorf("%w: cannot rename %q to %q: a table of that name exists", ErrSchema, from, to)
	}
	t.name = to
	return nil
}

// Drop removes the table name and its contents. It fails with
// ErrUnknownTable if there is no such table.
func (u *Upgrade) Drop(name string) error {
	t, err := u.table(name)
	if err != nil {
		return err
	}
	u.tables = slices.DeleteFunc(u.tables, func(x *upgradeTable) bool { return x == t })
	return nil
}

// keyCount returns how many keys precede the value in an element of a
// built-in kind, or false for a kind an upgrade cannot look into.
func keyCount(kind string) (int, bool) {
	switch kind {
	case KindSingle, KindList:
		return 0, true
	case KindLookupTable, KindLookupList, KindLookupSet:
		return 1, true
	case KindLookupMap:
		return 2, true
	}
	return 0, false
}

// element splits an entry [op, keys..., value] of a table of kind.
func element(kind string, entry []byte) (op uint64, el Element, err error) {
	keys, _ := keyCount(kind)
	d := &entryReader{b: entry}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, el, err
	}
	if n != keys+2 {
		return 0, el, fmt.Errorf("a %s entry of %d elements, want %d", kind, n, keys+2)
	}
	if op, err = d.DecodeUint(math.MaxUint8); err != nil {
		return 0, el, err
	}
	for range keys {
		k, err := d.skip()
		if err != nil {
			return 0, el, err
		}
		el.Keys = append(el.Keys, RawKey(k))
	}
	v, err := d.skip()
	el.Value = RawValue(v)
	return op, el, err
}

// Elements returns every element of table, in the order compaction writes
// them (a list's in list order). The slices alias nothing the upgrade keeps.
// It fails with ErrSchema for a custom table, whose entries only its own
// type understands.
func (u *Upgrade) Elements(table string) ([]Element, error) {
	t, err := u.table(table)
	if err != nil {
		return nil, err
	}
	if _, ok := keyCount(t.kind); !ok {
		return nil, fmt.Errorf("%w: table %q is a %s, whose elements an upgrade cannot read", ErrSchema, table, t.kind)
	}
	els := make([]Element, len(t.entries))
	for i, en := range t.entries {
		if _, els[i], err = element(t.kind, bytes.Clone(en)); err != nil {
			return nil, fmt.Errorf("table %q: %w", table, err)
		}
	}
	return els, nil
}

// TransformRaw replaces the value of every element of table by what fn
// returns for it (one msgpack value; in a lookup set, a valid key). Keys
// and order are kept; in a lookup set, elements that become equal become
// one. If fn fails, TransformRaw returns its error and the
// table is as it was. The value's new type is checked against the schema
// when the upgrade ends.
func (u *Upgrade) TransformRaw(table string, fn func(i int, el Element) (RawValue, error)) error {
	t, err := u.table(table)
	if err != nil {
		return err
	}
	els, err := u.Elements(table)
	if err != nil {
		return err
	}
	valid := ValidRaw
	if t.kind == KindLookupSet {
		valid = ValidKey
	}
	out := make([][]byte, 0, len(t.entries))
	seen := map[string]bool{} // a lookup set's elements that became equal become one
	for i, el := range els {
		op, _, _ := element(t.kind, t.entries[i])
		v, err := fn(i, el)
		if err != nil {
			return err
		}
		if v == nil {
			v = RawValue{0xc0}
		}
		if err := valid(v); err != nil {
			return fmt.Errorf("table %q: the new value of element %d: %w", table, i, err)
		}
		b := appendUint(appendArrayLen(nil, len(el.Keys)+2), op)
		for _, k := range el.Keys {
			b = append(b, k...)
		}
		b = append(b, v...)
		if t.kind == KindLookupSet {
			if seen[string(b)] {
				continue
			}
			seen[string(b)] = true
		}
		out = append(out, b)
	}
	t.entries = out
	return nil
}

// transform decodes each element's keys and value, calls fn and encodes
// its result, for the kinds given.
func transform[Old, New any](u *Upgrade, table string, kinds []string, fn func(keys []RawKey, i int, v Old) (New, error)) error {
	t, err := u.table(table)
	if err != nil {
		return err
	}
	if !slices.Contains(kinds, t.kind) {
		return fmt.Errorf("%w: table %q is a %s; use %s", ErrSchema, table, t.kind, transformFor(t.kind))
	}
	return u.TransformRaw(table, func(i int, el Element) (RawValue, error) {
		old, err := fromRaw[Old](el.Value)
		if err != nil {
			return nil, fmt.Errorf("table %q: element %d: decode %T: %w", table, i, old, err)
		}
		v, err := fn(el.Keys, i, old)
		if err != nil {
			return nil, err
		}
		return toRaw(v)
	})
}

// transformFor names the Transform function for a kind, for errors.
func transformFor(kind string) string {
	switch kind {
	case KindSingle:
		return "TransformSingle"
	case KindList:
		return "TransformList"
	case KindLookupMap:
		return "TransformMap"
	case KindLookupTable, KindLookupList, KindLookupSet:
		return "Transform"
	}
	return "Rename or Drop (a custom table cannot be transformed)"
}

// fromRaw decodes one msgpack value as a T.
func fromRaw[T any](raw []byte) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *RawValue:
		*p = RawValue(bytes.Clone(raw))
		return v, nil
	case *RawKey:
		*p = RawKey(raw)
		return v, nil
	}
	d := &entryReader{b: raw}
	if err := decodeInto(d, &v); err != nil {
		return v, err
	}
	if !d.done() {
		return v, errors.New("bytes left after the value")
	}
	return v, nil
}

// toRaw encodes v as one msgpack value.
func toRaw[T any](v T) (RawValue, error) {
	switch p := any(&v).(type) {
	case *RawValue:
		return *p, nil
	case *RawKey:
		return RawValue(*p), nil
	}
	var buf bytes.Buffer
	if err := encodeTo(&buf, v); err != nil {
		return nil, fmt.Errorf("dbrs: cannot encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// TransformSingle replaces the value of the single table by fn's result,
// changing its type from Old to New. An empty single stays empty.
func TransformSingle[Old, New any](u *Upgrade, table string, fn func(v Old) (New, error)) error {
	return transform(u, table, []string{KindSingle}, func(_ []RawKey, _ int, v Old) (New, error) { return fn(v) })
}

// TransformList replaces each value of the list table by fn's result (i is
// its index), changing its type from Old to New.
func TransformList[Old, New any](u *Upgrade, table string, fn func(i int, v Old) (New, error)) error {
	return transform(u, table, []string{KindList}, func(_ []RawKey, i int, v Old) (New, error) { return fn(i, v) })
}

// Transform replaces each value of a lookup table, each element of a lookup
// list, or each element of a lookup set by fn's result, given its key,
// changing its type from Old to New. In a lookup set, elements that become
// equal become one.
func Transform[K comparable, Old, New any](u *Upgrade, table string, fn func(k K, v Old) (New, error)) error {
	return transform(u, table, []string{KindLookupTable, KindLookupList, KindLookupSet}, func(keys []RawKey, _ int, v Old) (New, error) {
		k, err := fromRaw[K]([]byte(keys[0]))
		if err != nil {
			var zero New
			return zero, fmt.Errorf("table %q: decode key as %T: %w", table, k, err)
		}
		return fn(k, v)
	})
}

// TransformMap replaces each value of a lookup map by fn's result, given
// its outer and inner key, changing its type from Old to New.
func TransformMap[K1, K2 comparable, Old, New any](u *Upgrade, table string, fn func(k1 K1, k2 K2, v Old) (New, error)) error {
	return transform(u, table, []string{KindLookupMap}, func(keys []RawKey, _ int, v Old) (New, error) {
		var zero New
		k1, err := fromRaw[K1]([]byte(keys[0]))
		if err != nil {
			return zero, fmt.Errorf("table %q: decode key as %T: %w", table, k1, err)
		}
		k2, err := fromRaw[K2]([]byte(keys[1]))
		if err != nil {
			return zero, fmt.Errorf("table %q: decode inner key as %T: %w", table, k2, err)
		}
		return fn(k1, k2, v)
	})
}

// EncodeElements returns Elements(table) as one msgpack array of
// [[key, ...], value] arrays, the keys and values embedded as they are: the
// form in which a binding (the browser bridge) hands them across a language
// boundary in one call.
func (u *Upgrade) EncodeElements(table string) ([]byte, error) {
	els, err := u.Elements(table)
	if err != nil {
		return nil, err
	}
	b := appendArrayLen(nil, len(els))
	for _, el := range els {
		b = appendArrayLen(appendArrayLen(b, 2), len(el.Keys))
		for _, k := range el.Keys {
			b = append(b, k...)
		}
		b = append(b, el.Value...)
	}
	return b, nil
}

// SetValues is TransformRaw with the new values given at once: values is
// one msgpack array holding a value for each element, in Elements order.
func (u *Upgrade) SetValues(table string, values []byte) error {
	d := &entryReader{b: values}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return fmt.Errorf("%w: the new values of %q must be one msgpack array", ErrBadValue, table)
	}
	vals := make([]RawValue, n)
	for i := range vals {
		v, err := d.skip()
		if err != nil {
			return fmt.Errorf("%w: the new values of %q: %v", ErrBadValue, table, err)
		}
		vals[i] = v
	}
	if !d.done() {
		return fmt.Errorf("%w: bytes after the new values of %q", ErrBadValue, table)
	}
	t, err := u.table(table)
	if err != nil {
		return err
	}
	if n != len(t.entries) {
		return fmt.Errorf("%w: %d new values for the %d elements of %q", ErrBadValue, n, len(t.entries), table)
	}
	return u.TransformRaw(table, func(i int, _ Element) (RawValue, error) { return vals[i], nil })
}

// LogVersion returns the schema version of the live log in b (see
// Options.Version): that of its last schema record, 0 for a log without
// one or an empty log. Like LogTables it needs no schema and writes
// nothing; tools that open any log (the dbrs command) open it at this
// version.
func LogVersion(b Backend) (uint64, error) {
	var version uint64
	_, err := WalkLog(b, func(r LogRecord) error {
		if r.Kind != RecordSchema {
			return nil
		}
		v, err := schemaVersion(r.Payload)
		if err != nil {
			return &EntryError{Segment: r.Segment, Offset: r.Offset, Err: err}
		}
		version = v
		return nil
	})
	return version, err
}
