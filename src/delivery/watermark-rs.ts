/**
 * Reed-Solomon over GF(2^8) (primitive polynomial 0x11d, generator α = 2, first consecutive root α^0): the
 * error-correcting code that spreads a watermark account code over segment positions. Systematic encoding
 * (the data symbols come first); decoding corrects `t` errors and `e` erasures whenever 2t + e ≤ parity,
 * using Forney syndromes to fold the erasures in, Berlekamp-Massey for the error locator, a Chien search and
 * Forney's algorithm for the magnitudes. Polynomials are arrays of coefficients, highest degree first.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

function div(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero in GF(256)');
  return a === 0 ? 0 : EXP[(LOG[a]! + 255 - LOG[b]!) % 255]!;
}

/** α^power for any integer power (negative powers included). */
function alphaPow(power: number): number {
  return EXP[((power % 255) + 255) % 255]!;
}

function polyScale(p: readonly number[], s: number): number[] {
  return p.map((c) => mul(c, s));
}

function polyAdd(p: readonly number[], q: readonly number[]): number[] {
  const out = new Array<number>(Math.max(p.length, q.length)).fill(0);
  for (let i = 0; i < p.length; i++) out[i + out.length - p.length]! ^= p[i]!;
  for (let i = 0; i < q.length; i++) out[i + out.length - q.length]! ^= q[i]!;
  return out;
}

function polyMul(p: readonly number[], q: readonly number[]): number[] {
  const out = new Array<number>(p.length + q.length - 1).fill(0);
  for (let j = 0; j < q.length; j++) {
    for (let i = 0; i < p.length; i++) out[i + j]! ^= mul(p[i]!, q[j]!);
  }
  return out;
}

function polyEval(p: readonly number[], x: number): number {
  let y = p[0] ?? 0;
  for (let i = 1; i < p.length; i++) y = mul(y, x) ^ p[i]!;
  return y;
}

/** Remainder of `dividend` by a monic `divisor`. */
function polyRemainder(dividend: readonly number[], divisor: readonly number[]): number[] {
  const out = [...dividend];
  for (let i = 0; i <= dividend.length - divisor.length; i++) {
    const coef = out[i]!;
    if (coef === 0) continue;
    for (let j = 1; j < divisor.length; j++) out[i + j]! ^= mul(divisor[j]!, coef);
  }
  return out.slice(out.length - (divisor.length - 1));
}

export interface RsCode {
  /** data symbols */
  k: number;
  /** codeword symbols (≤ 255; shorter than 255 is a shortened code) */
  n: number;
}

function generator(parity: number): number[] {
  let g = [1];
  for (let i = 0; i < parity; i++) g = polyMul(g, [1, alphaPow(i)]);
  return g;
}

/** The codeword of `data` (length k): the data followed by n − k parity symbols. */
export function rsEncode(code: RsCode, data: Uint8Array): Uint8Array {
  if (data.length !== code.k) throw new RangeError(`expected ${code.k} data symbols, got ${data.length}`);
  const parity = polyRemainder(
    [...data, ...new Array<number>(code.n - code.k).fill(0)],
    generator(code.n - code.k),
  );
  const out = new Uint8Array(code.n);
  out.set(data);
  out.set(parity, code.k);
  return out;
}

export interface RsDecoded {
  data: Uint8Array;
  /** symbols that were wrong and are corrected */
  errors: number;
  /** symbols that were missing and are filled in */
  erasures: number;
}

/** Syndromes with a leading 0 (so index i holds r(α^(i−1))), the convention the evaluator below needs. */
function syndromes(received: readonly number[], parity: number): number[] {
  const s = [0];
  for (let i = 0; i < parity; i++) s.push(polyEval(received, alphaPow(i)));
  return s;
}

/** Syndromes with the erasures' contribution removed, so Berlekamp-Massey sees errors only. */
function forneySyndromes(synd: readonly number[], erasures: readonly number[], n: number): number[] {
  const f = synd.slice(1);
  for (const pos of erasures) {
    const x = alphaPow(n - 1 - pos);
    for (let j = 0; j < f.length - 1; j++) f[j] = mul(f[j]!, x) ^ f[j + 1]!;
  }
  return f;
}

function errorLocator(synd: readonly number[], steps: number): number[] {
  let loc = [1];
  let old = [1];
  for (let i = 0; i < steps; i++) {
    let delta = synd[i]!;
    for (let j = 1; j < loc.length && j <= i; j++) delta ^= mul(loc[loc.length - 1 - j]!, synd[i - j]!);
    old = [...old, 0];
    if (delta !== 0) {
      if (old.length > loc.length) {
        const next = polyScale(old, delta);
        old = polyScale(loc, div(1, delta));
        loc = next;
      }
      loc = polyAdd(loc, polyScale(old, delta));
    }
  }
  while (loc.length > 1 && loc[0] === 0) loc.shift();
  return loc;
}

/** Chien search: positions (indices into the codeword) whose locator root is present. */
function errorPositions(locator: readonly number[], n: number): number[] | undefined {
  const reversed = [...locator].reverse();
  const found: number[] = [];
  for (let i = 0; i < n; i++) if (polyEval(reversed, alphaPow(i)) === 0) found.push(n - 1 - i);
  return found.length === locator.length - 1 ? found : undefined;
}

/** Forney's algorithm: adds the magnitude of every erratum (error or erasure) at `positions`. */
function correct(received: number[], synd: readonly number[], positions: readonly number[]): void {
  const n = received.length;
  const coefPos = positions.map((p) => n - 1 - p);
  let locator = [1];
  for (const c of coefPos) locator = polyMul(locator, polyAdd([1], [alphaPow(c), 0]));
  const nu = locator.length - 1;
  const evaluator = polyRemainder(polyMul([...synd].reverse(), locator), [
    1,
    ...new Array<number>(nu + 1).fill(0),
  ]).reverse();
  const xs = coefPos.map((c) => alphaPow(c));
  xs.forEach((xi, i) => {
    const xiInv = div(1, xi);
    let prime = 1;
    xs.forEach((xj, j) => {
      if (j !== i) prime = mul(prime, 1 ^ mul(xiInv, xj));
    });
    const y = mul(xi, polyEval([...evaluator].reverse(), xiInv));
    received[positions[i]!]! ^= div(y, prime);
  });
}

/**
 * Decodes a received word (one symbol per position, `undefined` for an erasure). Undefined when the word is
 * not within the code's reach (more errata than the parity allows, or an inconsistent locator).
 */
export function rsDecode(code: RsCode, received: readonly (number | undefined)[]): RsDecoded | undefined {
  const { n, k } = code;
  const parity = n - k;
  if (received.length !== n) throw new RangeError(`expected ${n} symbols, got ${received.length}`);
  const erasures: number[] = [];
  const word = received.map((s, i) => {
    if (s === undefined) erasures.push(i);
    return s ?? 0;
  });
  if (erasures.length > parity) return undefined;
  const synd = syndromes(word, parity);
  if (erasures.length === 0 && synd.every((s) => s === 0)) {
    return { data: Uint8Array.from(word.slice(0, k)), errors: 0, erasures: 0 };
  }
  const locator = errorLocator(forneySyndromes(synd, erasures, n), parity - erasures.length);
  const errors = errorPositions(locator, n);
  if (!errors || 2 * errors.length + erasures.length > parity) return undefined;
  correct(word, synd, [...erasures, ...errors]);
  if (syndromes(word, parity).some((s) => s !== 0)) return undefined;
  return { data: Uint8Array.from(word.slice(0, k)), errors: errors.length, erasures: erasures.length };
}
