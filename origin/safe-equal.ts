import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Constant-time equality of two secrets of any length: their SHA-256 digests are compared, so neither the
 * content nor the length of the expected value leaks through timing.
 */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Whether `presented` equals one of `keys` (several during a rotation); every key is compared. */
export function isKnownKey(presented: string, keys: readonly string[]): boolean {
  let ok = false;
  for (const k of keys) ok = safeEqual(presented, k) || ok;
  return ok;
}
