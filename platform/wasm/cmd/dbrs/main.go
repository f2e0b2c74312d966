//go:build js && wasm

// Command dbrs is dbrs.wasm: the dbrs engine for the browser. It installs
// the bridge (protocol 2, specified by js/src/bridge.ts: globalThis.__dbrs
// and the exports of platform/wasm) and then waits forever for calls from
// JS. Build it with
//
//	GOOS=js GOARCH=wasm go build -tags dbrs_noreflect -trimpath -gcflags=fmt=-l -ldflags="-s -w" -o build/dbrs.wasm ./platform/wasm/cmd/dbrs
//
// and load it with the wasm_exec.js of the same Go release (the js/ shim
// does both).
package main

import "github.com/dbrs-db/dbrs/platform/wasm"

func main() {
	wasm.Install()
	select {}
}
