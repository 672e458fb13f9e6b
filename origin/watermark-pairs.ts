/**
 * A watermarked run writes two csv lists, one per variant, from two segment muxers fed by one split of the
 * same frames with the same forced keyframes: row n of A and row n of B describe the same interval. Rows are
 * paired by their file index; a segment is judged and published once both variants are finished.
 */
import type { Variant } from '../src/delivery/watermark-code.ts';
import type { SegmentRow } from './timeline.ts';

export type PairResult =
  | { kind: 'waiting' }
  | { kind: 'pair'; a: SegmentRow; b: SegmentRow }
  /** the two encoders cut this interval differently: neither file may be published */
  | { kind: 'mismatch'; a: SegmentRow; b: SegmentRow };

/** Cut times of twin rows agree to the csv's precision; anything more is a different interval. */
const TOLERANCE_SECONDS = 0.002;

export class VariantPairs {
  private readonly waiting = new Map<number, Partial<Record<Variant, SegmentRow>>>();

  add(variant: Variant, index: number, row: SegmentRow): PairResult {
    const entry = this.waiting.get(index) ?? {};
    entry[variant] = row;
    const { a, b } = entry;
    if (!a || !b) {
      this.waiting.set(index, entry);
      return { kind: 'waiting' };
    }
    this.waiting.delete(index);
    const same =
      Math.abs(a.start - b.start) <= TOLERANCE_SECONDS && Math.abs(a.end - b.end) <= TOLERANCE_SECONDS;
    return same ? { kind: 'pair', a, b } : { kind: 'mismatch', a, b };
  }
}
