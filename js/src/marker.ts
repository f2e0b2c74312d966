// The lost-database marker. Browsers sometimes delete an origin's
// IndexedDB data (a store found corrupt after a crash, storage pressure,
// a user clearing one kind of site data) and hand the page an empty
// database. dbrs cannot stop that; it must not hide it. So this origin
// keeps, outside IndexedDB (in localStorage), the newest log segment it saw
// durable for each database. A later open that finds IndexedDB empty, or
// behind that segment, is refused with 'Lost' unless the app accepts the
// loss (or restores an export with importLog).
//
// Segment IDs only grow (compaction moves to higher ones), and a segment
// exists in IndexedDB before a commit in it is reported durable, so the
// marker is never ahead of a healthy store. Where localStorage is missing
// (a worker) or refuses (private modes, full quota), there is no marker
// and no check.

const PREFIX = 'dbrs:segment:';

function storage(): Storage | undefined {
  try {
    return (globalThis as { localStorage?: Storage }).localStorage;
  } catch {
    return undefined; // access itself can throw (sandboxed iframes)
  }
}

/** The newest segment recorded for database name, or undefined. */
export function readMarker(name: string): number | undefined {
  try {
    const v = storage()?.getItem(PREFIX + name);
    const n = v == null ? NaN : Number(v);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Records segment as the newest durable one of database name. */
export function writeMarker(name: string, segment: number): void {
  try {
    storage()?.setItem(PREFIX + name, String(segment));
  } catch {
    // No marker: no check. Never fail a commit over it.
  }
}

/** Forgets database name (deleted, or replaced by an import). */
export function clearMarker(name: string): void {
  try {
    storage()?.removeItem(PREFIX + name);
  } catch {
    // As above.
  }
}
