package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
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
	if n := flatLen(b); n > 0 {
		return n, nil
	}
	return walkMsgpack(b)
}

// walkMsgpack is checkMsgpack for any value.
func walkMsgpack(b []byte) (int, error) {
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

// flatLen is checkMsgpack's fast path, for the values entries are mostly
// made of: a scalar, or an array of at most 15 scalars (an entry [op,
// args...] whose arguments are integers, strings, binaries, floats, bools
// or nil). It returns the value's length, which checkMsgpack would return
// too, or 0 for anything else, including a truncated value, which
// checkMsgpack then examines.
func flatLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if c := b[0]; c&0xf0 == 0x90 {
		pos := 1
		for range c & 0x0f {
			n := scalarLen(b[pos:])
			if n == 0 {
				return 0
			}
			pos += n
		}
		return pos
	}
	return scalarLen(b)
}

// scalarLen returns the length of the scalar at the start of b, or 0 if b
// does not start with a whole one that flatLen takes.
func scalarLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	var n int
	switch c := b[0]; {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 1
	case c&0xe0 == 0xa0:
		n = 1 + int(c&0x1f)
	case c == 0xd9, c == 0xc4:
		if len(b) < 2 {
			return 0
		}
		n = 2 + int(b[1])
	case c == 0xda, c == 0xc5:
		if len(b) < 3 {
			return 0
		}
		n = 3 + int(binary.BigEndian.Uint16(b[1:]))
	case c == 0xcc, c == 0xd0:
		n = 2
	case c == 0xcd, c == 0xd1:
		n = 3
	case c == 0xca, c == 0xce, c == 0xd2:
		n = 5
	case c == 0xcb, c == 0xcf, c == 0xd3:
		n = 9
	default:
		return 0
	}
	if n > len(b) {
		return 0
	}
	return n
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

// ValidKey returns nil if b is exactly one msgpack value in the one form a
// key may take, and an error matching ErrBadValue otherwise. Keys are equal
// when their bytes are, so a key must have a single encoding: integers in
// their shortest form (non-negative ones as positive fixint or uint,
// negative ones as negative fixint or int), strings, binaries and arrays
// with their shortest headers, and arrays only of such keys. nil and bools
// are keys; floats, maps and extensions are not (a float is not equal to
// itself when NaN, and a map's order is the writer's choice).
func ValidKey(b []byte) error {
	n, err := canonicalKey(b, 0)
	if err != nil {
		return fmt.Errorf("%w: key %s", ErrBadValue, err)
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d bytes after the key", ErrBadValue, len(b)-n)
	}
	return nil
}

// canonicalKey checks the key at the start of b and returns its length.
// It takes the commonest keys (small integers, nil, bools and short
// strings, whose one-byte header is always their shortest) and leaves the
// rest to canonicalKeyAny. The split keeps the function that checks every
// key small: in the browser V8 compiles a hot wasm function a second time
// (TurboFan, on a thread that shares the CPUs with the page) in a time
// that grows with its size, and the whole of this check took 111 ms of it
// during the first bulk load of a page (bench/browser -tiering).
func canonicalKey(b []byte, depth int) (int, error) {
	if len(b) > 0 {
		switch c := b[0]; {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
			return 1, nil
		case c&0xe0 == 0xa0: // fixstr
			if n := 1 + int(c&0x1f); n <= len(b) {
				return n, nil
			}
		}
	}
	return canonicalKeyAny(b, depth)
}

