/**
 * The forensic mark as ffmpeg filters (SPEC §6). A channel's pattern is a keyed 32 × 18 grid of ±1 cells,
 * upscaled bicubically to the output size: a smooth, low-frequency luma relief that survives rescaling and
 * re-encoding. Variant A adds it to the decoded picture, variant B subtracts it, both from one split of the
 * same frames in one ffmpeg process, so the two encodes share every timestamp and keyframe.
 *
 * Amplitude: the relief is rounded to whole 8-bit levels at ±0.6 of its peak, so a pixel moves by −1, 0 or +1
 * and A and B differ by at most 2 levels: PSNR(A, B) ≈ 45.2 dB on luma before encoding (chroma untouched).
 *
 * Cost: the pattern is drawn once (a one-frame `color` source; `blend` keeps applying its last frame after
 * the source ends), so the per-frame work is two SIMD blends beside the two encodes.
 */
import { importWatermarkKey, patternCells } from '../src/delivery/watermark-keys.ts';

export const PATTERN_GRID = { columns: 32, rows: 18 } as const;
/** Peak of the relief, in 8-bit luma levels, before rounding. */
export const MARK_PEAK = 0.6;
/** The pattern is drawn at ±64 around mid-grey, so upscaling keeps sub-level precision until the rounding. */
export const DRAW_SCALE = 64;

export interface WatermarkPattern {
  /** row-major, 1 for a +1 cell, 0 for −1 */
  cells: Uint8Array;
}

export async function channelPattern(secret: string, channel: string): Promise<WatermarkPattern> {
  const key = await importWatermarkKey(secret);
  return { cells: await patternCells(key, channel, PATTERN_GRID.columns * PATTERN_GRID.rows) };
}

/**
 * geq expression of cell (X, Y), ±1: each row is one integer (bit X set for +1, exact in a double for 32
 * columns), picked by a chain of `if`s on Y.
 */
function cellExpr(pattern: WatermarkPattern): string {
  const { columns, rows } = PATTERN_GRID;
  const rowValue = (y: number) => {
    let v = 0;
    for (let x = 0; x < columns; x++) if (pattern.cells[y * columns + x]) v += 2 ** x;
    return v;
  };
  let chain = String(rowValue(rows - 1));
  for (let y = rows - 2; y >= 0; y--) chain = `if(eq(Y\\,${y})\\,${rowValue(y)}\\,${chain})`;
  return `(2*mod(floor((${chain})/pow(2\\,X))\\,2)-1)`;
}

/**
 * One frame of the smooth pattern at `width` × `height`, yuv420p, luma 128 ± 64 × relief, chroma 128. The
 * detector draws its template with this same source.
 */
export function patternSource(pattern: WatermarkPattern, width: number, height: number): string {
  const { columns, rows } = PATTERN_GRID;
  return [
    `color=c=black:s=${columns}x${rows}:r=1:d=1`,
    'format=yuv444p',
    `geq=lum='128+${DRAW_SCALE}*${cellExpr(pattern)}':cb=128:cr=128`,
    `scale=${width}:${height}:flags=bicubic`,
    'format=yuv420p',
  ].join(',');
}

/** Output labels of the two marked video streams in the filter graph. */
export const VARIANT_LABELS = { a: '[va]', b: '[vb]' } as const;

/**
 * The `-filter_complex` graph: the channel's video chain on the first video stream (it must end in yuv420p
 * frames at `width` × `height`), split into A = picture + mark and B = picture − mark.
 */
export function markGraph(
  videoChain: string,
  pattern: WatermarkPattern,
  width: number,
  height: number,
): string {
  const mark = `${patternSource(pattern, width, height)},lutyuv=y='128+round((val-128)*${MARK_PEAK}/${DRAW_SCALE})'`;
  return [
    `[0:v:0]${videoChain},split=2[wm_pic_a][wm_pic_b]`,
    `${mark},split=2[wm_mark_a][wm_mark_b]`,
    `[wm_pic_a][wm_mark_a]blend=all_mode=grainmerge${VARIANT_LABELS.a}`,
    `[wm_pic_b][wm_mark_b]blend=all_mode=grainextract${VARIANT_LABELS.b}`,
  ].join(';');
}
