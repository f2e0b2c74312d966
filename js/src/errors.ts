import type { BridgeErrorCode } from './bridge.js';

/**
 * Error codes a DbrsError can carry: every bridge code (see bridge.ts for
 * the Go error each comes from). The shim raises 'Index', 'BadValue',
 * 'ReadOnly', 'TxClosed', 'Closed' and 'Busy' itself too, before anything
 * crosses into Go.
 */
export type ErrorCode = BridgeErrorCode;

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'NotFound', 'Index', 'Empty', 'ReadOnly', 'Closed', 'TxClosed', 'Busy', 'Locked',
  'Quota', 'Abort', 'IDBUnknown', 'IDB', 'Corrupt', 'BadEntry', 'Schema',
  'UnknownTable', 'BadValue', 'TooLarge', 'Poisoned', 'Internal', 'Lost', 'Version',
  'Gap', 'Duplicate', 'MustReopen', 'Conflict',
]);

/**
 * The one error class of dbrs. `code` says what went wrong; branch on it,
 * not on the message. Messages start with "dbrs: ".
 *
 *     try { await db.tables.users.remove('bob') }
 *     catch (e) { if (e instanceof DbrsError && e.code === 'NotFound') ... }
 */
export class DbrsError extends Error {
  /** What went wrong. Stable across versions. */
  readonly code: ErrorCode;
  /** For 'Poisoned': the code of the failure that poisoned the database. */
  readonly causeCode?: ErrorCode;
  /** For 'Corrupt': the damaged segment's ID and the record's byte offset. */
  readonly segment?: number;
  readonly offset?: number;

  constructor(code: ErrorCode, message: string, extra?: { causeCode?: ErrorCode; segment?: number; offset?: number; cause?: unknown }) {
    super(message.startsWith('dbrs: ') ? message : 'dbrs: ' + message, extra?.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'DbrsError';
    this.code = code;
    if (extra?.causeCode !== undefined) this.causeCode = extra.causeCode;
    if (extra?.segment !== undefined) this.segment = extra.segment;
    if (extra?.offset !== undefined) this.offset = extra.offset;
  }
}

/** True if v is an Error-like object returned by the bridge instead of a result. */
export function isBridgeError(v: unknown): v is Error & { code?: unknown } {
  return v instanceof Error;
}

/**
 * Converts anything thrown or returned by the bridge into a DbrsError. An
 * Error without a known code (the Go program exited, a JS bug) becomes
 * 'Internal'. A DbrsError passes through unchanged.
 */
export function toDbrsError(e: unknown): DbrsError {
  if (e instanceof DbrsError) return e;
  if (e instanceof Error) {
    const o = e as Error & { code?: unknown; causeCode?: unknown; segment?: unknown; offset?: unknown };
    const code = typeof o.code === 'string' && CODES.has(o.code) ? (o.code as ErrorCode) : 'Internal';
    const extra: { causeCode?: ErrorCode; segment?: number; offset?: number; cause: unknown } = { cause: e };
    if (typeof o.causeCode === 'string' && CODES.has(o.causeCode)) extra.causeCode = o.causeCode as ErrorCode;
    if (typeof o.segment === 'number') extra.segment = o.segment;
    if (typeof o.offset === 'number') extra.offset = o.offset;
    return new DbrsError(code, o.message || 'dbrs: unknown error', extra);
  }
  return new DbrsError('Internal', 'dbrs: ' + String(e), { cause: e });
}
