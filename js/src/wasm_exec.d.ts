// Go's wasm_exec.js (from the Go release that built dbrs.wasm) is copied
// into dist/ beside the compiled shim by the build (the Makefile's js-pkg
// target). Imported for its effect only: it defines globalThis.Go.
export {};
