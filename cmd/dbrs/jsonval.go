package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Converting between msgpack and JSON without a schema.
//
// msgpack to JSON: nil, booleans, integers (exact), strings and arrays map
// to their JSON forms; maps become objects whose members keep the msgpack
// order (a key that is not a string becomes its JSON text, so the map
// {1: "a"} becomes {"1": "a"}); floats become numbers, except NaN and the
// infinities, which become the strings "NaN", "+Inf" and "-Inf"; binary
// becomes {"$bin": base64}; a timestamp extension becomes an RFC 3339
// string; another extension becomes {"$ext": type, "data": base64}.
//
// JSON to msgpack (keys given with --json-key): null, booleans, integers,
// strings, arrays and objects (members in their order, as Go structs are
// encoded) in dbrs's canonical form: integers in their shortest encoding.
// Keys may not hold numbers with a fraction or exponent: float keys are
// refused by dbrs.

// maxDepth bounds the nesting the converters follow.
const maxDepth = 10000

// msgpackJSON returns the compact JSON form of the one msgpack value raw.
func msgpackJSON(raw []byte) ([]byte, error) {
	var out bytes.Buffer
	d := msgpack.NewDecoder(bytes.NewReader(raw))
	if err := writeJSONValue(&out, d, 0); err != nil {
		return nil, fmt.Errorf("dbrs: decode msgpack value: %w", err)
	}
	if _, err := d.PeekCode(); !errors.Is(err, io.EOF) {
		return nil, errors.New("dbrs: decode msgpack value: bytes after the value")
	}
	return out.Bytes(), nil
}

// mustJSON is msgpackJSON for values that core has validated: anything
// it cannot convert is shown as {"$raw": base64} rather than lost.
func mustJSON(raw []byte) json.RawMessage {
	j, err := msgpackJSON(raw)
	if err != nil {
		j, _ = marshalJSON(map[string]string{"$raw": base64.StdEncoding.EncodeToString(raw)})
	}
	return j
}

func writeJSONValue(w *bytes.Buffer, d *msgpack.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case c == msgpcode.Nil:
		w.WriteString("null")
		return d.Skip()
	case c == msgpcode.False || c == msgpcode.True:
		b, err := d.DecodeBool()
		w.WriteString(strconv.FormatBool(b))
		return err
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64:
		n, err := d.DecodeInt64()
		w.WriteString(strconv.FormatInt(n, 10))
		return err
	case c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		n, err := d.DecodeUint64()
		w.WriteString(strconv.FormatUint(n, 10))
		return err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.DecodeFloat64()
		if err != nil {
			return err
		}
		switch {
		case math.IsNaN(f):
			w.WriteString(`"NaN"`)
		case math.IsInf(f, 1):
			w.WriteString(`"+Inf"`)
		case math.IsInf(f, -1):
			w.WriteString(`"-Inf"`)
		default:
			bits := 64
			if c == msgpcode.Float {
				bits = 32
			}
			w.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
		}
		return nil
	case msgpcode.IsString(c):
		s, err := d.DecodeString()
		writeJSONString(w, s)
		return err
	case msgpcode.IsBin(c):
		b, err := d.DecodeBytes()
		w.WriteString(`{"$bin":"` + base64.StdEncoding.EncodeToString(b) + `"}`)
		return err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return err
		}
		w.WriteByte('[')
		for i := range n {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSONValue(w, d, depth+1); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return err
		}
		w.WriteByte('{')
		for i := range n {
			if i > 0 {
				w.WriteByte(',')
			}
			if kc, err := d.PeekCode(); err == nil && msgpcode.IsString(kc) {
				k, err := d.DecodeString()
				if err != nil {
					return err
				}
				writeJSONString(w, k)
			} else {
				var k bytes.Buffer
				if err := writeJSONValue(&k, d, depth+1); err != nil {
					return err
				}
				writeJSONString(w, k.String())
			}
			w.WriteByte(':')
			if err := writeJSONValue(w, d, depth+1); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case msgpcode.IsExt(c):
		return writeJSONExt(w, d)
	}
	return fmt.Errorf("unknown msgpack code 0x%02x", c)
}

