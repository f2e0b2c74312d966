//go:build !dbrs_noreflect

package core

import (
	"bytes"
	"math"
	"testing"
)

// The fast encoders write exactly the bytes msgpack/v5 writes with compact
// integers, at the edges of every format, so a key has one encoding
// whichever path wrote it.
func TestAppendFastMatchesMsgpack(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	var values []any
	for _, n := range ints {
		values = append(values, n, int(n), int32(n), int16(n), int8(n), uint64(n), uint(n), uint32(n), uint16(n), uint8(n))
	}
	values = append(values, uint64(math.MaxUint64), true, false, 0.5, math.Inf(1), math.Copysign(0, -1),
		"", "a", string(make([]byte, 31)), string(make([]byte, 32)), string(make([]byte, 255)), string(make([]byte, 256)),
		string(make([]byte, 65535)), string(make([]byte, 65536)),
		[]byte(nil), []byte{}, make([]byte, 255), make([]byte, 256), make([]byte, 65536))
	for _, v := range values {
		want, err := marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		var ok bool
		switch x := v.(type) {
		case int64:
			got, ok = appendFast(nil, &x)
		case int:
			got, ok = appendFast(nil, &x)
		case int32:
			got, ok = appendFast(nil, &x)
		case int16:
			got, ok = appendFast(nil, &x)
		case int8:
			got, ok = appendFast(nil, &x)
		case uint64:
			got, ok = appendFast(nil, &x)
		case uint:
			got, ok = appendFast(nil, &x)
		case uint32:
			got, ok = appendFast(nil, &x)
		case uint16:
			got, ok = appendFast(nil, &x)
		case uint8:
			got, ok = appendFast(nil, &x)
		case bool:
			got, ok = appendFast(nil, &x)
		case float64:
			got, ok = appendFast(nil, &x)
		case string:
			got, ok = appendFast(nil, &x)
		case []byte:
			got, ok = appendFast(nil, &x)
		}
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%T %.40v: fast % x (ok %v), msgpack % x", v, v, head(got), ok, head(want))
		}
	}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		want, _ := marshal(make([]any, n))
		if got := appendArrayLen(nil, n); !bytes.Equal(got, want[:len(got)]) {
			t.Errorf("array header %d: % x, msgpack % x", n, got, head(want))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 12)] }
