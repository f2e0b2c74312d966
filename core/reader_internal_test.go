package core

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// newEncoder is msgpack/v5's encoder as dbrs configures it.
func newEncoder(buf *bytes.Buffer) *msgpack.Encoder {
	enc := msgpack.NewEncoder(buf)
	enc.UseCompactInts(true)
	return enc
}

// marshal encodes v with msgpack/v5 as dbrs configures it.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := newEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

// decodeBoth decodes b into a T with the fast reader and with msgpack/v5's
// reflection, and fails if they disagree on the value or on success.
func decodeBoth[T any](t testing.TB, b []byte) {
	t.Helper()
	var fast, slow T
	r := &entryReader{b: b}
	errFast := decodeInto(r, &fast)
	if n, err := checkMsgpack(b); err != nil || n != len(b) {
		// dbrs decodes only values that checkMsgpack has accepted (the
		// reflection decoder would allocate whatever a hostile length
		// says); the reader must fail cleanly on the rest.
		if err != nil && errFast == nil {
			t.Fatalf("%T from % x: no error for a malformed value", fast, b)
		}
		return
	}
	errSlow := msgpack.Unmarshal(b, &slow)
	if (errFast == nil) != (errSlow == nil) {
		t.Fatalf("%T from % x: fast err %v, reflection err %v", fast, b, errFast, errSlow)
	}
	if errFast == nil && !sameDecoded(fast, slow) {
		t.Fatalf("%T from % x: fast %#v, reflection %#v", fast, b, fast, slow)
	}
	if errFast == nil && !r.done() {
		t.Fatalf("%T from % x: %d bytes left", fast, b, r.left())
	}
}

// sameDecoded reports whether two decodings are the same value: deeply
// equal, or floats with the same bits (a NaN equals nothing, itself
// included).
func sameDecoded(a, b any) bool {
	switch x := a.(type) {
	case float32:
		return math.Float32bits(x) == math.Float32bits(b.(float32))
	case float64:
		return math.Float64bits(x) == math.Float64bits(b.(float64))
	}
	return reflect.DeepEqual(a, b)
}

// decodeRaw checks that RawKey and RawValue take exactly the bytes of one
// value, nil included. (msgpack/v5's reflection turns a nil into an empty
// RawKey, which is not what a live insert of the key 0xc0 holds.)
func decodeRaw(t testing.TB, b []byte) {
	t.Helper()
	n, err := checkMsgpack(b)
	var k RawKey
	var v RawValue
	errK := decodeInto(&entryReader{b: b}, &k)
	errV := decodeInto(&entryReader{b: b}, &v)
	if err != nil {
		if errK == nil || errV == nil {
			t.Fatalf("raw from % x: no error for a malformed value", b)
		}
		return
	}
	if errK != nil || errV != nil || string(k) != string(b[:n]) || !bytes.Equal(v, b[:n]) {
		t.Fatalf("raw from % x: key %q (%v), value % x (%v)", b, k, errK, []byte(v), errV)
	}
}

func decodeAllTypes(t testing.TB, b []byte) {
	decodeBoth[string](t, b)
	decodeBoth[[]byte](t, b)
	decodeBoth[bool](t, b)
	decodeBoth[float64](t, b)
	decodeBoth[int](t, b)
	decodeBoth[int64](t, b)
	decodeBoth[int32](t, b)
	decodeBoth[int16](t, b)
	decodeBoth[int8](t, b)
	decodeBoth[uint](t, b)
	decodeBoth[uint64](t, b)
	decodeBoth[uint32](t, b)
	decodeBoth[uint16](t, b)
	decodeBoth[uint8](t, b)
	decodeRaw(t, b)
	decodeBoth[struct{ A, B int }](t, b)
}

// The fast paths decode what msgpack/v5 decodes, to the same value, for
// every encoding dbrs or a JS encoder may write, at the edges of each range.
func TestDecodeIntoMatchesReflection(t *testing.T) {
	values := []any{
		0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxInt32, math.MaxUint32, int64(math.MaxInt64), uint64(math.MaxUint64),
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, int64(math.MinInt64),
		"", "a", string(make([]byte, 31)), string(make([]byte, 32)), string(make([]byte, 300)), string(make([]byte, 70000)),
		[]byte{}, []byte{1, 2, 3}, make([]byte, 300), true, false, nil, 1.5, float32(2.5), math.Inf(-1),
		[]any{1, "x"}, map[string]any{"A": 1, "B": 2},
	}
	for _, v := range values {
		var buf bytes.Buffer
		if err := newEncoder(&buf).Encode(v); err != nil {
			t.Fatal(err)
		}
		decodeAllTypes(t, buf.Bytes())
		// Non-shortest forms a foreign encoder could write.
		var wide bytes.Buffer
		if err := msgpack.NewEncoder(&wide).Encode(v); err != nil {
			t.Fatal(err)
		}
		decodeAllTypes(t, wide.Bytes())
	}
	for _, b := range [][]byte{{}, {0xcd, 0x01}, {0xd9, 0x05, 'a'}, {0xc4, 0x09}, {0xc1}, {0xcb, 0, 0}} {
		decodeAllTypes(t, b)
	}
}

func FuzzDecodeInto(f *testing.F) {
	f.Add([]byte{0xcd, 0x01, 0x00})
	f.Add([]byte{0xa3, 'a', 'b', 'c'})
	f.Add([]byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xca, 0xff, 0xff, 0x30, 0x30})                         // a float32 NaN
	f.Add([]byte{0xcb, 0xff, 0xff, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30}) // a float64 NaN
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeAllTypes(t, b)
	})
}

// A borrowing reader returns strings, raw keys and raw values that alias its
// input (no copy, no allocation); a plain one returns copies.
func TestEntryReaderBorrow(t *testing.T) {
	var in []byte
	for _, v := range []any{"key-0001", []any{"x", 1}} {
		b, err := marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, b...)
	}
	within := func(p *byte) bool {
		a := uintptr(unsafe.Pointer(p))
		start := uintptr(unsafe.Pointer(&in[0]))
		return a >= start && a < start+uintptr(len(in))
	}
	for _, borrow := range []bool{false, true} {
		r := &entryReader{b: in, borrow: borrow}
		var s string
		if err := decodeInto(r, &s); err != nil || s != "key-0001" {
			t.Fatalf("borrow=%v: string %q, %v", borrow, s, err)
		}
		var v RawValue
		if err := decodeInto(r, &v); err != nil || !r.done() {
			t.Fatalf("borrow=%v: raw value %x, %v", borrow, v, err)
		}
		if within(unsafe.StringData(s)) != borrow || within(&v[0]) != borrow {
			t.Errorf("borrow=%v: string aliases input %v, raw value aliases input %v", borrow, within(unsafe.StringData(s)), within(&v[0]))
		}
		if borrow && cap(v) != len(v) {
			t.Errorf("borrow=%v: raw value has capacity %d past its length %d: an append would write into the input", borrow, cap(v), len(v))
		}
		r = &entryReader{b: in, borrow: borrow}
		var k RawKey
		if err := decodeInto(r, &k); err != nil {
			t.Fatal(err)
		}
		if within(unsafe.StringData(string(k))) != borrow {
			t.Errorf("borrow=%v: raw key aliases input %v", borrow, !borrow)
		}
	}
	r := &entryReader{borrow: true}
	var s string
	var v RawValue
	allocs := testing.AllocsPerRun(100, func() {
		r.reset(in)
		_ = decodeInto(r, &s)
		_ = decodeInto(r, &v)
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("a borrowing reader allocated %v times per string and raw value, want 0", allocs)
	}
}
