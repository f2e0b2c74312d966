package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// entryReader decodes the msgpack of records and entries by walking the
// bytes, without reflection, for the shapes dbrs itself writes: array
// headers, integers, strings and raw values. Keys and values of the common
// Go types (strings, integers, bools, floats, []byte and the dynamic
// tables' RawKey and RawValue) decode on a fast path too (decodeInto); any
// other type, or an encoding the fast path does not take, goes through
// msgpack/v5's reflection, so both paths accept exactly the same input.
//
// Every method checks lengths against the bytes left, so a hostile header
// never makes it read past the end or allocate more than the input holds.
//
// A reader that borrows (borrow set) returns strings and raw values that
// alias its input instead of copies. Only replay sets it, over a segment's
// bytes from Backend.ReadSegment, which the caller owns and nothing ever
// writes again: so a loaded database holds most of its keys and values in
// the buffers it read, without one allocation per entry. The price is that
// a buffer stays in memory, dead entries included, while any string of it
// is live.
type entryReader struct {
	b      []byte
	pos    int
	borrow bool
}

var errTruncated = errors.New("msgpack value is truncated")

func (r *entryReader) reset(b []byte) { r.b, r.pos = b, 0 }

// done reports whether every byte has been read.
func (r *entryReader) done() bool { return r.pos == len(r.b) }

func (r *entryReader) left() int { return len(r.b) - r.pos }

func (r *entryReader) code() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errTruncated
	}
	return r.b[r.pos], nil
}

