package core

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Appending msgpack without reflection: the headers and scalars of records
// and entries, and the common key and value types. The bytes are exactly
// those msgpack/v5 writes with UseCompactInts(true) — integers in their
// shortest form, non-negative ones as uint formats — so that a key has one
// encoding whichever path wrote it (TestAppendFastMatchesMsgpack).

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBin(b []byte, p []byte) []byte {
	switch n := len(p); {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

// appendFast appends *p for the types that need no reflection. It reports
// false, having appended nothing, for any other type. A nil []byte is
// msgpack nil, as msgpack/v5 writes it.
func appendFast(b []byte, p any) ([]byte, bool) {
	switch v := p.(type) {
	case *string:
		return appendStr(b, *v), true
	case *RawKey:
		return append(b, *v...), true
	case *[]byte:
		if *v == nil {
			return append(b, 0xc0), true
		}
		return appendBin(b, *v), true
	case *bool:
		if *v {
			return append(b, 0xc3), true
		}
		return append(b, 0xc2), true
	case *float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(*v)), true
	case *int:
		return appendInt(b, int64(*v)), true
	case *int64:
		return appendInt(b, *v), true
	case *int32:
		return appendInt(b, int64(*v)), true
	case *int16:
		return appendInt(b, int64(*v)), true
	case *int8:
		return appendInt(b, int64(*v)), true
	case *uint:
		return appendUint(b, uint64(*v)), true
	case *uint64:
		return appendUint(b, *v), true
	case *uint32:
		return appendUint(b, uint64(*v)), true
	case *uint16:
		return appendUint(b, uint64(*v)), true
	case *uint8:
		return appendUint(b, uint64(*v)), true
	}
	return b, false
}

// encodeTo appends v to buf: on the fast path when its type has one, and
// otherwise through msgpack/v5's reflection.
func encodeTo[T any](buf *bytes.Buffer, v T) error {
	if b, ok := appendFast(buf.AvailableBuffer(), &v); ok {
		buf.Write(b)
		return nil
	}
	// A copy of its own, so that v does not escape on the fast path.
	slow := v
	return reflectEncode(buf, &slow)
}
