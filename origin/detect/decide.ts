/**
 * From per-segment A/B evidence to an account, with a false-accusation bound that holds whatever the video.
 *
 * Votes: the evidence of each segment is unmasked (the keyed mask bit of its sequence number) and summed per
 * position of the 256-bit codeword, so a position is one vote however often a long recording sees it. That
 * matters: another account's codeword agrees or disagrees with a candidate's at a position every time the
 * position comes round, so repeats carry no new evidence about who it is.
 *
 * Naming (candidates given): each vote agrees with the candidate's codeword bit or not, and counts with a
 * weight that grows with its strength (|vote|, clipped at the 90th percentile, in 8 steps). For an unmarked or
 * unrelated video the votes' signs are fair coins independent of their strengths (the mask randomises them),
 * so the weighted score is a sum of ±weight with fair signs: its exact tail is computed by convolution. For
 * another account's recording the agreement is that of two RS codewords of independent random codes, which
 * behave like fair coins too (and differ in at least 25 of 32 symbols). The chance is multiplied by every
 * hypothesis tried (candidates × alignments of a recording file), and an account is named only when that
 * bound is under `alpha`. Weighting keeps weak, often wrong votes from drowning strong ones: after a re-encode
 * it gains 2–3 orders of magnitude over counting agreements.
 *
 * Recovery (no candidate needed): the votes are Reed-Solomon decoded with generalised minimum distance: the
 * least reliable symbols are erased one by one until a decoding succeeds. Four parity symbols are held back
 * from correction, so a random word decodes by chance with probability below ~2^-32 per attempt.
 */
import {
  CODE_POSITIONS,
  codeword,
  maskBlockOf,
  positionOf,
  WATERMARK_CODE,
} from '../../src/delivery/watermark-code.ts';
import {
  accountCode,
  bitAt,
  MASK_BLOCK,
  maskBlock,
  type WatermarkKey,
} from '../../src/delivery/watermark-keys.ts';
import { type RsDecoded, rsDecode } from '../../src/delivery/watermark-rs.ts';

/** Parity symbols kept for detecting a wrong decoding rather than correcting. */
const RS_MARGIN = 4;
/** Weight steps of the weighted score, and the quantile of |amplitude| that gets the full weight. */
const WEIGHT_STEPS = 8;
const FULL_WEIGHT_QUANTILE = 0.9;
/** Fewer judged segments than this cannot name anyone with any confidence. */
export const MIN_SEGMENTS = 16;

export interface Evidence {
  /** segment index: the sequence number itself, or its offset from the recording's first segment */
  index: number;
  /** signed mark amplitude: > 0 variant A, < 0 variant B */
  soft: number;
}

export interface CandidateScore {
  sub: string;
  /** codeword positions whose vote agrees with the candidate's bit (unweighted, for reading) */
  agree: number;
  /** codeword positions voted on */
  of: number;
  /** log10 of the bound on the chance that an unrelated recording scores this well (all hypotheses counted) */
  log10Chance: number;
}

export interface Recovered {
  /** the 64-bit account code, hex */
  code: string;
  errors: number;
  erasures: number;
  /** sub of a candidate with this code, if any */
  sub?: string;
}

export interface Verdict {
  judged: number;
  /** sequence number of index 0 under the chosen alignment (0 when indices are sequence numbers) */
  base: number;
  named?: CandidateScore;
  best?: CandidateScore;
  recovered?: Recovered;
}

const LOG10_2 = Math.log10(2);

/** log10 P(X ≥ k) for X ~ Binomial(n, 1/2), exact (summed in log space). */
export function log10BinomialTail(n: number, k: number): number {
  if (k <= 0) return 0;
  if (k > n) return Number.NEGATIVE_INFINITY;
  let logC = 0;
  const terms: number[] = [];
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log10((n - i + 1) / i);
    if (i >= k) terms.push(logC);
  }
  const top = Math.max(...terms);
  return top + Math.log10(terms.reduce((a, t) => a + 10 ** (t - top), 0)) - n * LOG10_2;
}

