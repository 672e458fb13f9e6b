/**
 * origin/watermark-measure.ts on a few seconds of the test picture: the figures it reports are the ones the
 * mark is designed for (PSNR A/B ≥ 45 dB on luma before encoding, chroma untouched) and the A/B encode costs
 * more CPU than a plain one.
 */
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../origin/profiles.ts';
import { measureMark } from '../../origin/watermark-measure.ts';

describe('watermark-measure', () => {
  it('reports the mark PSNR, the encoded PSNRs and the CPU of A/B against plain', async () => {
    const m = await measureMark({ profile: PROFILES['test-180p']!, seconds: 3, encoder: 'libx264' });
    expect(m.markPsnr.y).toBeGreaterThanOrEqual(45);
    expect(m.markPsnr.u).toBe(Number.POSITIVE_INFINITY);
    expect(m.markPsnr.v).toBe(Number.POSITIVE_INFINITY);
    expect(m.encodedPsnr.y).toBeGreaterThan(30);
    // the mark costs fidelity far below the codec's own loss
    expect(Math.abs(m.vsSource.a - m.vsSource.plain)).toBeLessThan(1);
    expect(m.cpu.ab).toBeGreaterThan(m.cpu.plain);
  }, 60_000);
});
