/**
 * Input checks every SessionStore runs before touching its storage, so a bad claim or path parameter is
 * refused with a message that names it and nothing is written. `sub` and `sid` are opaque strings, bounded
 * so keys and ZSET members stay small, and well-formed so two different strings never encode to the same
 * UTF-8 bytes (a lone surrogate would become U+FFFD and alias another account).
 */
import type { SessionStoreOptions } from './types.ts';

export const MAX_ID_BYTES = 128;
export const MAX_STREAMS_PER_ACCOUNT = 100;

export class SessionInputError extends Error {
  readonly field: string;

  constructor(field: string, why: string) {
    super(`${field} ${why}`);
    this.name = 'SessionInputError';
    this.field = field;
  }
}

const CONTROL = /[\u0000-\u001f\u007f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u`). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const utf8 = new TextEncoder();

export function checkId(field: 'sub' | 'sid', value: unknown): string {
  if (typeof value !== 'string') throw new SessionInputError(field, 'must be a string');
  // every UTF-16 unit is at least one UTF-8 byte: reject long input before encoding it
  if (value.length === 0 || value.length > MAX_ID_BYTES || utf8.encode(value).length > MAX_ID_BYTES)
    throw new SessionInputError(field, `must be 1-${MAX_ID_BYTES} bytes`);
  if (LONE_SURROGATE.test(value)) throw new SessionInputError(field, 'must be well-formed Unicode');
  if (CONTROL.test(value)) throw new SessionInputError(field, 'must not contain control characters');
  return value;
}

export function checkMax(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_STREAMS_PER_ACCOUNT)
    throw new SessionInputError('max', `must be an integer 1-${MAX_STREAMS_PER_ACCOUNT}`);
  return value;
}

/** `iat` in seconds since the epoch, as in the token. */
export function checkIat(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new SessionInputError('iat', 'must be a non-negative number of seconds');
  return value;
}

/** The test-only explicit time, in ms; `undefined` means the store's own clock. */
export function checkNow(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new SessionInputError('now', 'must be a non-negative integer of milliseconds');
  return value;
}

export function checkStoreOptions(opts: SessionStoreOptions): void {
  if (opts.policy !== 'kick-oldest' && opts.policy !== 'deny-new')
    throw new SessionInputError('policy', 'must be kick-oldest or deny-new');
  for (const field of ['idleSeconds', 'refreshGraceSeconds', 'tombstoneSeconds'] as const) {
    const v = opts[field];
    if (!Number.isInteger(v) || v < 0 || v > 30 * 86_400)
      throw new SessionInputError(field, 'must be a whole number of seconds, 0-2592000');
  }
  if (opts.idleSeconds < 1) throw new SessionInputError('idleSeconds', 'must be at least 1');
}
