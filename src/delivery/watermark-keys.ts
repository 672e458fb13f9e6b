/**
 * Everything the forensic watermark derives from WATERMARK_SECRET, with WebCrypto only (runs on Node, Workers
 * and in the detector alike). One HMAC-SHA256 key, three domain-separated uses:
 * - the account code: the first 8 bytes of HMAC(secret, "account" ‖ sub) — the 64 bits a leak reveals;
 * - the mask: HMAC(secret, "mask" ‖ channel ‖ block) gives 256 pseudo-random bits per block of 256 sequence
 *   numbers, XORed onto the coded bits so the A/B sequence of every viewer looks random to whoever lacks the
 *   secret (two pirates comparing recordings learn nothing about the code layout);
 * - the pattern: HMAC(secret, "pattern" ‖ channel ‖ counter) fills the channel's grid of ±1 cells, the luma
 *   pattern the origin adds (variant A) or subtracts (variant B) and the detector correlates with.
 */

const LABEL = 'edge-gw/watermark/v1';
const encoder = new TextEncoder();

/** Bytes of the account code (K = 64 bits). */
export const ACCOUNT_CODE_BYTES = 8;
/** Sequence numbers covered by one mask block (one bit each). */
export const MASK_BLOCK = 256;

export type WatermarkKey = CryptoKey;

export function importWatermarkKey(secret: string): Promise<WatermarkKey> {
  if (secret.length < 16) throw new RangeError('WATERMARK_SECRET needs at least 16 characters');
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
}

async function prf(key: WatermarkKey, ...parts: string[]): Promise<Uint8Array> {
  // NUL-separated: no part of a valid input (channel ids, sequence numbers, labels) contains NUL, and a
  // sub that does cannot collide with another sub because the sub is the last part
  const message = encoder.encode([LABEL, ...parts].join('\0'));
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
}

/** The account's 64-bit code. */
export async function accountCode(key: WatermarkKey, sub: string): Promise<Uint8Array> {
  return (await prf(key, 'account', sub)).slice(0, ACCOUNT_CODE_BYTES);
}

/** Mask bits for sequence numbers `block × 256 … block × 256 + 255` of a channel, packed (read with `bitAt`). */
export function maskBlock(key: WatermarkKey, channel: string, block: number): Promise<Uint8Array> {
  return prf(key, 'mask', channel, String(block));
}

/** The channel's pattern cells, row-major, 1 for +1 and 0 for −1. */
export async function patternCells(key: WatermarkKey, channel: string, count: number): Promise<Uint8Array> {
  // each HMAC block gives 256 cells
  const bytes = new Uint8Array(Math.ceil(count / 256) * 32);
  for (let i = 0; i * 256 < count; i++) bytes.set(await prf(key, 'pattern', channel, String(i)), i * 32);
  return bitsOf(bytes, count);
}

/** Bit `i` of packed bytes, most significant bit first. */
export function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** The first `count` bits of `bytes`, one per array element. */
export function bitsOf(bytes: Uint8Array, count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => bitAt(bytes, i));
}
