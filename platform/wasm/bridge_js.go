//go:build js && wasm

package wasm

// syscall/js helpers of the bridge: Promises, byte arrays, argument checks
// and panic recovery. None of them blocks.

import (
	"runtime/debug"
	"syscall/js"
)

var (
	jsError      = js.Global().Get("Error")
	jsPromise    = js.Global().Get("Promise")
	jsUint8Array = js.Global().Get("Uint8Array")
	jsObject     = js.Global().Get("Object")
	jsArray      = js.Global().Get("Array")
)

// promise is a JS Promise and the functions that settle it. Its methods may
// be called from any goroutine; the first call wins, as in JS.
type promise struct {
	p, resolve, reject js.Value
}

// newPromise creates a pending Promise. The executor runs synchronously
// inside Promise's constructor, so resolve and reject are set on return.
func newPromise() *promise {
	pr := &promise{}
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		pr.resolve, pr.reject = args[0], args[1]
		return nil
	})
	pr.p = jsPromise.New(exec)
	exec.Release()
	return pr
}

// rejected returns a Promise already rejected with the bridge Error of err.
func rejected(err error) js.Value {
	pr := newPromise()
	pr.fail(err)
	return pr.p
}

// resolved returns a Promise already resolved to v.
func resolved(v any) js.Value {
	return jsPromise.Call("resolve", v)
}

func (pr *promise) ok(v any)          { pr.resolve.Invoke(v) }
func (pr *promise) fail(err error)    { pr.reject.Invoke(toJSError(err)) }
func (pr *promise) failJS(e js.Value) { pr.reject.Invoke(e) }

// goSettle runs f on a new goroutine and settles pr with its result. A
// panic in f rejects pr with an 'Internal' Error instead of killing the Go
// program.
func goSettle(pr *promise, f func() (any, error)) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				pr.failJS(panicError(r))
			}
		}()
		v, err := f()
		if err != nil {
			pr.fail(err)
			return
		}
		pr.ok(v)
	}()
}

// panicError is the 'Internal' Error for a recovered panic.
func panicError(r any) js.Value {
	msg := "dbrs: internal error (Go panic): "
	switch x := r.(type) {
	case error:
		msg += x.Error()
	case string:
		msg += x
	default:
		msg += "unknown value"
	}
	e := jsError.New(msg)
	e.Set("code", "Internal")
	e.Set("goStack", string(debug.Stack()))
	return e
}

// syncMethod wraps a synchronous bridge method: a panic becomes a returned
// 'Internal' Error.
func syncMethod(f func(args []js.Value) any) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (ret any) {
		defer func() {
			if r := recover(); r != nil {
				ret = panicError(r)
			}
		}()
		return f(args)
	})
}

// promiseMethod wraps a bridge method that returns a Promise (or, for
// commit and exec, an Error in its place): a panic in the synchronous part
// becomes a Promise rejected with an 'Internal' Error.
func promiseMethod(f func(args []js.Value) any) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (ret any) {
		defer func() {
			if r := recover(); r != nil {
				pr := newPromise()
				pr.failJS(panicError(r))
				ret = pr.p
			}
		}()
		return f(args)
	})
}

// toBytesJS copies b into a new Uint8Array.
func toBytesJS(b []byte) js.Value {
	u := jsUint8Array.New(len(b))
	if len(b) > 0 {
		js.CopyBytesToJS(u, b)
	}
	return u
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// argHandle returns argument i as a handle number, or 0 (never a handle)
// if it is not a positive integer.
func argHandle(args []js.Value, i int) int {
	v := arg(args, i)
	if v.Type() != js.TypeNumber {
		return 0
	}
	f := v.Float()
	if f < 1 || f > 1<<31 || f != float64(int(f)) {
		return 0
	}
	return int(f)
}

// argString returns argument i, which must be a string.
func argString(args []js.Value, i int, what string) (string, error) {
	v := arg(args, i)
	if v.Type() != js.TypeString {
		return "", badValue(what + " must be a string")
	}
	return v.String(), nil
}

// argBytes copies argument i, which must be a Uint8Array, into Go memory.
// It costs one JS call for arguments of up to len(scratch) bytes: the copy
// into scratch also tells the length (a Length and an InstanceOf call would
// cost a crossing each, and crossings dominate the cost of small calls).
func argBytes(args []js.Value, i int, what string) (b []byte, err error) {
	v := arg(args, i)
	if v.Type() != js.TypeObject {
		return nil, badValue(what + " must be a Uint8Array")
	}
	defer func() {
		// CopyBytesToGo panics (a Go string) if v is not a Uint8Array.
		if r := recover(); r != nil {
			if _, ok := r.(string); !ok {
				panic(r)
			}
			b, err = nil, badValue(what+" must be a Uint8Array")
		}
	}()
	n := js.CopyBytesToGo(scratch[:], v)
	if n < len(scratch) {
		return append([]byte(nil), scratch[:n]...), nil
	}
	b = make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// scratch is argBytes' buffer. Only the JS thread uses it (js.FuncOf
// callbacks run one at a time).
var scratch [512]byte
