//go:build js && wasm

// Package wasm runs dbrs in the browser (GOOS=js GOARCH=wasm). It holds
//
//   - IDBBackend, a core.Backend on IndexedDB (idb_backend.go describes the
//     layout and the group commit), with OpenIDB, DeleteIDB and ImportIDB;
//   - the JS bridge (bridge.go): the object that dbrs.wasm installs as
//     globalThis.__dbrs for the TypeScript shim in js/. js/src/bridge.ts
//     specifies it (protocol 1); Install and NewBridge make one.
//
// The program that becomes dbrs.wasm is ./cmd/dbrs:
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o build/dbrs.wasm ./platform/wasm/cmd/dbrs
//
// The one rule of this package: nothing that runs inside a js.FuncOf
// callback may wait for the JS event loop (an IndexedDB event, a timer, a
// Promise). Methods that need IndexedDB run on goroutines and report
// through Promises.
package wasm
