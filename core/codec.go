package core

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
)

// Values are msgpack-encoded with compact integers, so that a number always
// has one encoding (the one JavaScript msgpack libraries produce too) and a
// key's bytes identify it. Go structs encode as maps keyed by field name.
// Strings, []byte, bools, integers, float64 and the dynamic tables' raw
// values take the fast paths of writer.go and reader.go; any other type goes
// through msgpack/v5's reflection (codec_reflect.go).

// codec describes how a table holds values of type T in memory.
//
// A type with no references (no pointers, slices, maps or interfaces) whose
// every field survives a msgpack round trip is held as a Go value: copying it
// copies everything. Any other type is held as its msgpack encoding and decoded
// on every read, so a read always returns a fresh copy that the caller may
// mutate, and memory always holds exactly what replaying the log produces.
type codec[T any] struct {
	byValue bool
	raw     bool // T is RawValue: the encoding is the value
	bytes   bool // T is []byte
}

func newCodec[T any]() codec[T] {
	t := reflect.TypeFor[T]()
	return codec[T]{byValue: roundTrips(t), raw: t == reflect.TypeFor[RawValue](), bytes: t == reflect.TypeFor[[]byte]()}
}

// holds reports whether a table may hold T values themselves: plain values,
// and []byte and RawValue as copies of their own that no one else can
// change. Other types are held as their encoding (see lookupTableState).
func (c codec[T]) holds() bool { return c.byValue || c.raw || c.bytes }

// own returns a copy of v that a table may keep, or hand out, while the
// caller keeps v: v itself for plain values, a copy of the bytes for []byte
// and RawValue. A nil RawValue is msgpack nil, as it is written.
func (c codec[T]) own(v T) T {
	switch {
	case c.raw:
		p := any(&v).(*RawValue)
		if *p == nil {
			*p = RawValue{0xc0}
		} else {
			*p = slices.Clone(*p)
		}
	case c.bytes:
		if p := any(&v).(*[]byte); *p != nil {
			*p = slices.Clone(*p)
		}
	}
	return v
}

// write appends v, an argument of the entry begun at mark, to w. Unless
// the codec holds values, it also returns a copy of v's encoding.
func (c codec[T]) write(w *entryWriter, mark int, v T) (enc []byte, err error) {
	start := w.buf.Len()
	if c.raw {
		if err := writeRaw(w, *any(&v).(*RawValue)); err != nil {
			w.rewind(mark)
			return nil, err
		}
		return nil, nil
	}
	if err := encodeTo(&w.buf, v); err != nil {
		w.rewind(mark)
		return nil, fmt.Errorf("dbrs: cannot encode %T: %w", v, err)
	}
	if c.holds() {
		return nil, nil
	}
	return bytes.Clone(w.buf.Bytes()[start:]), nil
}

// writeRaw appends a dynamic table's value as it is, after checking that
// it is one msgpack value; nil stands for msgpack nil.
func writeRaw(w *entryWriter, raw RawValue) error {
	if raw == nil {
		raw = RawValue{0xc0}
	}
	if err := ValidRaw(raw); err != nil {
		return err
	}
	w.buf.Write(raw)
	return nil
}

// read decodes one value during replay: the value itself when the codec
// holds values (an owned copy), and otherwise its encoding, checked by
// decoding it once.
func (c codec[T]) read(d *entryReader) (v T, enc []byte, err error) {
	switch {
	case c.raw:
		raw, err := d.DecodeRaw()
		*any(&v).(*RawValue) = raw
		return v, nil, err
	case c.holds():
		err = decodeInto(d, &v) // the fast paths copy []byte
		return v, nil, err
	}
	if enc, err = d.DecodeRaw(); err != nil {
		return v, nil, err
	}
	return v, enc, decodeInto(&entryReader{b: enc}, &v)
}

// decode returns the value an encoding held by a table stands for. The
// encoding was made from a T or checked by decoding it into one, so this
// cannot fail.
func (c codec[T]) decode(enc []byte) T {
	var v T
	_ = decodeInto(&entryReader{b: enc}, &v)
	return v
}

// size returns the bytes of v's encoding, writing it to scratch if that is
// the only way to know.
func (c codec[T]) size(v T, scratch *bytes.Buffer) int {
	switch {
	case c.raw:
		return max(len(*any(&v).(*RawValue)), 1)
	case c.bytes:
		b := *any(&v).(*[]byte)
		switch n := len(b); {
		case b == nil:
			return 1
		case n <= 0xff:
			return 2 + n
		case n <= 0xffff:
			return 3 + n
		default:
			return 5 + n
		}
	}
	return encodedSize(v, scratch)
}

// encodedSize returns the bytes of v's msgpack encoding.
func encodedSize[T any](v T, scratch *bytes.Buffer) int {
	if k, ok := any(&v).(*RawKey); ok {
		return len(*k)
	}
	if s, ok := any(&v).(*string); ok {
		switch n := len(*s); {
		case n < 32:
			return 1 + n
		case n <= 0xff:
			return 2 + n
		case n <= 0xffff:
			return 3 + n
		default:
			return 5 + n
		}
	}
	scratch.Reset()
	_ = encodeTo(scratch, v)
	return scratch.Len()
}

