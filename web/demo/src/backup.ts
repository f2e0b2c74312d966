// Export and import of a database as one file.
//
// The file is one dbrs log segment, the format `dbrs export` writes and
// `dbrs import` reads (cmd/dbrs/export.go; the format is specified at the
// top of core/record.go): framed records, | length (4B LE) | CRC-32C (4B LE)
// | msgpack payload |, the first of which is a schema record.
//
// db.exportLog() returns the live segments of the log, oldest first: the
// newest complete snapshot (or the first segment) and every later log
// segment, each cut at its last whole record and each opening with a
// schema record. Replaying them one after the other is exactly what
// replaying their concatenation as a single segment does, so the file is
// simply their bytes end to end. importLog(name, [{ id: 1, data }]) loads
// it back, as it loads a file from `dbrs export`.

import type { Segment } from 'dbrs';

/** The file name extension of an export. */
export const EXTENSION = '.dbrs';

/** Joins the exported segments, oldest first, into the bytes of one file. */
export function segmentsToFile(segments: readonly Segment[]): Uint8Array {
  const sorted = [...segments].sort((a, b) => a.id - b.id);
  const out = new Uint8Array(sorted.reduce((n, s) => n + s.data.length, 0));
  let off = 0;
  for (const s of sorted) {
    out.set(s.data, off);
    off += s.data.length;
  }
  return out;
}

/**
 * Checks that bytes start like a dbrs log: a first record whose length fits
 * the file and whose payload is a msgpack array [1, ...] (a schema record).
 * It returns the reason when they do not. The engine checks the rest (CRCs,
 * replay) when the file is imported.
 */
export function notALog(bytes: Uint8Array): string | undefined {
  if (bytes.length < 10) return 'the file is too short to hold a dbrs log';
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (len === 0 || len > bytes.length - 8) return 'the file does not start with a dbrs record';
  const b0 = bytes[8]!, b1 = bytes[9]!;
  const isArray = (b0 & 0xf0) === 0x90 || b0 === 0xdc || b0 === 0xdd;
  const kind = (b0 & 0xf0) === 0x90 ? b1 : b0 === 0xdc ? bytes[11] : bytes[13];
  if (!isArray || kind !== 1) return 'the file does not start with a dbrs schema record';
  return undefined;
}

/** The segments importLog takes for the bytes of one file. */
export function fileToSegments(bytes: Uint8Array): Segment[] {
  return [{ id: 1, data: bytes }];
}

/** A file name for an export of database name, made at date d. */
export function exportName(name: string, d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return `${name.replace(/[^\w.-]+/g, '_')}-${stamp}${EXTENSION}`;
}

/** Offers bytes to the user as a downloaded file. */
export function download(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has started by the next task; the URL is not needed after.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Reads a file the user picked. */
export async function readFile(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
