//go:build js && wasm

// Command dbrs is dbrs.wasm: the dbrs engine for the browser. It installs
// the bridge as globalThis.__dbrs (protocol 1, specified by js/src/bridge.ts)
// and then waits forever for calls from JS. Build it with
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o build/dbrs.wasm ./platform/wasm/cmd/dbrs
//
// and load it with the wasm_exec.js of the same Go release (the js/ shim
// does both).
package main

import "github.com/dbrs-db/dbrs/platform/wasm"

func main() {
	wasm.Install()
	select {}
}
