package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"unsafe"
)

// Operations by name on a Dynamic schema: the form in which the browser
// bridge (and any other language binding) drives tables. Arguments arrive
// as one msgpack array whose elements are the op's arguments; keys and
// values are taken as the raw bytes of their elements, indexes as integers.
// Results are raw msgpack.
//
// Ops per kind (r: read, w: write):
//
//	single        r get | w insert(v) clear
//	list          r len at(i) all | w push(v) pop insertAt(i,v) setAt(i,v) removeAt(i) clear
//	lookup_table  r get(k) has(k) len keys entries getMany(k...) | w insert(k,v) insertMany(k,v,...) remove(k) clear
//	lookup_list   r get(k) has(k) len keys | w push(k,v) removeAt(k,i) clearKey(k) clear
//	lookup_set    r get(k) has(k,v) len keys | w insert(k,v) remove(k,v) clearKey(k) clear
//	lookup_map    r get(k1,k2) getInner(k1) len keys | w insert(k1,k2,v) remove(k1,k2) clearKey(k1) clear
//
// Key lists, entries and set members come in ascending order of their
// encoded bytes, so results are deterministic. clearKey of an absent key
// does nothing (clear ops never fail); remove, removeAt and pop fail with
// ErrNotFound, ErrIndex or ErrEmpty when there is nothing to remove.

// ResultKind says which field of a Result holds the answer.
type ResultKind int

const (
	ResultNull   ResultKind = iota // no value (absent, or a write op)
	ResultBytes                    // Bytes: one msgpack value (a stored value or an array)
	ResultNumber                   // Number
	ResultBool                     // Bool
)

// Result is the answer of a dynamic op.
type Result struct {
	Kind   ResultKind
	Bytes  []byte
	Number int
	Bool   bool
}

func bytesResult(b []byte) Result { return Result{Kind: ResultBytes, Bytes: b} }

// splitArgs splits a msgpack array into the raw bytes of its elements,
// checking each one.
func splitArgs(args []byte) ([][]byte, error) { return splitArgsInto(nil, args) }

// splitArgsInto is splitArgs appending to out.
func splitArgsInto(out [][]byte, args []byte) ([][]byte, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no argument array", ErrBadValue)
	}
	var n, hdr int
	switch c := args[0]; {
	case c&0xf0 == 0x90:
		n, hdr = int(c&0x0f), 1
	case c == 0xdc && len(args) >= 3:
		n, hdr = int(binary.BigEndian.Uint16(args[1:])), 3
	case c == 0xdd && len(args) >= 5:
		n, hdr = int(binary.BigEndian.Uint32(args[1:])), 5
	default:
		return nil, fmt.Errorf("%w: arguments are not an array", ErrBadValue)
	}
	if n > len(args)-hdr {
		return nil, fmt.Errorf("%w: %d arguments in %d bytes", ErrBadValue, n, len(args)-hdr)
	}
	if out == nil {
		out = make([][]byte, 0, n)
	}
	rest := args[hdr:]
	for range n {
		l, err := checkMsgpack(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadValue, err)
		}
		out = append(out, rest[:l:l])
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the argument array", ErrBadValue, len(rest))
	}
	return out, nil
}

func argIndex(b []byte) (int, error) {
	var i int
	if err := decodeInto(&entryReader{b: b}, &i); err != nil {
		return 0, fmt.Errorf("%w: index: %v", ErrBadValue, err)
	}
	return i, nil
}

// encodeArray writes a msgpack array of already-encoded elements.
func encodeArray[E ~string | ~[]byte](elems []E) []byte {
	n := 5
	for _, e := range elems {
		n += len(e)
	}
	out := appendArrayLen(make([]byte, 0, n), len(elems))
	for _, e := range elems {
		out = append(out, e...)
	}
	return out
}

// sortKeys sorts keys (RawKeys: msgpack) in byte order, the order of
// "keys", "entries" and the inner maps and sets. Every string sort of core
// is a slices.Sort, so that dbrs.wasm holds one instantiation of the sort
// (19 KB of code each), the one whose comparison is inlined (slices.SortFunc
// calls its function per comparison: a third of "entries"' time).
func sortKeys[K ~string](keys []K) {
	slices.Sort(keys) // a string's < is its bytes' order
}

