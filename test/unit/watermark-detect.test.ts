/**
 * The detector's decision rule on synthetic evidence (no video): it names the account whose variants the
 * evidence follows, recovers the code blindly from a long enough recording, and never names anyone from
 * evidence that follows no account — the bound it prints is a real bound.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Evidence, log10BinomialTail } from '../../origin/detect/decide.ts';
import { accountCode, importWatermarkKey } from '../../src/delivery/watermark-keys.ts';
import { VariantChooser } from '../../src/delivery/watermark-variants.ts';

const SECRET = 'watermark-secret-for-tests-0123';
const key = await importWatermarkKey(SECRET);
const chooser = new VariantChooser({ secret: SECRET });
const CANDIDATES = ['alice', 'bob', 'carol', 'dave'];
const FIRST = 1_795_617_069;

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Evidence that follows `sub`'s variants, with a fraction of segments flipped and noisy amplitudes. */
async function evidenceOf(sub: string, count: number, flipped: number, seed: number): Promise<Evidence[]> {
  const rnd = random(seed);
  const out: Evidence[] = [];
  for (let i = 0; i < count; i++) {
    const v = await chooser.variant(sub, 'wm', FIRST + i);
    const sign = (v === 'a' ? 1 : -1) * (rnd() < flipped ? -1 : 1);
    out.push({ index: FIRST + i, soft: sign * (0.1 + rnd()) });
  }
  return out;
}

const run = (evidence: Evidence[], opts: { candidates?: string[]; bases?: number[] } = {}) =>
  decide({
    key,
    channel: 'wm',
    evidence,
    bases: opts.bases ?? [0],
    candidates: opts.candidates ?? CANDIDATES,
    alpha: 1e-6,
  });

describe('binomial tail', () => {
  it('is exact', () => {
    expect(log10BinomialTail(10, 10)).toBeCloseTo(-10 * Math.log10(2), 10);
    expect(10 ** log10BinomialTail(10, 9)).toBeCloseTo(11 / 1024, 12);
    expect(log10BinomialTail(64, 0)).toBe(0);
    expect(10 ** log10BinomialTail(4, 2)).toBeCloseTo(11 / 16, 12);
    expect(log10BinomialTail(64, 64)).toBeCloseTo(-19.27, 2);
  });
});

describe('naming', () => {
  it('names the account from 64 segments with 15 % of them wrong', async () => {
    const v = await run(await evidenceOf('carol', 64, 0.15, 1));
    expect(v.named?.sub).toBe('carol');
    expect(v.named!.log10Chance).toBeLessThan(-6);
  });

  it('finds the alignment of a recording file among the hypotheses, and pays for them', async () => {
    const evidence = (await evidenceOf('bob', 64, 0.05, 2)).map((e) => ({ ...e, index: e.index - FIRST }));
    const bases = Array.from({ length: 18 }, (_, i) => FIRST - 6 + i);
    const aligned = await run(evidence, { bases });
    expect(aligned.named?.sub).toBe('bob');
    expect(aligned.base).toBe(FIRST);
    const single = await run(evidence, { bases: [FIRST] });
    expect(aligned.named!.log10Chance - single.named!.log10Chance).toBeCloseTo(Math.log10(18), 6);
  });

  it('names nobody from evidence that follows no account (2 000 random recordings)', async () => {
    let lowest = 0;
    let underOnePercent = 0;
    for (let seed = 0; seed < 2_000; seed++) {
      const rnd = random(seed + 100);
      const evidence = Array.from({ length: 64 }, (_, i) => ({ index: FIRST + i, soft: rnd() - 0.5 }));
      const v = await run(evidence);
      expect(v.named).toBeUndefined();
      expect(v.recovered).toBeUndefined();
      lowest = Math.min(lowest, v.best!.log10Chance);
      if (v.best!.log10Chance <= -2) underOnePercent++;
    }
    // a bound that holds: at most ~1 % of draws print a chance ≤ 1 %, and none comes near alpha
    expect(underOnePercent).toBeLessThanOrEqual(40);
    expect(lowest).toBeGreaterThan(-5);
  });

  it('names nobody from another account’s recording when that account is not a candidate', async () => {
    const v = await run(await evidenceOf('mallory', 128, 0, 3));
    expect(v.named).toBeUndefined();
  });

  it('names nobody from a long recording (8 codeword cycles) of an account missing from 200 candidates', async () => {
    // each position comes round 8 times; counted per segment, codewords that happen to agree a little more
    // than half would look overwhelming — votes are per position
    const v = await run(await evidenceOf('mallory', 2048, 0, 8), {
      candidates: Array.from({ length: 200 }, (_, i) => `user-${i}`),
    });
    expect(v.named).toBeUndefined();
    expect(v.best!.of).toBe(256);
    expect(v.best!.log10Chance).toBeGreaterThan(-4);
  });

  it('needs at least 16 judged segments', async () => {
    const v = await run(await evidenceOf('alice', 15, 0, 4));
    expect(v.named).toBeUndefined();
  });
});

describe('blind recovery of the account code', () => {
  it('recovers the 64-bit code from a whole codeword with 3 % of segments wrong, with no candidates', async () => {
    const v = await run(await evidenceOf('dave', 256, 0.03, 5), { candidates: [] });
    const code = Buffer.from(await accountCode(key, 'dave')).toString('hex');
    expect(v.recovered?.code).toBe(code);
    expect(v.named).toBeUndefined();
  });

  it('recovers it from a partial codeword (120 segments: 15 of 32 symbols), and matches it to a candidate', async () => {
    const v = await run(await evidenceOf('alice', 120, 0, 6));
    expect(v.recovered).toMatchObject({ sub: 'alice', errors: 0 });
    expect(v.recovered!.erasures).toBeGreaterThanOrEqual(17);
  });

  it('does not guess a code from too little evidence (80 segments)', async () => {
    const v = await run(await evidenceOf('alice', 80, 0, 7), { candidates: [] });
    expect(v.recovered).toBeUndefined();
  });
});
