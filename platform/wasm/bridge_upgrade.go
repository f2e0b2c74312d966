//go:build js && wasm

package wasm

// Schema upgrades run from JS (core/migrate.go). open's options may carry
// `version` (a non-negative integer) and `onUpgrade` (a function). When the
// stored version is older, the open's goroutine, inside core's upgrade,
// registers the *core.Upgrade under a new upgrade ID and calls
//
//	onUpgrade(id, from, to, tables)   // tables: [{name, kind}, ...]
//
// which must return at once (the shim starts the user's function). Then it
// waits until JS calls upgradeStep(id, 'finish', ...). Meanwhile JS calls,
// synchronously:
//
//	upgradeStep(id, 'rename', from, to)      → null | Error
//	upgradeStep(id, 'drop', name)            → null | Error
//	upgradeStep(id, 'elements', table)       → Uint8Array | Error: [[[key, ...], value], ...]
//	upgradeStep(id, 'setValues', table, b)   → null | Error: b = [value, ...], one per element
//	upgradeStep(id, 'finish')                → null: the upgrade is to be installed
//	upgradeStep(id, 'finish', message)       → null: it failed; the open rejects, nothing is written
//
// Every step returns its error (a bridge Error) instead of throwing. The
// session exists only while the open waits, so a step after finish fails
// with 'Closed'. Only the goroutine of the open touches the Upgrade before
// onUpgrade and after finish; in between only the steps do, on the JS
// thread, and the channel orders the two.

import (
	"errors"
	"math"
	"sync"
	"syscall/js"

	"github.com/dbrs-db/dbrs/core"
)

type upgradeSession struct {
	u    *core.Upgrade
	done chan error
}

var (
	upgradesMu  sync.Mutex
	upgrades    = map[int]*upgradeSession{}
	nextUpgrade = 1
)

var errNoUpgrade = newBridgeError("Closed", "no upgrade in progress with this ID")

// upgradeOptions reads version and onUpgrade from open's options into opts.
func upgradeOptions(o js.Value, opts *core.Options) error {
	switch v := o.Get("version"); {
	case v.IsUndefined() || v.IsNull():
	case v.Type() == js.TypeNumber && v.Float() >= 0 && v.Float() <= 1<<53 && v.Float() == math.Trunc(v.Float()):
		opts.Version = uint64(v.Float())
	default:
		return badValue("version must be a non-negative integer")
	}
	switch f := o.Get("onUpgrade"); {
	case f.IsUndefined() || f.IsNull():
	case f.Type() == js.TypeFunction:
		opts.Upgrade = upgradeVia(f)
	default:
		return badValue("onUpgrade must be a function")
	}
	return nil
}

// upgradeVia returns a core.Options.Upgrade that hands the upgrade to the
// JS function onUpgrade and waits for its finish step.
func upgradeVia(onUpgrade js.Value) func(u *core.Upgrade) error {
	return func(u *core.Upgrade) error {
		s := &upgradeSession{u: u, done: make(chan error, 1)}
		upgradesMu.Lock()
		id := nextUpgrade
		nextUpgrade++
		upgrades[id] = s
		upgradesMu.Unlock()
		defer func() {
			upgradesMu.Lock()
			delete(upgrades, id)
			upgradesMu.Unlock()
		}()
		tables := jsArray.New()
		for i, t := range u.Tables() {
			o := jsObject.New()
			o.Set("name", t.Name)
			o.Set("kind", t.Kind)
			tables.SetIndex(i, o)
		}
		onUpgrade.Invoke(id, float64(u.From), float64(u.To), tables)
		return <-s.done
	}
}

// upgradeStep is the bridge method upgradeStep (see the top of this file).
func (b *Bridge) upgradeStep(args []js.Value) any {
	id := argHandle(args, 0)
	upgradesMu.Lock()
	s := upgrades[id]
	upgradesMu.Unlock()
	if s == nil {
		return toJSError(errNoUpgrade)
	}
	op, err := argString(args, 1, "step")
	if err != nil {
		return toJSError(err)
	}
	str := func(i int, what string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = argString(args, i, what)
		return v
	}
	switch op {
	case "rename":
		from, to := str(2, "from"), str(3, "to")
		if err == nil {
			err = s.u.Rename(from, to)
		}
	case "drop":
		if name := str(2, "table"); err == nil {
			err = s.u.Drop(name)
		}
	case "elements":
		if name := str(2, "table"); err == nil {
			var enc []byte
			if enc, err = s.u.EncodeElements(name); err == nil {
				return toBytesJS(enc)
			}
		}
	case "setValues":
		if name := str(2, "table"); err == nil {
			var vals []byte
			if vals, err = argBytes(args, 3, "values"); err == nil {
				err = s.u.SetValues(name, vals)
			}
		}
	case "finish":
		var failed error
		if m := arg(args, 2); !m.IsUndefined() && !m.IsNull() {
			failed = errors.New(m.String())
		}
		upgradesMu.Lock()
		delete(upgrades, id) // one finish only
		upgradesMu.Unlock()
		s.done <- failed
	default:
		err = badValue("unknown upgrade step " + op)
	}
	if err != nil {
		return toJSError(err)
	}
	return js.Null()
}
