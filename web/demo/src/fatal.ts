// What the demo says when it cannot open its database: which of the known
// causes it is, the hint that fits, and the ways out the app has.

import { DbrsError } from 'dbrs';

/** A way out that the error screen offers. */
export type Choice =
  | 'retry' // open again (after the cause is fixed)
  | 'wait' // open again, waiting for another tab to close the database
  | 'restore' // import an export file, then open
  | 'acceptLoss' // open with { acceptLoss: true }: start over with what IndexedDB has
  | 'reset'; // delete the database, then open

export interface Problem {
  /** A stable name for tests and styles (data-kind). */
  kind: 'missing-wasm' | 'unsupported' | 'no-indexeddb' | 'quota' | 'lost' | 'locked' | 'damaged' | 'schema' | 'other';
  /** The DbrsError code, or 'Error' (data-code). */
  code: string;
  title: string;
  /** What happened and what to do, in a few sentences. */
  hint: string;
  choices: Choice[];
}

/**
 * Looks for what this page needs before it loads anything: WebAssembly
 * (with the BigInt64Array the engine's loader uses) and IndexedDB. It
 * returns the problem, or undefined when the page can go on.
 */
export function precheck(g: typeof globalThis = globalThis): Problem | undefined {
  const w = g as { WebAssembly?: unknown; BigInt64Array?: unknown; indexedDB?: unknown };
  if (typeof w.WebAssembly !== 'object' || w.WebAssembly === null || typeof w.BigInt64Array !== 'function') {
    return {
      kind: 'unsupported', code: 'Unsupported', title: 'This browser cannot run dbrs',
      hint: 'dbrs is Go compiled to WebAssembly, and this browser has no WebAssembly (or it is turned off, as in some locked-down or "enhanced security" modes). Open the demo in a current Chrome, Edge, Firefox or Safari, or allow WebAssembly for this site.',
      choices: [],
    };
  }
  if (!w.indexedDB) return noIndexedDB('Unavailable');
  return undefined;
}

function noIndexedDB(code: string): Problem {
  return {
    kind: 'no-indexeddb', code, title: 'IndexedDB is not available here',
    hint: 'dbrs keeps its log in IndexedDB, and this page cannot use it. That happens in some private windows, when the browser is set to block site data (cookies and site data), and in sandboxed frames. Allow site data for this site or open it in a normal window, then retry.',
    choices: ['retry'],
  };
}

/** Says what an error from open() means for the user. */
export function diagnose(e: unknown, dbName: string): Problem {
  const code = e instanceof DbrsError ? e.code : 'Error';
  const msg = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'Lost':
      return {
        kind: 'lost', code, title: 'The browser lost this database',
        hint: `The browser no longer has the data of “${dbName}” that this site stored before: it deleted or replaced it (after a crash that damaged its storage, when disk space ran low, or because site data was cleared). dbrs noticed, and will not start over silently. Restore it from an export file you saved (Export to file), or start over with an empty database.`,
        choices: ['restore', 'acceptLoss'],
      };
    case 'Locked':
      return {
        kind: 'locked', code, title: 'This database is busy in another tab',
        hint: `Another tab, window or worker of this site holds the lock of “${dbName}”, and it could not be shared. Close the demo in the other tabs (or wait for the other tab to finish), then retry. “Wait for it” retries as soon as the other tab lets go, for up to 30 seconds.`,
        choices: ['wait', 'retry'],
      };
    case 'Quota':
      return {
        kind: 'quota', code, title: 'The browser has no room left for this site',
        hint: 'IndexedDB refused to store more (quota exceeded). Free disk space, or clear other sites’ data, then retry. Deleting this database also frees its space, with its data.',
        choices: ['retry', 'reset'],
      };
    case 'Corrupt':
    case 'BadEntry':
      return {
        kind: 'damaged', code, title: 'The stored log is damaged',
        hint: 'dbrs found damage inside the stored log and did not drop anything. Restore an export file you saved, or delete the database and start over.',
        choices: ['restore', 'reset'],
      };
    case 'Schema':
    case 'UnknownTable':
      return {
        kind: 'schema', code, title: 'The stored database has other tables',
        hint: `“${dbName}” was written by another version of this demo or by another app, and its tables do not match this one’s. Open another database (add ?db=NAME to the address), restore an export of this demo, or delete it and start over.`,
        choices: ['restore', 'reset'],
      };
    case 'IDB':
    case 'IDBUnknown':
    case 'Abort':
      if (/not available/i.test(msg)) return noIndexedDB(code);
      return {
        kind: 'other', code, title: 'IndexedDB failed',
        hint: 'The browser’s IndexedDB reported an error while opening the database. Retrying often helps; if it keeps failing, restart the browser.',
        choices: ['retry'],
      };
    case 'Internal':
      if (/dbrs(-[\w-]+)?\.wasm|wasm_exec(-[\w-]+)?\.js/.test(msg) && /cannot load|HTTP \d|did not define|Failed to fetch/i.test(msg)) {
        return {
          kind: 'missing-wasm', code, title: 'dbrs.wasm could not be loaded',
          hint: 'The page could not fetch the dbrs engine (dbrs.wasm, or Go’s wasm_exec.js beside it). Build and serve the whole site with `make demo` (it builds dbrs.wasm, the shim and this demo), or see web/demo/README.md for the steps.',
          choices: ['retry'],
        };
      }
  }
  return {
    kind: 'other', code, title: 'dbrs could not open the database',
    hint: 'This is unexpected. The message below says more; the browser console has the details.',
    choices: ['retry', 'reset'],
  };
}