// canonicalKeyAny is canonicalKey for any key.
func canonicalKeyAny(b []byte, depth int) (int, error) {
	if len(b) == 0 {
		return 0, errShortValue
	}
	c := b[0]
	be := func(w int) (uint64, error) {
		if len(b) < 1+w {
			return 0, errShortValue
		}
		var v uint64
		for _, x := range b[1 : 1+w] {
			v = v<<8 | uint64(x)
		}
		return v, nil
	}
	// lenForm checks that a length of n has the header the shortest
	// encoding uses: w is the width of its length field (0 for the fix
	// form), fixMax the longest fix form (-1 for none), and has8 whether
	// the type has a form with a one-byte length.
	lenForm := func(n uint64, w int, fixMax int64, has8 bool) error {
		want := 4
		switch {
		case int64(n) <= fixMax:
			want = 0
		case n <= 0xff && has8:
			want = 1
		case n <= 0xffff:
			want = 2
		}
		if want != w {
			return fmt.Errorf("length %d not in its shortest form", n)
		}
		return nil
	}
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 1, nil
	case c >= 0xcc && c <= 0xcf: // uint 8..64
		w := 1 << (c - 0xcc)
		v, err := be(w)
		if err != nil {
			return 0, err
		}
		if min := [4]uint64{0x80, 0x100, 0x1_0000, 0x1_0000_0000}[c-0xcc]; v < min {
			return 0, fmt.Errorf("integer %d not in its shortest form", v)
		}
		return 1 + w, nil
	case c >= 0xd0 && c <= 0xd3: // int 8..64
		w := 1 << (c - 0xd0)
		u, err := be(w)
		if err != nil {
			return 0, err
		}
		shift := 64 - 8*w
		v := int64(u<<shift) >> shift
		if v >= 0 {
			return 0, fmt.Errorf("non-negative integer %d written as a signed int", v)
		}
		if max := [4]int64{-33, -129, -32769, -1<<31 - 1}[c-0xd0]; v > max {
			return 0, fmt.Errorf("integer %d not in its shortest form", v)
		}
		return 1 + w, nil
	case c&0xe0 == 0xa0, c >= 0xd9 && c <= 0xdb: // str
		n, w := uint64(c&0x1f), 0
		if c >= 0xd9 {
			w = 1 << (c - 0xd9)
			v, err := be(w)
			if err != nil {
				return 0, err
			}
			n = v
		}
		if err := lenForm(n, w, 31, true); err != nil {
			return 0, err
		}
		if n > uint64(len(b)-1-w) {
			return 0, errShortValue
		}
		return 1 + w + int(n), nil
	case c >= 0xc4 && c <= 0xc6: // bin
		w := 1 << (c - 0xc4)
		n, err := be(w)
		if err != nil {
			return 0, err
		}
		if err := lenForm(n, w, -1, true); err != nil {
			return 0, err
		}
		if n > uint64(len(b)-1-w) {
			return 0, errShortValue
		}
		return 1 + w + int(n), nil
	case c&0xf0 == 0x90, c == 0xdc, c == 0xdd: // array
		if depth >= maxNesting {
			return 0, fmt.Errorf("nesting deeper than %d", maxNesting)
		}
		n, w := uint64(c&0x0f), 0
		if c == 0xdc || c == 0xdd {
			w = 2
			if c == 0xdd {
				w = 4
			}
			v, err := be(w)
			if err != nil {
				return 0, err
			}
			n = v
		}
		if err := lenForm(n, w, 15, false); err != nil {
			return 0, err
		}
		if n > uint64(len(b)-1-w) {
			return 0, errShortValue
		}
		pos := 1 + w
		for range n {
			l, err := canonicalKey(b[pos:], depth+1)
			if err != nil {
				return 0, err
			}
			pos += l
		}
		return pos, nil
	case c == 0xca, c == 0xcb:
		return 0, fmt.Errorf("is a float")
	case c&0xf0 == 0x80, c == 0xde, c == 0xdf:
		return 0, fmt.Errorf("is a map")
	}
	return 0, fmt.Errorf("has msgpack type 0x%02x, which keys cannot have", c)
}

// formatRaw renders one msgpack value as short readable text: strings
// quoted, numbers and bools as Go prints them, bin as hex, arrays and maps
// bracketed. It never fails: bytes it cannot read print as hex.
func formatRaw(b []byte) string {
	var sb []byte
	r := &entryReader{b: b}
	if !appendRawText(&sb, r, 0) || !r.done() {
		return fmt.Sprintf("0x%x", b)
	}
	return string(sb)
}

func appendRawText(sb *[]byte, r *entryReader, depth int) bool {
	c, err := r.code()
	if err != nil || depth > 8 || len(*sb) > 200 {
		return false
	}
	switch {
	case c == 0xc0:
		r.pos++
		*sb = append(*sb, "nil"...)
	case c == 0xc2 || c == 0xc3:
		r.pos++
		*sb = strconv.AppendBool(*sb, c == 0xc3)
	case isInt(c):
		neg, mag, err := r.integer()
		if err != nil {
			return false
		}
		if neg {
			*sb = append(*sb, '-')
		}
		*sb = strconv.AppendUint(*sb, mag, 10)
	case isStr(c):
		s, err := r.DecodeString()
		if err != nil {
			return false
		}
		*sb = strconv.AppendQuote(*sb, s)
	case c&0xf0 == 0x90 || c == 0xdc || c == 0xdd:
		n, err := r.DecodeArrayLen()
		if err != nil {
			return false
		}
		*sb = append(*sb, '[')
		for i := range n {
			if i > 0 {
				*sb = append(*sb, ' ')
			}
			if !appendRawText(sb, r, depth+1) {
				return false
			}
		}
		*sb = append(*sb, ']')
	default:
		v, err := r.skip()
		if err != nil {
			return false
		}
		*sb = fmt.Appendf(*sb, "0x%x", v)
	}
	return true
}
