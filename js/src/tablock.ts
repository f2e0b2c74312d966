// One writer per database across tabs and workers.
//
// Two tabs that opened the same database would each append to the same
// IndexedDB segments and destroy each other's commits. open() therefore
// with { exclusive: true } takes an exclusive Web Lock named "dbrs:<name>"
// and holds it until close(); deleteDatabase() and importLog() take it for
// their duration. Without exclusive, tabs share the database: the one that
// holds the same lock writes, and the others follow it (follower.ts).
// Where the Web Locks API is missing (Node, very old browsers) there is no
// lock and one opener per database is the caller's job.

import { DbrsError } from './errors.js';

/** Releases a lock taken by acquireTabLock. Calling it twice is harmless. */
export type Release = () => void;

interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, cb: (lock: unknown) => Promise<void> | void): Promise<unknown>;
}

function lockManager(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/**
 * Takes the exclusive lock of database `name`. With waitMs 0 (the default)
 * it fails at once with DbrsError 'Locked' when another tab or worker has
 * the database open; otherwise it waits up to waitMs for it to close.
 */
export async function acquireTabLock(name: string, waitMs = 0): Promise<Release> {
  const locks = lockManager();
  if (!locks) return () => {};
  const lockName = `dbrs:${name}`;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const acquired = new Promise<boolean>((resolve, reject) => {
    const options: { ifAvailable?: boolean; signal?: AbortSignal } = {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (waitMs <= 0) {
      options.ifAvailable = true;
    } else {
      const abort = new AbortController();
      options.signal = abort.signal;
      timer = setTimeout(() => abort.abort(), waitMs);
    }
    locks
      .request(lockName, options, (lock) => {
        if (timer !== undefined) clearTimeout(timer);
        if (lock === null) {
          resolve(false);
          return;
        }
        resolve(true);
        return held;
      })
      .catch((e: unknown) => {
        if ((e as { name?: unknown })?.name === 'AbortError') resolve(false);
        else reject(new DbrsError('Internal', `dbrs: the Web Lock of database "${name}" failed: ${String(e)}`));
      });
  });
  if (!(await acquired)) {
    throw new DbrsError('Locked', `dbrs: database "${name}" is open in another tab or worker`);
  }
  let done = false;
  return () => {
    if (!done) {
      done = true;
      release();
    }
  };
}
