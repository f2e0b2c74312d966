// Unit tests of the loader's options (src/load.ts) in Node, with a fake
// Go runtime in place of wasm_exec.js: where dbrs.wasm comes from, and the
// errors a bad source gives. Loading the real dbrs.wasm is covered by the
// Go e2e tests (e2e/bundler_test.go, in Vite and esbuild builds).
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DbrsError } from '../src/index.js';
import { loadBridge } from '../src/load.js';

const g = globalThis as { __dbrs?: unknown; Go?: unknown };

/** The smallest valid WebAssembly module: the magic word and version 1. */
const emptyWasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

/** Stands in for wasm_exec.js's Go: run() installs a bridge without exports. */
class FakeGo {
  importObject = {};
  run(): Promise<void> {
    g.__dbrs = { protocol: 2, version: 'fake' };
    return new Promise(() => {});
  }
}

afterEach(() => {
  delete g.__dbrs;
  delete g.Go;
});

function internal(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DbrsError, `not a DbrsError: ${String(e)}`);
    assert.equal(e.code, 'Internal');
    assert.match(e.message, pattern);
    return true;
  };
}

test('LoadOptions.wasm: a Response is instantiated, and its module then checked for the bridge exports', async () => {
  g.Go = FakeGo;
  const wasm = new Response(emptyWasm, { headers: { 'Content-Type': 'application/wasm' } });
  await assert.rejects(loadBridge({ wasm }), internal(/^dbrs: dbrs\.wasm \(LoadOptions\.wasm\) lacks the exports of bridge protocol 2/));
});

test('LoadOptions.wasm: a Promise of a Response, served with another Content-Type, is read as a buffer', async () => {
  g.Go = FakeGo;
  const wasm = Promise.resolve(new Response(emptyWasm, { headers: { 'Content-Type': 'application/octet-stream' } }));
  await assert.rejects(loadBridge({ wasm }), internal(/lacks the exports of bridge protocol 2/));
});

test('LoadOptions.wasm: a Response that is not ok is refused with its status', async () => {
  g.Go = FakeGo;
  await assert.rejects(loadBridge({ wasm: new Response('gone', { status: 404 }) }), internal(/^dbrs: cannot load dbrs\.wasm \(LoadOptions\.wasm\): HTTP 404$/));
});

test('LoadOptions.wasm: something other than a Response is refused by name', async () => {
  g.Go = FakeGo;
  await assert.rejects(loadBridge({ wasm: emptyWasm as unknown as Response }), internal(/LoadOptions\.wasm must be a Response, got \[object Uint8Array\]/));
});

test('wasmURL: an HTML page (a dev server fallback) is named as such, not as a bad magic word', async () => {
  g.Go = FakeGo;
  await assert.rejects(loadBridge({ wasmURL: 'data:text/html,<!doctype html><p>hi' }),
    internal(/^dbrs: cannot load data:text\/html,.*: not a WebAssembly module \(Content-Type "text\/html", 20 bytes starting "<!doctype html><"\)$/));
});

test("wasmURL: a failure under Vite's dependency cache says how to configure Vite", async () => {
  g.Go = FakeGo;
  // Port 9 (discard) on the loopback: nothing listens, so the fetch fails at once.
  await assert.rejects(loadBridge({ wasmURL: new URL('http://127.0.0.1:9/node_modules/.vite/deps/dbrs.wasm') }),
    internal(/^dbrs: cannot load http:\/\/127\.0\.0\.1:9\/node_modules\/\.vite\/deps\/dbrs\.wasm: .*add optimizeDeps: \{ exclude: \['dbrs'\] \} to vite\.config\.js/));
});

test('wasmExecURL: the module at that URL is imported and must define globalThis.Go', async () => {
  const defines = 'data:text/javascript,' + encodeURIComponent('globalThis.Go = class { importObject = {}; run() { return new Promise(() => {}); } };');
  await assert.rejects(loadBridge({ wasmExecURL: defines, wasm: new Response('', { status: 500 }) }), internal(/HTTP 500/));
  assert.equal(typeof g.Go, 'function', 'the module ran');

  delete g.Go;
  await assert.rejects(loadBridge({ wasmExecURL: 'data:text/javascript,export{}', wasm: new Response('', { status: 500 }) }),
    internal(/^dbrs: data:text\/javascript,export\{\} did not define globalThis\.Go$/));
  await assert.rejects(loadBridge({ wasmExecURL: 'data:text/javascript,throw new Error("boom")' }),
    internal(/^dbrs: cannot load data:text\/javascript,throw new Error\("boom"\): Error: boom$/));
});

test('index.ts imports every module of the shim directly (one round of fetches when unbundled)', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  const src = new URL('../../src/', import.meta.url);
  const index = await readFile(new URL('index.ts', src), 'utf8');
  const direct = new Set([...index.matchAll(/^import '\.\/([a-z_]+)\.js';$/gm)].map((m) => m[1]));
  // types.ts holds only types: nothing of it reaches the compiled shim.
  const modules = (await readdir(src)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'index.ts' && f !== 'types.ts').map((f) => f.slice(0, -3));
  assert.deepEqual(modules.filter((m) => !direct.has(m)), []);
  assert.match(index, /^import '@msgpack\/msgpack';$/m);
});
