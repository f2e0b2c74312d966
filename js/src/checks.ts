// Runtime checks for plain-JS callers: the kinds a schema builder may be
// given for a table's keys and values, and the errors a write gets when a
// value does not match, before anything is encoded or logged.

import { DbrsError } from './errors.js';

/**
 * What a key or value must be: a typeof-like kind, or a validator that
 * returns true for a good value (false, or a throw, refuses it).
 */
export type Check = 'string' | 'number' | 'bigint' | 'boolean' | 'bytes' | ((v: unknown) => boolean);

/** Optional checks of a table's keys, inner keys (lookupMap) or set members (lookupSet), and values. */
export interface TableChecks {
  key?: Check;
  inner?: Check;
  value?: Check;
}

const KINDS: ReadonlySet<string> = new Set(['string', 'number', 'bigint', 'boolean', 'bytes']);

/** Throws a TypeError for a malformed checks argument of a schema builder. */
export function validChecks(c: TableChecks | undefined, allowed: readonly (keyof TableChecks)[]): TableChecks | undefined {
  if (c === undefined) return undefined;
  if (typeof c !== 'object' || c === null) throw new TypeError('dbrs: table checks must be an object like { key: "string", value: "number" }');
  for (const [k, v] of Object.entries(c)) {
    if (!allowed.includes(k as keyof TableChecks)) throw new TypeError(`dbrs: this table kind takes checks for ${allowed.join(', ')}, not ${k}`);
    if (v !== undefined && typeof v !== 'function' && !(typeof v === 'string' && KINDS.has(v))) {
      throw new TypeError(`dbrs: a check must be 'string', 'number', 'bigint', 'boolean', 'bytes' or a function, not ${String(v)}`);
    }
  }
  return Object.freeze({ ...c });
}

/** Throws BadValue unless v passes c. where names the call and what ("users.insert: key"). */
export function runCheck(c: Check | undefined, v: unknown, where: string): void {
  if (c === undefined) return;
  let ok: boolean;
  let why = '';
  if (typeof c === 'function') {
    try {
      ok = c(v) === true;
    } catch (e) {
      ok = false;
      why = `: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!ok) throw new DbrsError('BadValue', `dbrs: ${where} ${show(v)} was refused by the table's check${why}`);
    return;
  }
  ok = c === 'bytes' ? v instanceof Uint8Array : typeof v === c;
  if (!ok) throw new DbrsError('BadValue', `dbrs: ${where} must be ${c === 'bytes' ? 'a Uint8Array' : `a ${c}`}, got ${show(v)}`);
}

/** A short readable form of a key or value for error messages. */
export function show(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
      if (Array.isArray(v)) return `[${v.slice(0, 5).map(show).join(', ')}${v.length > 5 ? ', ...' : ''}]`;
      return (v as object).constructor?.name === 'Object' ? 'an object' : `a ${(v as object).constructor?.name ?? 'object'}`;
  }
  return typeof v;
}
