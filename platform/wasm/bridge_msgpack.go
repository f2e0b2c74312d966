//go:build js && wasm

package wasm

// The little msgpack the bridge reads itself: the exec batch, an array of
// [table, op, args] arrays. Keys and values inside args are never decoded
// here; core splits and checks them. Every length is checked against the
// bytes left, so a hostile header never makes the bridge allocate or loop
// more than the input's size.

import "encoding/binary"

const maxBatchNesting = 512

// mpHeader decodes the header at b[0]: the bytes of the header itself, the
// bytes of payload that follow it, and the number of child values (array
// elements, or twice the map entries). ok is false for a truncated header
// or the never-used byte 0xc1.
func mpHeader(b []byte) (head, payload, children int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	c := b[0]
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 1, 0, 0, true
	case c >= 0x80 && c <= 0x8f:
		return 1, 0, 2 * int(c&0x0f), true
	case c >= 0x90 && c <= 0x9f:
		return 1, 0, int(c & 0x0f), true
	case c >= 0xa0 && c <= 0xbf:
		return 1, int(c & 0x1f), 0, true
	}
	// Fixed-size scalars.
	switch c {
	case 0xcc, 0xd0:
		return 1, 1, 0, true
	case 0xcd, 0xd1:
		return 1, 2, 0, true
	case 0xca, 0xce, 0xd2:
		return 1, 4, 0, true
	case 0xcb, 0xcf, 0xd3:
		return 1, 8, 0, true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16 (+1 type byte)
		return 1, 1 + 1<<(c-0xd4), 0, true
	}
	// Length-prefixed: str, bin, ext, array, map.
	var n, extra int
	var lenBytes int
	switch c {
	case 0xd9, 0xc4:
		lenBytes = 1
	case 0xda, 0xc5, 0xdc, 0xde:
		lenBytes = 2
	case 0xdb, 0xc6, 0xdd, 0xdf:
		lenBytes = 4
	case 0xc7:
		lenBytes, extra = 1, 1
	case 0xc8:
		lenBytes, extra = 2, 1
	case 0xc9:
		lenBytes, extra = 4, 1
	default: // 0xc1
		return 0, 0, 0, false
	}
	if len(b) < 1+lenBytes {
		return 0, 0, 0, false
	}
	switch lenBytes {
	case 1:
		n = int(b[1])
	case 2:
		n = int(binary.BigEndian.Uint16(b[1:]))
	case 4:
		n = int(binary.BigEndian.Uint32(b[1:]))
	}
	head = 1 + lenBytes
	switch c {
	case 0xdc, 0xdd:
		return head, 0, n, true
	case 0xde, 0xdf:
		return head, 0, 2 * n, true
	}
	return head, n + extra, 0, true
}

// mpSkip returns the length of the one msgpack value at the start of b.
func mpSkip(b []byte) (int, bool) {
	pos := 0
	pending := 1 // values still to read at the current level
	var outer []int
	for {
		for pending == 0 {
			if len(outer) == 0 {
				return pos, true
			}
			pending = outer[len(outer)-1]
			outer = outer[:len(outer)-1]
		}
		pending--
		head, payload, children, ok := mpHeader(b[pos:])
		if !ok || payload < 0 || children < 0 || head+payload > len(b)-pos {
			return 0, false
		}
		pos += head + payload
		if children > 0 {
			if children > len(b)-pos || len(outer) >= maxBatchNesting {
				return 0, false
			}
			outer = append(outer, pending)
			pending = children
		}
	}
}

// mpArray splits the msgpack array that is exactly b into its elements'
// bytes. The elements alias b.
func mpArray(b []byte) ([][]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	c := b[0]
	if !(c >= 0x90 && c <= 0x9f) && c != 0xdc && c != 0xdd {
		return nil, false
	}
	head, _, n, ok := mpHeader(b)
	if !ok || n > len(b)-head {
		return nil, false
	}
	out := make([][]byte, 0, n)
	pos := head
	for range n {
		l, ok := mpSkip(b[pos:])
		if !ok {
			return nil, false
		}
		out = append(out, b[pos:pos+l:pos+l])
		pos += l
	}
	return out, pos == len(b)
}

// mpString decodes b, which must be exactly one msgpack str.
func mpString(b []byte) (string, bool) {
	if len(b) == 0 {
		return "", false
	}
	c := b[0]
	if !(c >= 0xa0 && c <= 0xbf) && c != 0xd9 && c != 0xda && c != 0xdb {
		return "", false
	}
	head, n, _, ok := mpHeader(b)
	if !ok || head+n != len(b) {
		return "", false
	}
	return string(b[head:]), true
}

// mpArrayHeader appends a msgpack array header for n elements.
func mpArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 1<<16:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	}
	return append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
