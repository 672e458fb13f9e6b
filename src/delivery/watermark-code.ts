/**
 * How an account code becomes a sequence of A/B variants (SPEC §6). The 64-bit code is Reed-Solomon encoded
 * (RS(32, 8) over GF(256): 24 parity symbols, so a recording that covers part of the codeword, or got some
 * segments wrong, still decodes) into 256 bits; segment `seq` carries codeword bit `seq mod 256`, XORed with
 * the channel's keyed mask bit for `seq`. Bits of one symbol sit on consecutive segments, so a lost stretch of
 * recording or a scene that hides the mark for a while costs whole symbols, which is what RS corrects best.
 * Bit 1 is variant A (pattern added), bit 0 variant B (pattern subtracted).
 */

import { ACCOUNT_CODE_BYTES, bitAt, MASK_BLOCK } from './watermark-keys.ts';
import { rsEncode } from './watermark-rs.ts';

export const WATERMARK_CODE = { k: ACCOUNT_CODE_BYTES, n: 32 } as const;
/**
 * The media playlist tag by which an origin declares a watermarked rendition (`#EXT-X-EDGE-WATERMARK:AB`):
 * its segments exist as `{seq}.a.ts` / `{seq}.b.ts` only, and the gateway serves one of them as `{seq}.ts`.
 */
export const WATERMARK_TAG = '#EXT-X-EDGE-WATERMARK';
/** Segment positions one codeword spans (8 bits per symbol). */
export const CODE_POSITIONS = WATERMARK_CODE.n * 8;

export type Variant = 'a' | 'b';

/** The codeword of an account code, packed (32 bytes; bit `p` belongs to position `p`). */
export function codeword(code: Uint8Array): Uint8Array {
  return rsEncode(WATERMARK_CODE, code);
}

export function positionOf(seq: number): number {
  return seq % CODE_POSITIONS;
}

export function maskBlockOf(seq: number): number {
  return Math.floor(seq / MASK_BLOCK);
}

/** The coded bit segment `seq` carries (before the mask). */
export function codeBitAt(packedCodeword: Uint8Array, seq: number): number {
  return bitAt(packedCodeword, positionOf(seq));
}

/** The variant a viewer with this codeword gets for `seq`, given the channel's mask block holding `seq`. */
export function variantOf(packedCodeword: Uint8Array, mask: Uint8Array, seq: number): Variant {
  return (codeBitAt(packedCodeword, seq) ^ bitAt(mask, seq % MASK_BLOCK)) === 1 ? 'a' : 'b';
}
