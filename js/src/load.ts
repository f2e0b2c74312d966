// Loading dbrs.wasm once per page (or worker) and finding its bridge.

import { PROTOCOL, type Bridge, type GoBridge } from './bridge.js';
import { DbrsError } from './errors.js';
import { hasExports, WasmBridge } from './wasm.js';
import type { LoadOptions } from './types.js';

interface GoInstance {
  importObject: WebAssembly.Imports;
  run(instance: WebAssembly.Instance): Promise<void>;
}
interface Globals {
  __dbrs?: GoBridge | Bridge;
  Go?: new () => GoInstance;
}

const g = globalThis as unknown as Globals;
let loading: Promise<Bridge> | undefined;
/** The protocol 2 wrapper of the bridge this module loaded, and what it wraps. */
let wrapped: { raw: GoBridge; bridge: Bridge } | undefined;

/**
 * Returns the bridge, loading wasm_exec.js and dbrs.wasm on first use.
 * Concurrent callers share one load; a failed load is retried by the next
 * call. A complete Bridge already installed as globalThis.__dbrs (a test's
 * fake) is used as is. A dbrs.wasm that the page started itself cannot be
 * used: the shim needs the instance's exports, so let it load dbrs.wasm
 * (LoadOptions.wasmURL says from where).
 */
