//go:build dbrs_noreflect

package core

// Built with the tag dbrs_noreflect, dbrs links no msgpack reflection
// (msgpack/v5 is left out): tables hold only dynamic raw values and keys,
// strings, []byte, bools, integers and float64s, and opening a schema with
// any other key or value type fails. dbrs.wasm is built this way, because
// every table the browser opens is dynamic, and reflection-based msgpack is
// a fifth of its size.

import (
	"bytes"
	"errors"
	"reflect"
)

const reflectBuilt = false

var errNoReflect = errors.New("dbrs: this build (tag dbrs_noreflect) cannot encode this type by reflection")

func reflectEncode(*bytes.Buffer, any) error { return errNoReflect }

func reflectDecode([]byte, any) error { return errNoReflect }

func hasCustomEncoding(reflect.Type) bool { return false }
