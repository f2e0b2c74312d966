package core

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxNesting bounds how deeply msgpack arrays and maps may nest in anything
// dbrs decodes. The msgpack decoder recurses, so without the bound a hostile
// record of nested one-element arrays would exhaust the stack.
const maxNesting = 256

var errShortValue = errors.New("msgpack value is truncated")

// checkMsgpack walks the msgpack value at the start of b without decoding
// it, and returns its length. It fails on a truncated value, a reserved
// byte, nesting deeper than maxNesting, or a declared length larger than the
// bytes that remain, so that a decoder given a checked value never allocates
// from a hostile length. It does not recurse.
func checkMsgpack(b []byte) (int, error) {
	pos, pending := 0, 1
	var outer []int // values still to read at each enclosing level
	for {
		for pending == 0 {
			if len(outer) == 0 {
				return pos, nil
			}
			pending = outer[len(outer)-1]
			outer = outer[:len(outer)-1]
		}
		if pos >= len(b) {
			return 0, errShortValue
		}
		c := b[pos]
		pos++
		pending--
		var size, children int // bytes of payload to skip, nested values
		var lenBytes int       // width of a length field that follows c
		extra := 0             // fixed bytes after the length field (ext type)
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c&0xf0 == 0x80:
			children = 2 * int(c&0x0f)
		case c&0xf0 == 0x90:
			children = int(c & 0x0f)
		case c&0xe0 == 0xa0:
			size = int(c & 0x1f)
		default:
			switch c {
			case 0xc4, 0xd9:
				lenBytes = 1
			case 0xc5, 0xda:
				lenBytes = 2
			case 0xc6, 0xdb:
				lenBytes = 4
			case 0xc7:
				lenBytes, extra = 1, 1
			case 0xc8:
				lenBytes, extra = 2, 1
			case 0xc9:
				lenBytes, extra = 4, 1
			case 0xcc, 0xd0:
				size = 1
			case 0xcd, 0xd1:
				size = 2
			case 0xca, 0xce, 0xd2:
				size = 4
			case 0xcb, 0xcf, 0xd3:
				size = 8
			case 0xd4:
				size = 2
			case 0xd5:
				size = 3
			case 0xd6:
				size = 5
			case 0xd7:
				size = 9
			case 0xd8:
				size = 17
			case 0xdc, 0xde:
				lenBytes = 2
			case 0xdd, 0xdf:
				lenBytes = 4
			default:
				return 0, fmt.Errorf("reserved msgpack byte 0x%02x at %d", c, pos-1)
			}
		}
		if lenBytes > 0 {
			if len(b)-pos < lenBytes {
				return 0, errShortValue
			}
			var n uint64
			switch lenBytes {
			case 1:
				n = uint64(b[pos])
			case 2:
				n = uint64(binary.BigEndian.Uint16(b[pos:]))
			case 4:
				n = uint64(binary.BigEndian.Uint32(b[pos:]))
			}
			pos += lenBytes
			switch c {
			case 0xdc, 0xdd:
				children = int(n)
			case 0xde, 0xdf:
				children = 2 * int(n)
			default:
				size = int(n) + extra
			}
		}
		if size > len(b)-pos {
			return 0, errShortValue
		}
		pos += size
		if children > 0 {
			if children > len(b)-pos {
				return 0, fmt.Errorf("msgpack length %d exceeds the %d bytes left", children, len(b)-pos)
			}
			if len(outer) >= maxNesting {
				return 0, fmt.Errorf("msgpack nesting deeper than %d", maxNesting)
			}
			outer = append(outer, pending)
			pending = children
		}
	}
}

// ValidRaw returns nil if b is exactly one well-formed msgpack value, and
// an error matching ErrBadValue otherwise.
func ValidRaw(b []byte) error {
	n, err := checkMsgpack(b)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadValue, len(b)-n)
	}
	return nil
}
