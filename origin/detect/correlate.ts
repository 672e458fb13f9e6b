/**
 * A or B, per segment, from the recording alone (no original video). Each segment's mean picture is the
 * content plus or minus the mark. The content is estimated from the neighbouring segments — their marks
 * are independent random signs, so they cancel in the average while the slowly changing scene does not —
 * and subtracted; what remains is correlated with the keyed pattern. Pixels where the scene keeps moving
 * are noisy for every segment, so each pixel is weighted by the inverse of its residual power over the
 * whole recording (a whitening matched filter).
 *
 * The result per segment is the estimated signed amplitude of the mark in luma levels: positive is
 * variant A (pattern added), negative is B.
 */
import { ANALYSIS_PIXELS, type FrameSum } from './luma.ts';

/** Neighbours on each side whose average stands for the content of a segment. */
export const CONTENT_WINDOW = 12;
/** Fewer neighbours than this and the content estimate is too poor to judge the segment. */
const MIN_NEIGHBOURS = 2;
/** Floor of a pixel's residual power (levels²), so a perfectly still pixel does not take all the weight. */
const POWER_FLOOR = 0.25;

/** Signed mark amplitude per segment index, for the segments that could be judged. */
export function correlate(sums: ReadonlyMap<number, FrameSum>, pattern: Float64Array): Map<number, number> {
  const means = new Map<number, Float64Array>();
  for (const [index, s] of sums)
    means.set(
      index,
      s.sum.map((v) => v / s.frames),
    );
  const residuals = new Map<number, Float64Array>();
  for (const [index, mean] of means) {
    const content = new Float64Array(ANALYSIS_PIXELS);
    let n = 0;
    for (let j = index - CONTENT_WINDOW; j <= index + CONTENT_WINDOW; j++) {
      const other = j === index ? undefined : means.get(j);
      if (!other) continue;
      for (let i = 0; i < ANALYSIS_PIXELS; i++) content[i]! += other[i]!;
      n++;
    }
    if (n < MIN_NEIGHBOURS) continue;
    residuals.set(
      index,
      mean.map((v, i) => v - content[i]! / n),
    );
  }
  const weights = new Float64Array(ANALYSIS_PIXELS);
  for (const r of residuals.values()) for (let i = 0; i < ANALYSIS_PIXELS; i++) weights[i]! += r[i]! * r[i]!;
  let norm = 0;
  for (let i = 0; i < ANALYSIS_PIXELS; i++) {
    weights[i] = 1 / (weights[i]! / Math.max(1, residuals.size) + POWER_FLOOR);
    norm += weights[i]! * pattern[i]! * pattern[i]!;
  }
  const out = new Map<number, number>();
  for (const [index, r] of residuals) {
    let c = 0;
    for (let i = 0; i < ANALYSIS_PIXELS; i++) c += weights[i]! * r[i]! * pattern[i]!;
    out.set(index, c / norm);
  }
  return out;
}