export function loadBridge(opts: LoadOptions = {}): Promise<Bridge> {
  const cur = g.__dbrs;
  if (cur) {
    if (wrapped && wrapped.raw === cur) return Promise.resolve(wrapped.bridge);
    if (typeof (cur as Partial<Bridge>).read === 'function') {
      try {
        return Promise.resolve(checked(cur as Bridge));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return Promise.reject(new DbrsError('Internal', 'dbrs: globalThis.__dbrs belongs to a dbrs.wasm this shim did not start; let the shim load dbrs.wasm (LoadOptions.wasmURL)'));
  }
  if (!loading) {
    loading = load(opts).catch((e: unknown) => {
      loading = undefined;
      throw e;
    });
  }
  return loading;
}

function checked<B extends { protocol: number }>(b: B): B {
  if (b.protocol !== PROTOCOL) {
    throw new DbrsError('Internal', `dbrs: dbrs.wasm speaks bridge protocol ${String(b.protocol)}, this shim speaks ${PROTOCOL}; rebuild them together`);
  }
  return b;
}

/**
 * Marks on the page's performance timeline, for tools that time startup:
 * dbrs:load (the load begins: dbrs.wasm's fetch and streaming compile start
 * then, alongside wasm_exec.js), dbrs:compiled (the module is compiled and
 * wasm_exec.js loaded), dbrs:instantiated, dbrs:started (Go's runtime and
 * package initialisation and main have run: the bridge is installed).
 */
function mark(name: string): void {
  try {
    globalThis.performance?.mark?.(name);
  } catch {
    // The timeline is informational: a missing or refusing one is fine.
  }
}

async function load(opts: LoadOptions): Promise<Bridge> {
  mark('dbrs:load');
  // dbrs.wasm is fetched and compiled while wasm_exec.js loads: the
  // compile needs no imports, only the instantiation does.
  let wasmURL: string;
  let source: Response | PromiseLike<Response>;
  if (opts.wasm !== undefined) {
    wasmURL = 'dbrs.wasm (LoadOptions.wasm)';
    source = opts.wasm;
  } else {
    let url: string | URL;
    try {
      // Written out in full, so that bundlers see the asset and rewrite the URL.
      url = opts.wasmURL ?? new URL('./dbrs.wasm', import.meta.url);
    } catch (e) {
      // import.meta.url is missing where a bundler wrote a classic script (IIFE).
      throw new DbrsError('Internal', `dbrs: cannot find dbrs.wasm next to this module (import.meta.url is ${String(import.meta.url)}): bundle as ESM, or pass wasmURL`, { cause: e });
    }
    wasmURL = String(url);
    source = fetch(url);
  }
  const compiled = compile(source);
  // Handled below, after wasm_exec.js; this only keeps a rejection that
  // comes first from being reported as unhandled.
  compiled.catch(() => undefined);
  if (typeof g.Go !== 'function') {
    let from = 'the wasm_exec.js of this package';
    try {
      if (opts.wasmExecURL !== undefined) {
        from = String(opts.wasmExecURL);
        await import(/* @vite-ignore */ /* webpackIgnore: true */ from);
      } else {
        // A literal specifier, so that bundlers include wasm_exec.js as a
        // module of their own: no URL to get right at run time.
        await import('./wasm_exec.js');
      }
    } catch (e) {
      throw new DbrsError('Internal', `dbrs: cannot load ${from}: ${String(e)}`, { cause: e });
    }
    if (typeof g.Go !== 'function') {
      throw new DbrsError('Internal', `dbrs: ${from} did not define globalThis.Go`);
    }
  }
  const go = new g.Go();
  let instance: WebAssembly.Instance;
  try {
    const module = await compiled;
    mark('dbrs:compiled');
    instance = await WebAssembly.instantiate(module, go.importObject);
  } catch (e) {
    throw new DbrsError('Internal', `dbrs: cannot load ${wasmURL}: ${e instanceof Error ? e.message : String(e)}${bundlerHint(wasmURL)}`, { cause: e });
  }
  mark('dbrs:instantiated');
  // run() resolves when the Go program exits, which dbrs.wasm never does on
  // its own; if it does (a panic), forget the bridge so the next open reloads.
  let bridge: GoBridge | undefined;
  let ended: string | undefined;
  const forget = (why: string) => {
    ended = why;
    if (wrapped) {
      if (g.__dbrs === wrapped.raw) delete g.__dbrs;
      wrapped = undefined;
    }
    if (bridge && g.__dbrs === bridge) delete g.__dbrs;
    loading = undefined;
  };
  let exited: Promise<void>;
  try {
    exited = go.run(instance);
  } catch (e) {
    throw new DbrsError('Internal', `dbrs: ${wasmURL} failed to start: ${String(e)}`, { cause: e });
  }
  exited.then(() => forget('exited'), (e: unknown) => forget(`failed to start: ${String(e)}`));
  // dbrs.wasm installs __dbrs in main before it blocks, i.e. during run();
  // allow a few turns in case an implementation defers it.
  for (let i = 0; !g.__dbrs && ended === undefined && i < 100; i++) {
    await new Promise((r) => setTimeout(r, i < 10 ? 0 : 10));
  }
  if (!g.__dbrs) {
    throw new DbrsError('Internal', `dbrs: ${wasmURL} ${ended ?? 'started but did not install globalThis.__dbrs'}`);
  }
  bridge = checked(g.__dbrs as GoBridge);
  if (!hasExports(instance)) {
    throw new DbrsError('Internal', `dbrs: ${wasmURL} lacks the exports of bridge protocol ${PROTOCOL}; rebuild it with this shim`);
  }
  wrapped = { raw: bridge, bridge: new WasmBridge(bridge, instance) };
  mark('dbrs:started');
  return wrapped.bridge;
}

async function compile(source: Response | PromiseLike<Response>): Promise<WebAssembly.Module> {
  const resp = await source;
  if (!(resp instanceof Response)) throw new TypeError(`LoadOptions.wasm must be a Response, got ${Object.prototype.toString.call(resp)}`);
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  const type = resp.headers.get('Content-Type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(resp);
  }
  // Servers that send another Content-Type: fall back to a buffer, after
  // checking that it is WebAssembly at all (a dev server's fallback page
  // is HTML, which WebAssembly.instantiate reports only as a bad magic word).
  const buf = await resp.arrayBuffer();
  const head = new Uint8Array(buf, 0, Math.min(4, buf.byteLength));
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0x61 || head[2] !== 0x73 || head[3] !== 0x6d) {
    const text = new TextDecoder().decode(new Uint8Array(buf, 0, Math.min(16, buf.byteLength)));
    throw new Error(`not a WebAssembly module (Content-Type ${JSON.stringify(type)}, ${buf.byteLength} bytes starting ${JSON.stringify(text)})`);
  }
  return WebAssembly.compile(buf);
}

/**
 * Vite's dev server pre-bundles dependencies into node_modules/.vite/deps,
 * away from dbrs.wasm, so the default URL finds nothing there. Says what
 * to do when that is the case.
 */
function bundlerHint(wasmURL: string): string {
  if (!wasmURL.includes('/.vite/')) return '';
  return ". Vite's dev server pre-bundled dbrs away from dbrs.wasm: add optimizeDeps: { exclude: ['dbrs'] } to vite.config.js, or pass wasmURL (see dbrs's README, Bundlers)";
}