class Masks {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  private readonly key: WatermarkKey;
  private readonly channel: string;

  constructor(key: WatermarkKey, channel: string) {
    this.key = key;
    this.channel = channel;
  }

  async bit(seq: number): Promise<number> {
    const block = maskBlockOf(seq);
    let m = this.blocks.get(block);
    if (!m) {
      m = maskBlock(this.key, this.channel, block);
      this.blocks.set(block, m);
    }
    return bitAt(await m, seq % MASK_BLOCK);
  }
}

/** The summed, unmasked evidence for one codeword position: > 0 votes for bit 1. */
interface Vote {
  position: number;
  value: number;
}

/** Integer weight per vote from its strength; independent of any candidate. */
function weigh(softs: readonly number[]): number[] {
  const sorted = softs.map(Math.abs).sort((a, b) => a - b);
  const full = sorted[Math.min(sorted.length - 1, Math.floor(FULL_WEIGHT_QUANTILE * sorted.length))] ?? 0;
  return softs.map((s) => (full > 0 ? Math.round(WEIGHT_STEPS * Math.min(1, Math.abs(s) / full)) : 0));
}

/**
 * log10 P(Σ ε_k w_k ≥ score) for independent fair signs ε_k: the exact null distribution of the weighted
 * score, by convolution (weights are small integers, so this is a few million additions for hours of video).
 */
function nullTail(weights: readonly number[]): (score: number) => number {
  const total = weights.reduce((a, w) => a + w, 0);
  let dist = new Float64Array(2 * total + 1);
  dist[total] = 1;
  for (const w of weights) {
    if (w === 0) continue;
    const next = new Float64Array(dist.length);
    for (let i = w; i < dist.length - w; i++) {
      const p = dist[i]!;
      if (p === 0) continue;
      next[i + w]! += p / 2;
      next[i - w]! += p / 2;
    }
    dist = next;
  }
  // tail[i] = P(score ≥ i − total)
  const tail = new Float64Array(dist.length + 1);
  for (let i = dist.length - 1; i >= 0; i--) tail[i] = tail[i + 1]! + dist[i]!;
  return (score) => {
    const at = score + total;
    if (at <= 0) return 0;
    return Math.max(MIN_LOG10, Math.log10(tail[Math.min(at, tail.length - 1)]!));
  };
}

/** Below any probability worth printing; what an underflowed tail reads as. */
const MIN_LOG10 = -300;

function score(
  sub: string,
  cw: Uint8Array,
  votes: readonly Vote[],
  weights: readonly number[],
  tail: (score: number) => number,
  trials: number,
): CandidateScore {
  let agree = 0;
  let weighted = 0;
  votes.forEach((v, i) => {
    const same = (v.value > 0 ? 1 : 0) === bitAt(cw, v.position);
    if (same) agree++;
    weighted += same ? weights[i]! : -weights[i]!;
  });
  const log10Chance = Math.min(0, tail(weighted) + Math.log10(trials));
  return { sub, agree, of: votes.length, log10Chance };
}

