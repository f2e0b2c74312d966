//go:build js && wasm

// Package wasm runs dbrs in the browser (GOOS=js GOARCH=wasm). It holds
//
//   - IDBBackend, a core.Backend on IndexedDB (idb_backend.go describes the
//     layout and the group commit), with OpenIDB, DeleteIDB and ImportIDB;
//   - the JS bridge, protocol 2 (js/src/bridge.ts specifies it): the wasm
//     exports of exports.go, which carry every per-operation call through
//     byte buffers in linear memory, and the object that dbrs.wasm installs
//     as globalThis.__dbrs (bridge.go) for what is asynchronous. Install and
//     NewBridge make one.
//
// The program that becomes dbrs.wasm is ./cmd/dbrs:
//
//	GOOS=js GOARCH=wasm go build -tags dbrs_noreflect -trimpath -gcflags=fmt=-l -ldflags="-s -w" -o build/dbrs.wasm ./platform/wasm/cmd/dbrs
//
// The one rule of this package: nothing that runs inside a js.FuncOf
// callback or an export may wait for the JS event loop (an IndexedDB event,
// a timer, a Promise). Methods that need IndexedDB run on goroutines and
// report through Promises or onSettle.
package wasm