func writeJSONExt(w *bytes.Buffer, d *msgpack.Decoder) error {
	raw, err := d.DecodeRaw()
	if err != nil {
		return err
	}
	typ, data, err := splitExt(raw)
	if err != nil {
		return err
	}
	if typ == -1 { // the msgpack timestamp extension
		var t time.Time
		if err := msgpack.Unmarshal(raw, &t); err == nil {
			writeJSONString(w, t.UTC().Format(time.RFC3339Nano))
			return nil
		}
	}
	fmt.Fprintf(w, `{"$ext":%d,"data":"%s"}`, typ, base64.StdEncoding.EncodeToString(data))
	return nil
}

// splitExt returns the type and the data of the extension value raw.
func splitExt(raw []byte) (int8, []byte, error) {
	if len(raw) < 2 {
		return 0, nil, errors.New("short extension")
	}
	var hdr, n int
	switch raw[0] {
	case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4, msgpcode.FixExt8, msgpcode.FixExt16:
		hdr, n = 1, 1<<(raw[0]-msgpcode.FixExt1)
	case msgpcode.Ext8:
		hdr, n = 2, int(raw[1])
	case msgpcode.Ext16:
		if len(raw) < 3 {
			return 0, nil, errors.New("short extension")
		}
		hdr, n = 3, int(raw[1])<<8|int(raw[2])
	case msgpcode.Ext32:
		if len(raw) < 5 {
			return 0, nil, errors.New("short extension")
		}
		hdr, n = 5, int(raw[1])<<24|int(raw[2])<<16|int(raw[3])<<8|int(raw[4])
	default:
		return 0, nil, errors.New("not an extension")
	}
	if len(raw) != hdr+1+n {
		return 0, nil, errors.New("extension length mismatch")
	}
	return int8(raw[hdr]), raw[hdr+1:], nil
}

func writeJSONString(w *bytes.Buffer, s string) {
	b, _ := marshalJSON(s) // never fails for a string; invalid UTF-8 becomes U+FFFD
	w.Write(b)
}

// jsonMsgpack returns the canonical msgpack encoding of the one JSON value
// text, for use as a key.
func jsonMsgpack(text string) ([]byte, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := encodeJSONValue(enc, d, 0); err != nil {
		return nil, fmt.Errorf("dbrs: key %s: %w", text, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("dbrs: key %s: more than one JSON value", text)
	}
	return buf.Bytes(), nil
}

func encodeJSONValue(enc *msgpack.Encoder, d *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	tok, err := d.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("not a JSON value")
		}
		return fmt.Errorf("not JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return enc.EncodeNil()
	case bool:
		return enc.EncodeBool(t)
	case string:
		return enc.EncodeString(t)
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return enc.EncodeInt(n)
		}
		if n, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return enc.EncodeUint(n)
		}
		return fmt.Errorf("%s is not an integer in the 64-bit range (keys cannot be floats)", t)
	case json.Delim:
		// Collect the elements first: msgpack needs the count up front.
		var elems [][]byte
		isObject := t == '{'
		for d.More() {
			var buf bytes.Buffer
			sub := msgpack.NewEncoder(&buf)
			sub.UseCompactInts(true)
			if isObject {
				k, err := d.Token()
				if err != nil {
					return fmt.Errorf("not JSON: %w", err)
				}
				if err := sub.EncodeString(k.(string)); err != nil {
					return err
				}
			}
			if err := encodeJSONValue(sub, d, depth+1); err != nil {
				return err
			}
			elems = append(elems, buf.Bytes())
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return fmt.Errorf("not JSON: %w", err)
		}
		if isObject {
			err = enc.EncodeMapLen(len(elems))
		} else {
			err = enc.EncodeArrayLen(len(elems))
		}
		if err != nil {
			return err
		}
		for _, e := range elems {
			if _, err := enc.Writer().Write(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected JSON token %v", tok)
}

// writeIndented writes v as indented JSON and a newline.
func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