// slot holds one value: v when the codec is byValue, otherwise enc. size
// is the bytes of the entry that wrote it (table ID included), which is
// about what the value costs in a compacted log.
type slot[T any] struct {
	v    T
	enc  []byte
	size int32
}

func (c codec[T]) load(s slot[T]) T {
	if c.byValue {
		return s.v
	}
	var v T
	if c.raw {
		*any(&v).(*RawValue) = slices.Clone(RawValue(s.enc))
		return v
	}
	// enc was produced by encoding a T, or validated by decoding into a T,
	// so decoding it again cannot fail.
	_ = decodeInto(&entryReader{b: s.enc}, &v)
	return v
}

// encodeValue writes v, the last argument of the entry begun at mark, to w
// and returns the slot that holds it.
func (c codec[T]) encodeValue(w *entryWriter, mark int, v T) (slot[T], error) {
	start := w.buf.Len()
	if c.raw {
		if err := writeRaw(w, *any(&v).(*RawValue)); err != nil {
			return slot[T]{}, err
		}
	} else if err := encodeTo(&w.buf, v); err != nil {
		return slot[T]{}, fmt.Errorf("dbrs: cannot encode %T: %w", v, err)
	}
	size := int32(w.buf.Len() - mark)
	if c.byValue {
		return slot[T]{v: v, size: size}, nil
	}
	return slot[T]{enc: bytes.Clone(w.buf.Bytes()[start:]), size: size}, nil
}

// decodeValue reads one value of type T during replay; size is the bytes
// of its entry.
func (c codec[T]) decodeValue(d *entryReader, size int) (slot[T], error) {
	if c.byValue {
		var v T
		if err := decodeInto(d, &v); err != nil {
			return slot[T]{}, err
		}
		return slot[T]{v: v, size: int32(size)}, nil
	}
	enc, err := d.DecodeRaw()
	if err != nil {
		return slot[T]{}, err
	}
	if !c.raw {
		var v T
		if err := decodeInto(&entryReader{b: enc}, &v); err != nil {
			return slot[T]{}, err
		}
	}
	return slot[T]{enc: enc, size: int32(size)}, nil
}

// fastTypes are the types that writer.go and reader.go encode and decode
// without reflection: all that a build without it (dbrs_noreflect) holds.
var fastTypes = map[reflect.Type]bool{
	reflect.TypeFor[string](): true, reflect.TypeFor[[]byte](): true, reflect.TypeFor[bool](): true,
	reflect.TypeFor[float64](): true, reflect.TypeFor[int](): true, reflect.TypeFor[int64](): true,
	reflect.TypeFor[int32](): true, reflect.TypeFor[int16](): true, reflect.TypeFor[int8](): true,
	reflect.TypeFor[uint](): true, reflect.TypeFor[uint64](): true, reflect.TypeFor[uint32](): true,
	reflect.TypeFor[uint16](): true, reflect.TypeFor[uint8](): true,
	reflect.TypeFor[RawKey](): true, reflect.TypeFor[RawValue](): true,
}

// checkReflect fails for a type that needs reflection in a build without it.
func checkReflect(t reflect.Type) error {
	if !reflectBuilt && !fastTypes[t] {
		return fmt.Errorf("type %s needs msgpack reflection, which this build (tag dbrs_noreflect) leaves out", t)
	}
	return nil
}

// roundTrips reports whether a T can be held by value: it has no references
// and msgpack encodes and decodes every part of it.
func roundTrips(t reflect.Type) bool {
	if hasCustomEncoding(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return roundTrips(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("msgpack") == "-" || !roundTrips(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}

// checkKey returns an error unless values of t can serve as keys: comparable,
// free of references, and encoded the same way every time, so that equal keys
// have equal bytes in the log and in the browser.
func checkKey(t reflect.Type) error {
	if err := checkReflect(t); err != nil {
		return err
	}
	if hasCustomEncoding(t) && t != reflect.TypeFor[RawKey]() {
		return fmt.Errorf("key type %s has a custom msgpack encoding", t)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.String:
		return nil
	case reflect.Float32, reflect.Float64:
		// NaN is never equal to itself and -0 equals 0 with other bytes: a
		// float key could neither be found again nor keep one byte form.
		return fmt.Errorf("key type %s is a float; use an integer or a string", t)
	case reflect.Array:
		return checkKey(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("msgpack") == "-" {
				return fmt.Errorf("key type %s has a field that is not encoded: %s", t, f.Name)
			}
			if err := checkKey(f.Type); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("key type %s is not supported (use bool, integers, strings, or arrays and structs of them)", t)
}

// checkValue returns an error for value types msgpack cannot encode.
func checkValue(t reflect.Type) error {
	if err := checkReflect(t); err != nil {
		return err
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("value type %s cannot be encoded", t)
	}
	return nil
}

// writeSlot encodes a held value again, for compaction.
func (c codec[T]) writeSlot(w *entryWriter, s slot[T]) error {
	if c.byValue {
		return encodeTo(&w.buf, s.v)
	}
	w.buf.Write(s.enc)
	return nil
}