// encodeSortedKeys is the msgpack array of keys in byte order.
func encodeSortedKeys[K ~string](keys []K) []byte {
	sortKeys(keys)
	return encodeArray(keys)
}

// encodeSortedPairs is the msgpack array [k1, v1, k2, v2, ...] of keys in
// byte order, each followed by value(k), a msgpack value. Each value is
// copied once, into the result.
func encodeSortedPairs(keys []RawKey, value func(RawKey) []byte) []byte {
	sortKeys(keys)
	vals := make([][]byte, len(keys))
	n := 5
	for i, k := range keys {
		v := value(k)
		if len(v) == 0 {
			v = RawValue{0xc0} // a nil RawValue is msgpack nil (codec.own)
		}
		vals[i] = v
		n += len(k) + len(v)
	}
	out := appendArrayLen(make([]byte, 0, n), 2*len(keys))
	for i, k := range keys {
		out = append(out, k...)
		out = append(out, vals[i]...)
	}
	return out
}

func collect[K any](seq func(func(K) bool)) []K {
	var out []K
	for k := range seq {
		out = append(out, k)
	}
	return out
}

// encodeEntries is "entries": every entry of t, as encodeSortedPairs
// gives them. It reads the values as the table holds them, under the read
// lock (or inside t's transaction), instead of copying them out first.
func encodeEntries(t *LookupTable[RawKey, RawValue]) []byte {
	s := t.s
	if s == nil {
		return appendArrayLen(nil, 0)
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	keys := make([]RawKey, 0, s.len())
	for k := range s.vals {
		keys = append(keys, k)
	}
	for k := range s.encs {
		keys = append(keys, k)
	}
	return encodeSortedPairs(keys, func(k RawKey) []byte {
		if v, ok := s.vals[k]; ok {
			return v
		}
		return s.encs[k]
	})
}

// encodeListItems is "all": t's elements as a msgpack array, in order,
// each copied once, into the result, under the read lock (or inside t's
// transaction). A list of RawValue holds each element as its encoding.
func encodeListItems(t *List[RawValue]) []byte {
	s := t.s
	if s == nil {
		return appendArrayLen(nil, 0)
	}
	locked := t.h.rlock()
	defer t.h.runlock(locked)
	n := 5
	for _, it := range s.items {
		n += len(it.enc)
	}
	out := appendArrayLen(make([]byte, 0, n), len(s.items))
	for _, it := range s.items {
		out = append(out, it.enc...)
	}
	return out
}

// clearKeyOp makes clearKey of an absent key succeed: ClearKey refuses it
// with ErrNotFound before changing or logging anything, so ignoring that is
// atomic (checking first and clearing second would not be).
func clearKeyOp(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// variadic in dynOps marks an op that checks its argument count itself.
const variadic = -1

func wantN(op string, args [][]byte, n int) error {
	if n != variadic && len(args) != n {
		return fmt.Errorf("%w: %s takes %d arguments, got %d", ErrBadValue, op, n, len(args))
	}
	return nil
}

func unknownDynOp(kind, op string) error {
	return fmt.Errorf("%w: a %s table has no op %q", ErrBadValue, kind, op)
}

// dynOps gives, for each table kind, its ops and their argument counts.
var dynOps = map[string]map[string]int{
	KindSingle:      {"get": 0, "insert": 1, "clear": 0},
	KindList:        {"len": 0, "at": 1, "all": 0, "push": 1, "pop": 0, "insertAt": 2, "setAt": 2, "removeAt": 1, "clear": 0},
	KindLookupTable: {"get": 1, "has": 1, "len": 0, "keys": 0, "entries": 0, "insert": 2, "remove": 1, "clear": 0, "getMany": variadic, "insertMany": variadic},
	KindLookupList:  {"get": 1, "has": 1, "len": 0, "keys": 0, "push": 2, "removeAt": 2, "clearKey": 1, "clear": 0},
	KindLookupSet:   {"get": 1, "has": 2, "len": 0, "keys": 0, "insert": 2, "remove": 2, "clearKey": 1, "clear": 0},
	KindLookupMap:   {"get": 2, "getInner": 1, "len": 0, "keys": 0, "insert": 3, "remove": 2, "clearKey": 1, "clear": 0},
}

// OpNames numbers every op name of dynOps, for bindings that send ops as
// codes (the browser bridge's protocol 2): code i names OpNames[i], and
// code 0 names nothing. The list only ever grows, and js/src/ops.ts holds
// the same list (TestOpNamesMatchShim).
var OpNames = [...]string{
	"", "get", "has", "len", "keys", "entries", "at", "all", "getInner",
	"insert", "remove", "clear", "push", "pop", "insertAt", "setAt",
	"removeAt", "clearKey", "getMany", "insertMany",
}

// keyed is what the four lookup kinds share: their len and keys ops.
type keyed interface {
	Len() int
	Keys() iter.Seq[RawKey]
}

// Do runs one op on table, reading or writing as the op says. Writes go
// through the handles of d: auto-commit for DB.Tables, the transaction for
// the Dynamic of Update, Begin or View.
func (d *Dynamic) Do(table, op string, rawArgs []byte) (Result, error) {
	return d.do(table, op, rawArgs)
}

// AppendDo is Do for a caller that copies results out at once (a language
// binding): a result of kind ResultBytes is appended to dst, and AppendDo
// returns the grown dst (Result.Bytes is the appended part of it). For the
// reads of a lookup table (get, has) it neither allocates nor copies the
// stored value first.
func (d *Dynamic) AppendDo(dst []byte, table, op string, rawArgs []byte) ([]byte, Result, error) {
	i, ok := d.index[table]
	if !ok {
		return dst, Result{}, fmt.Errorf("%w: %q", ErrUnknownTable, table)
	}
	return d.AppendDoAt(dst, i, op, rawArgs)
}

// AppendDoAt is AppendDo for the table at position i of the specs the
// schema was opened with, for a binding that names tables by position
// (the browser bridge): no lookup by name.
func (d *Dynamic) AppendDoAt(dst []byte, i int, op string, rawArgs []byte) ([]byte, Result, error) {
	if i < 0 || i >= len(d.fields) {
		return dst, Result{}, fmt.Errorf("%w: table number %d", ErrUnknownTable, i)
	}
	if t, ok := d.fields[i].(*LookupTable[RawKey, RawValue]); ok {
		switch op {
		case "get", "has":
			return appendLookupRead(dst, t, op, rawArgs)
		case "insert":
			return dst, Result{}, lookupInsertRaw(t, rawArgs)
		}
	}
	return d.appendDoAtAny(dst, i, op, rawArgs)
}

// The three parts of AppendDoAt are functions of their own so that each
// stays small: in the browser V8 compiles a hot function again (TurboFan)
// in a time that grows with its size, and a bulk load or a run of reads
// makes only its own part hot.

// appendLookupRead is a lookup table's get or has, with the value
// appended to dst.
func appendLookupRead(dst []byte, t *LookupTable[RawKey, RawValue], op string, rawArgs []byte) ([]byte, Result, error) {
	var argv [1][]byte
	a, err := splitArgsInto(argv[:0], rawArgs)
	if err != nil {
		return dst, Result{}, err
	}
	if err := wantN(op, a, 1); err != nil {
		return dst, Result{}, err
	}
	// The key is only looked up, never kept: it may alias a.
	k := RawKey(unsafe.String(unsafe.SliceData(a[0]), len(a[0])))
	if op == "has" {
		return dst, Result{Kind: ResultBool, Bool: t.Has(k)}, nil
	}
	n := len(dst)
	dst, ok := t.appendRaw(dst, k)
	if !ok {
		return dst, Result{}, nil
	}
	return dst, bytesResult(dst[n:]), nil
}

// lookupInsertRaw is a lookup table's insert, as doLookupTable's, without
// a slice of arguments on the heap.
func lookupInsertRaw(t *LookupTable[RawKey, RawValue], rawArgs []byte) error {
	var argv [2][]byte
	a, err := splitArgsInto(argv[:0], rawArgs)
	if err != nil {
		return err
	}
	if err := wantN("insert", a, 2); err != nil {
		return err
	}
	return t.Insert(RawKey(a[0]), a[1])
}

// appendDoAtAny is AppendDoAt for every other op, through doAt.
func (d *Dynamic) appendDoAtAny(dst []byte, i int, op string, rawArgs []byte) ([]byte, Result, error) {
	r, err := d.doAt(i, op, rawArgs)
	if err == nil && r.Kind == ResultBytes {
		n := len(dst)
		dst = append(dst, r.Bytes...)
		r.Bytes = dst[n:]
	}
	return dst, r, err
}

func (d *Dynamic) do(table, op string, rawArgs []byte) (Result, error) {
	i, ok := d.index[table]
	if !ok {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownTable, table)
	}
	return d.doAt(i, op, rawArgs)
}

func (d *Dynamic) doAt(i int, op string, rawArgs []byte) (Result, error) {
	args, err := splitArgs(rawArgs)
	if err != nil {
		return Result{}, err
	}
	kind := d.specs[i].Kind
	n, ok := dynOps[kind][op]
	if !ok {
		return Result{}, unknownDynOp(kind, op)
	}
	if err := wantN(op, args, n); err != nil {
		return Result{}, err
	}
	if t, ok := d.fields[i].(keyed); ok {
		switch op {
		case "len":
			return Result{Kind: ResultNumber, Number: t.Len()}, nil
		case "keys":
			return bytesResult(encodeSortedKeys(collect(t.Keys()))), nil
		}
	}
	switch t := d.fields[i].(type) {
	case *Single[RawValue]:
		return doSingle(t, op, args)
	case *List[RawValue]:
		return doList(t, op, args)
	case *LookupTable[RawKey, RawValue]:
		return doLookupTable(t, op, args)
	case *LookupList[RawKey, RawValue]:
		return doLookupList(t, op, args)
	case *LookupSet[RawKey, RawKey]:
		return doLookupSet(t, op, args)
	case *LookupMap[RawKey, RawKey, RawValue]:
		return doLookupMap(t, op, args)
	}
	return Result{}, unknownDynOp(kind, op)
}

func doSingle(t *Single[RawValue], op string, a [][]byte) (Result, error) {
	switch op {
	case "get":
		if v, ok := t.Get(); ok {
			return bytesResult(v), nil
		}
		return Result{}, nil
	case "insert":
		return Result{}, t.Insert(a[0])
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindSingle, op)
}

func doList(t *List[RawValue], op string, a [][]byte) (Result, error) {
	switch op {
	case "len":
		return Result{Kind: ResultNumber, Number: t.Len()}, nil
	case "at":
		i, err := argIndex(a[0])
		if err != nil {
			return Result{}, err
		}
		v, err := t.At(i)
		if err != nil {
			return Result{}, nil
		}
		return bytesResult(v), nil
	case "all":
		return bytesResult(encodeListItems(t)), nil
	case "push":
		return Result{}, t.Push(a[0])
	case "pop":
		v, err := t.Pop()
		if err != nil {
			return Result{}, err
		}
		return bytesResult(v), nil
	case "insertAt", "setAt":
		i, err := argIndex(a[0])
		if err != nil {
			return Result{}, err
		}
		if op == "insertAt" {
			return Result{}, t.InsertAt(i, a[1])
		}
		return Result{}, t.SetAt(i, a[1])
	case "removeAt":
		i, err := argIndex(a[0])
		if err != nil {
			return Result{}, err
		}
		return Result{}, t.RemoveAt(i)
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindList, op)
}

func doLookupTable(t *LookupTable[RawKey, RawValue], op string, a [][]byte) (Result, error) {
	switch op {
	case "get":
		if v, ok := t.Get(RawKey(a[0])); ok {
			return bytesResult(v), nil
		}
		return Result{}, nil
	case "has":
		return Result{Kind: ResultBool, Bool: t.Has(RawKey(a[0]))}, nil
	case "entries":
		return bytesResult(encodeEntries(t)), nil
	case "getMany":
		// [presence, v...]: a bin with bit i (LSB first) set when key i is
		// present, then the values of the present keys in key order.
		mask := make([]byte, (len(a)+7)/8)
		vals := make([][]byte, 0, len(a))
		for i, k := range a {
			if v, ok := t.Get(RawKey(k)); ok {
				mask[i/8] |= 1 << (i % 8)
				vals = append(vals, v)
			}
		}
		return bytesResult(encodeArray(append([][]byte{appendBin(nil, mask)}, vals...))), nil
	case "insertMany":
		if len(a)%2 != 0 {
			return Result{}, fmt.Errorf("%w: insertMany takes keys and values in pairs, got %d arguments", ErrBadValue, len(a))
		}
		return Result{}, t.InsertMany(func(yield func(RawKey, RawValue) bool) {
			for i := 0; i < len(a); i += 2 {
				if !yield(RawKey(a[i]), a[i+1]) {
					return
				}
			}
		})
	case "insert":
		return Result{}, t.Insert(RawKey(a[0]), a[1])
	case "remove":
		return Result{}, t.Remove(RawKey(a[0]))
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindLookupTable, op)
}

func doLookupList(t *LookupList[RawKey, RawValue], op string, a [][]byte) (Result, error) {
	switch op {
	case "get":
		vals := t.Get(RawKey(a[0]))
		elems := make([][]byte, len(vals))
		for i, v := range vals {
			elems[i] = v
		}
		return bytesResult(encodeArray(elems)), nil
	case "has":
		return Result{Kind: ResultBool, Bool: t.Has(RawKey(a[0]))}, nil
	case "push":
		return Result{}, t.Push(RawKey(a[0]), a[1])
	case "removeAt":
		i, err := argIndex(a[1])
		if err != nil {
			return Result{}, err
		}
		return Result{}, t.RemoveAt(RawKey(a[0]), i)
	case "clearKey":
		return Result{}, clearKeyOp(t.ClearKey(RawKey(a[0])))
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindLookupList, op)
}

func doLookupSet(t *LookupSet[RawKey, RawKey], op string, a [][]byte) (Result, error) {
	switch op {
	case "get":
		return bytesResult(encodeSortedKeys(t.Get(RawKey(a[0])))), nil
	case "has":
		return Result{Kind: ResultBool, Bool: t.Has(RawKey(a[0]), RawKey(a[1]))}, nil
	case "insert":
		return Result{}, t.Insert(RawKey(a[0]), RawKey(a[1]))
	case "remove":
		return Result{}, t.Remove(RawKey(a[0]), RawKey(a[1]))
	case "clearKey":
		return Result{}, clearKeyOp(t.ClearKey(RawKey(a[0])))
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindLookupSet, op)
}

func doLookupMap(t *LookupMap[RawKey, RawKey, RawValue], op string, a [][]byte) (Result, error) {
	switch op {
	case "get":
		if v, ok := t.Get(RawKey(a[0]), RawKey(a[1])); ok {
			return bytesResult(v), nil
		}
		return Result{}, nil
	case "getInner":
		inner := t.GetInner(RawKey(a[0]))
		keys := make([]RawKey, 0, len(inner))
		for k := range inner {
			keys = append(keys, k)
		}
		return bytesResult(encodeSortedPairs(keys, func(k RawKey) []byte { return inner[k] })), nil
	case "insert":
		return Result{}, t.Insert(RawKey(a[0]), RawKey(a[1]), a[2])
	case "remove":
		return Result{}, t.Remove(RawKey(a[0]), RawKey(a[1]))
	case "clearKey":
		return Result{}, clearKeyOp(t.ClearKey(RawKey(a[0])))
	case "clear":
		return Result{}, t.Clear()
	}
	return Result{}, unknownDynOp(KindLookupMap, op)
}