// be reads an n-byte big-endian unsigned integer after the code byte.
func (r *entryReader) be(n int) (uint64, error) {
	if r.left() < 1+n {
		return 0, errTruncated
	}
	p := r.b[r.pos+1 : r.pos+1+n]
	r.pos += 1 + n
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// DecodeArrayLen reads an array header.
func (r *entryReader) DecodeArrayLen() (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90:
		r.pos++
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n, err = r.be(2)
	case c == 0xdd:
		n, err = r.be(4)
	default:
		return 0, fmt.Errorf("msgpack: code 0x%02x is not an array", c)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(r.left()) { // every element takes at least one byte
		return 0, fmt.Errorf("msgpack array of %d elements in %d bytes", n, r.left())
	}
	return int(n), nil
}

// integer reads any msgpack integer as its sign and magnitude.
func (r *entryReader) integer() (neg bool, mag uint64, err error) {
	c, err := r.code()
	if err != nil {
		return false, 0, err
	}
	switch {
	case c <= 0x7f:
		r.pos++
		return false, uint64(c), nil
	case c >= 0xe0:
		r.pos++
		return true, uint64(-int64(int8(c))), nil
	case c >= 0xcc && c <= 0xcf:
		n, err := r.be(1 << (c - 0xcc))
		return false, n, err
	case c >= 0xd0 && c <= 0xd3:
		w := 1 << (c - 0xd0)
		n, err := r.be(w)
		if err != nil {
			return false, 0, err
		}
		shift := 64 - 8*w
		v := int64(n<<shift) >> shift // sign-extend
		if v < 0 {
			return true, uint64(-v), nil
		}
		return false, uint64(v), nil
	}
	return false, 0, fmt.Errorf("msgpack: code 0x%02x is not an integer", c)
}

// DecodeInt64 reads an integer that fits in an int64.
func (r *entryReader) DecodeInt64() (int64, error) {
	neg, mag, err := r.integer()
	if err != nil {
		return 0, err
	}
	if neg {
		if mag > 1<<63 {
			return 0, errors.New("msgpack integer out of range")
		}
		return int64(-mag), nil
	}
	if mag > math.MaxInt64 {
		return 0, errors.New("msgpack integer out of range")
	}
	return int64(mag), nil
}

// DecodeInt reads an integer that fits in an int.
func (r *entryReader) DecodeInt() (int, error) {
	v, err := r.DecodeInt64()
	if v != int64(int(v)) {
		return 0, errors.New("msgpack integer out of range")
	}
	return int(v), err
}

// DecodeUint reads a non-negative integer no larger than max.
func (r *entryReader) DecodeUint(max uint64) (uint64, error) {
	if r.pos < len(r.b) && r.b[r.pos] <= 0x7f && uint64(r.b[r.pos]) <= max { // a positive fixint
		r.pos++
		return uint64(r.b[r.pos-1]), nil
	}
	neg, mag, err := r.integer()
	if err != nil {
		return 0, err
	}
	if neg || mag > max {
		return 0, errors.New("msgpack integer out of range")
	}
	return mag, nil
}

// strLen reads a str header and returns the length of its bytes.
func (r *entryReader) strLen() (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		r.pos++
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.be(1)
	case c == 0xda:
		n, err = r.be(2)
	case c == 0xdb:
		n, err = r.be(4)
	default:
		return 0, fmt.Errorf("msgpack: code 0x%02x is not a string", c)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(r.left()) {
		return 0, errTruncated
	}
	return int(n), nil
}

// DecodeString reads a str.
func (r *entryReader) DecodeString() (string, error) {
	n, err := r.strLen()
	if err != nil {
		return "", err
	}
	var s string
	if r.borrow && n > 0 {
		s = unsafe.String(&r.b[r.pos], n)
	} else {
		s = string(r.b[r.pos : r.pos+n])
	}
	r.pos += n
	return s, nil
}

// skip returns the bytes of the next value, aliasing the input.
func (r *entryReader) skip() ([]byte, error) {
	n, err := checkMsgpack(r.b[r.pos:])
	if err != nil {
		return nil, err
	}
	v := r.b[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return v, nil
}

// DecodeRaw returns the bytes of the next value: a copy, or when the
// reader borrows, its input with the capacity capped.
func (r *entryReader) DecodeRaw() ([]byte, error) {
	v, err := r.skip()
	if err != nil || r.borrow {
		return v, err
	}
	return bytes.Clone(v), nil
}

// decodeInto decodes the next value into *p. The fast paths take only the
// encodings whose meaning is plain; anything else is handed to msgpack/v5,
// which decides what it means exactly as it did when dbrs decoded all
// values by reflection.
func decodeInto[T any](r *entryReader, p *T) error {
	start := r.pos
	ok, err := decodeFast(r, p)
	if ok || err != nil {
		return err
	}
	r.pos = start
	raw, err := r.skip()
	if err != nil {
		return err
	}
	// A copy of its own, so that p does not escape on the fast paths.
	var v T
	err = reflectDecode(raw, &v)
	*p = v
	return err
}

// decodeFast decodes the common types. It reports false (having perhaps
// read part of the value) when the type or the encoding needs msgpack/v5.
func decodeFast(r *entryReader, p any) (bool, error) {
	switch q := p.(type) {
	case *RawKey:
		v, err := r.skip()
		if r.borrow && len(v) > 0 {
			*q = RawKey(unsafe.String(&v[0], len(v)))
		} else {
			*q = RawKey(v)
		}
		return true, err
	case *RawValue:
		v, err := r.DecodeRaw()
		*q = v
		return true, err
	case *string:
		c, err := r.code()
		if err != nil || !isStr(c) {
			return false, nil
		}
		*q, err = r.DecodeString()
		return true, err
	case *[]byte:
		c, err := r.code()
		if err == nil && c == 0xc0 {
			r.pos++
			*q = nil
			return true, nil
		}
		if err != nil || c < 0xc4 || c > 0xc6 {
			return false, nil
		}
		n, err := r.be(1 << (c - 0xc4))
		if err != nil {
			return true, err
		}
		if n > uint64(r.left()) {
			return true, errTruncated
		}
		*q = bytes.Clone(r.b[r.pos : r.pos+int(n)])
		r.pos += int(n)
		return true, nil
	case *bool:
		c, err := r.code()
		if err != nil || (c != 0xc2 && c != 0xc3) {
			return false, nil
		}
		r.pos++
		*q = c == 0xc3
		return true, nil
	case *float64:
		c, err := r.code()
		if err != nil || c != 0xcb {
			return false, nil
		}
		n, err := r.be(8)
		*q = math.Float64frombits(n)
		return true, err
	case *int:
		return fastInt(r, q, math.MinInt, math.MaxInt)
	case *int64:
		return fastInt(r, q, math.MinInt64, math.MaxInt64)
	case *int32:
		return fastInt(r, q, math.MinInt32, math.MaxInt32)
	case *int16:
		return fastInt(r, q, math.MinInt16, math.MaxInt16)
	case *int8:
		return fastInt(r, q, math.MinInt8, math.MaxInt8)
	case *uint:
		return fastUint(r, q, math.MaxUint)
	case *uint64:
		return fastUint(r, q, math.MaxUint64)
	case *uint32:
		return fastUint(r, q, math.MaxUint32)
	case *uint16:
		return fastUint(r, q, math.MaxUint16)
	case *uint8:
		return fastUint(r, q, math.MaxUint8)
	}
	return false, nil
}

func isStr(c byte) bool { return c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb) }

func isInt(c byte) bool { return c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3) }

// fastInt decodes an integer in [lo, hi]; out of range, msgpack/v5 decides
// (it wraps, as Go conversions do).
func fastInt[T int | int64 | int32 | int16 | int8](r *entryReader, p *T, lo, hi int64) (bool, error) {
	c, err := r.code()
	if err != nil || !isInt(c) {
		return false, nil
	}
	v, err := r.DecodeInt64()
	if err != nil || v < lo || v > hi {
		return false, nil
	}
	*p = T(v)
	return true, nil
}

func fastUint[T uint | uint64 | uint32 | uint16 | uint8](r *entryReader, p *T, hi uint64) (bool, error) {
	c, err := r.code()
	if err != nil || !isInt(c) {
		return false, nil
	}
	v, err := r.DecodeUint(hi)
	if err != nil {
		return false, nil
	}
	*p = T(v)
	return true, nil
}

// doneOr returns nil if every byte has been read, and err otherwise.
func (r *entryReader) doneOr(err error) error {
	if r.done() {
		return nil
	}
	return err
}