/** Generalised minimum distance decoding of the votes. */
function recover(votes: readonly Vote[]): RsDecoded | undefined {
  const byPosition = new Map(votes.map((v) => [v.position, v.value]));
  const symbols: (number | undefined)[] = [];
  const present: { at: number; reliability: number }[] = [];
  for (let j = 0; j < WATERMARK_CODE.n; j++) {
    let value = 0;
    let reliability = Number.POSITIVE_INFINITY;
    for (let b = 0; b < 8 && value >= 0; b++) {
      const e = byPosition.get(j * 8 + b);
      if (e === undefined) value = -1;
      else {
        value = (value << 1) | (e > 0 ? 1 : 0);
        reliability = Math.min(reliability, Math.abs(e));
      }
    }
    symbols.push(value < 0 ? undefined : value);
    if (value >= 0) present.push({ at: j, reliability });
  }
  present.sort((x, y) => x.reliability - y.reliability);
  const parity = WATERMARK_CODE.n - WATERMARK_CODE.k;
  for (let extra = 0; present.length - extra >= WATERMARK_CODE.k + RS_MARGIN; extra++) {
    const word = [...symbols];
    for (const p of present.slice(0, extra)) word[p.at] = undefined;
    const decoded = rsDecode(WATERMARK_CODE, word);
    if (decoded && 2 * decoded.errors + decoded.erasures <= parity - RS_MARGIN) return decoded;
  }
  return undefined;
}

/** Unmasked evidence summed per codeword position, for the alignment `base`; zero sums carry no vote. */
async function votesOf(masks: Masks, evidence: readonly Evidence[], base: number): Promise<Vote[]> {
  const sums = new Array<number>(CODE_POSITIONS).fill(0);
  const seen = new Array<boolean>(CODE_POSITIONS).fill(false);
  for (const e of evidence) {
    const seq = base + e.index;
    const at = positionOf(seq);
    sums[at]! += (await masks.bit(seq)) ? -e.soft : e.soft;
    seen[at] = true;
  }
  return sums.flatMap((value, position) => (seen[position] && value !== 0 ? [{ position, value }] : []));
}

export interface DecideInput {
  key: WatermarkKey;
  channel: string;
  evidence: readonly Evidence[];
  /** sequence numbers index 0 may stand for (one value when indices are sequence numbers already) */
  bases: readonly number[];
  candidates: readonly string[];
  /** largest accepted chance of naming an unrelated account */
  alpha: number;
}

export async function decide(input: DecideInput): Promise<Verdict> {
  const masks = new Masks(input.key, input.channel);
  const codewords = await Promise.all(
    input.candidates.map(async (sub) => ({ sub, cw: codeword(await accountCode(input.key, sub)) })),
  );
  const trials = Math.max(1, input.candidates.length) * input.bases.length;
  const judged = input.evidence.length;
  let verdict: Verdict | undefined;
  for (const base of input.bases) {
    const votes = await votesOf(masks, input.evidence, base);
    const weights = weigh(votes.map((v) => v.value));
    const tail = nullTail(weights);
    const scores = codewords.map((c) => score(c.sub, c.cw, votes, weights, tail, trials));
    const best = scores.reduce<CandidateScore | undefined>(
      (b, s) => (!b || s.log10Chance < b.log10Chance ? s : b),
      undefined,
    );
    const decoded = judged >= MIN_SEGMENTS ? recover(votes) : undefined;
    const here: Verdict = { judged, base, ...(best ? { best } : {}) };
    if (best && judged >= MIN_SEGMENTS && best.log10Chance <= Math.log10(input.alpha)) here.named = best;
    if (decoded) {
      const code = Buffer.from(decoded.data).toString('hex');
      const match = await matchCode(input.key, input.candidates, decoded.data);
      here.recovered = {
        code,
        errors: decoded.errors,
        erasures: decoded.erasures,
        ...(match ? { sub: match } : {}),
      };
    }
    if (!verdict || rank(here) > rank(verdict)) verdict = here;
  }
  return verdict ?? { judged: 0, base: input.bases[0] ?? 0 };
}

/** Prefers a named account, then a recovered code, then the strongest best candidate. */
function rank(v: Verdict): number {
  return (v.named ? 2e6 : 0) + (v.recovered ? 1e6 : 0) - (v.best?.log10Chance ?? 0);
}

async function matchCode(key: WatermarkKey, candidates: readonly string[], code: Uint8Array) {
  for (const sub of candidates) {
    const own = await accountCode(key, sub);
    if (own.every((b, i) => b === code[i])) return sub;
  }
  return undefined;
}
