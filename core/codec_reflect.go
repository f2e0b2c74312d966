//go:build !dbrs_noreflect

package core

// The reflection half of the value codecs: user types that are neither a
// plain scalar, a string, []byte nor a raw dynamic value go through
// msgpack/v5. Building with the tag dbrs_noreflect leaves this file (and
// msgpack/v5) out, for dbrs.wasm, whose tables are all dynamic: see
// codec_noreflect.go.

import (
	"bytes"
	"encoding"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// reflectBuilt says whether this build can encode any Go type.
const reflectBuilt = true

// reflectEncode appends the msgpack of *p (p is a pointer) to buf, integers
// in their shortest form.
func reflectEncode(buf *bytes.Buffer, p any) error {
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(buf)
	enc.UseCompactInts(true)
	return enc.Encode(p)
}

// reflectDecode decodes b, one whole msgpack value, into *p.
func reflectDecode(b []byte, p any) error { return msgpack.Unmarshal(b, p) }

var (
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

func hasCustomEncoding(t reflect.Type) bool {
	for _, it := range []reflect.Type{customEncoderType, marshalerType, binaryMarshalerType, textMarshalerType} {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

// EncodeMsgpack writes the key's bytes as they are, after checking that they
// are exactly one msgpack value.
func (k RawKey) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := ValidRaw([]byte(k)); err != nil {
		return err
	}
	_, err := enc.Writer().Write([]byte(k))
	return err
}

// DecodeMsgpack reads one msgpack value as raw bytes.
func (k *RawKey) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := dec.DecodeRaw()
	*k = RawKey(raw)
	return err
}

// EncodeMsgpack writes the value's bytes as they are, after checking that
// they are exactly one msgpack value.
func (v RawValue) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := ValidRaw(v); err != nil {
		return err
	}
	_, err := enc.Writer().Write(v)
	return err
}

// DecodeMsgpack reads one msgpack value as raw bytes.
func (v *RawValue) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := dec.DecodeRaw()
	*v = RawValue(raw)
	return err
}
