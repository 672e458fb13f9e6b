/**
 * The watermark code (shared by gateway, origin and detector): key derivation test vectors — checkable with
 * `openssl dgst -sha256 -hmac` — that pin what every recording already made depends on, the Reed-Solomon
 * codec up to its correction limit, and the properties the detector's confidence rests on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/delivery/keys.ts';
import {
  CODE_POSITIONS,
  codeword,
  positionOf,
  variantOf,
  WATERMARK_CODE,
} from '../../src/delivery/watermark-code.ts';
import {
  accountCode,
  importWatermarkKey,
  maskBlock,
  patternCells,
} from '../../src/delivery/watermark-keys.ts';
import { rsDecode, rsEncode } from '../../src/delivery/watermark-rs.ts';
import { VariantChooser } from '../../src/delivery/watermark-variants.ts';

const SECRET = 'watermark-secret-for-tests-0123';

describe('derivation from WATERMARK_SECRET (test vectors)', () => {
  it('account code = HMAC-SHA256(secret, "edge-gw/watermark/v1\\0account\\0" + sub)[0..8]', async () => {
    const key = await importWatermarkKey(SECRET);
    expect(bytesToHex(await accountCode(key, 'acct-x'))).toBe('4769f7061dc9a500');
  });

  it('codeword = the code followed by 24 RS parity bytes (GF(256)/0x11d, generator 2, first root α^0)', async () => {
    const key = await importWatermarkKey(SECRET);
    expect(bytesToHex(codeword(await accountCode(key, 'acct-x')))).toBe(
      '4769f7061dc9a5001665eaad2613e109fd33bdc58828bfe81a67a7644c0f51aa',
    );
  });

  it('mask block = HMAC-SHA256(secret, "edge-gw/watermark/v1\\0mask\\0" + channel + "\\0" + block)', async () => {
    const key = await importWatermarkKey(SECRET);
    expect(bytesToHex(await maskBlock(key, 'wm', 3))).toBe(
      '84d2278f1625249e7995e38a6f24981b411d7ab1452b15784c153d9b93d2d454',
    );
  });

  it('pattern cells come from the "pattern" PRF of the channel, one bit per cell', async () => {
    const key = await importWatermarkKey(SECRET);
    const cells = await patternCells(key, 'wm', 32 * 18);
    expect(cells).toHaveLength(576);
    expect(cells.slice(0, 32).join('')).toBe('11001011010001000000010101111000');
    const other = await patternCells(key, 'news', 32 * 18);
    expect(other.filter((c, i) => c !== cells[i]).length).toBeGreaterThan(200);
  });

  it('refuses a secret shorter than 16 characters', () => {
    expect(() => importWatermarkKey('short')).toThrow(/16 characters/);
  });
});

describe('Reed-Solomon RS(32, 8) over GF(256)', () => {
  const words = fc.record({
    data: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    erasures: fc.integer({ min: 0, max: 24 }),
    seed: fc.integer(),
  });

  it('corrects any t errors and e erasures with 2t + e ≤ 24', () => {
    fc.assert(
      fc.property(words, fc.integer({ min: 0, max: 12 }), ({ data, erasures, seed }, wantErrors) => {
        const errors = Math.min(wantErrors, Math.floor((24 - erasures) / 2));
        const cw = rsEncode(WATERMARK_CODE, data);
        const order = shuffle([...Array(32).keys()], seed);
        const received: (number | undefined)[] = [...cw];
        order.slice(0, erasures).forEach((p) => {
          received[p] = undefined;
        });
        order.slice(erasures, erasures + errors).forEach((p, i) => {
          received[p] = cw[p]! ^ (1 + ((seed + i * 37) & 0xfe));
        });
        const decoded = rsDecode(WATERMARK_CODE, received);
        expect(decoded && bytesToHex(decoded.data)).toBe(bytesToHex(data));
        expect(decoded?.errors).toBe(errors);
        expect(decoded?.erasures).toBe(erasures);
      }),
      { numRuns: 500 },
    );
  });

  it('gives up on more erasures than parity symbols, and on wrong lengths', () => {
    const cw = rsEncode(WATERMARK_CODE, new Uint8Array(8).fill(7));
    const received: (number | undefined)[] = [...cw];
    for (let i = 0; i < 25; i++) received[i] = undefined;
    expect(rsDecode(WATERMARK_CODE, received)).toBeUndefined();
    expect(() => rsDecode(WATERMARK_CODE, [1, 2, 3])).toThrow(RangeError);
    expect(() => rsEncode(WATERMARK_CODE, new Uint8Array(9))).toThrow(RangeError);
  });
});

describe('variant sequences', () => {
  it('segment seq carries codeword position seq mod 256', () => {
    expect(CODE_POSITIONS).toBe(256);
    expect(positionOf(1_795_617_069)).toBe(1_795_617_069 % 256);
  });

  it('the gateway chooser agrees with the layout, and a sequence is balanced', async () => {
    const key = await importWatermarkKey(SECRET);
    const chooser = new VariantChooser({ secret: SECRET });
    const cw = codeword(await accountCode(key, 'acct-x'));
    let a = 0;
    for (let seq = 4096; seq < 4096 + 1024; seq++) {
      const v = await chooser.variant('acct-x', 'wm', seq);
      expect(v).toBe(variantOf(cw, await maskBlock(key, 'wm', Math.floor(seq / 256)), seq));
      if (v === 'a') a++;
    }
    expect(a).toBeGreaterThan(440);
    expect(a).toBeLessThan(584);
  });

  it('the mask hides the code: an account repeats its codeword, not its variant sequence', async () => {
    const chooser = new VariantChooser({ secret: SECRET });
    const first: string[] = [];
    const second: string[] = [];
    for (let i = 0; i < 256; i++) {
      first.push(await chooser.variant('acct-x', 'wm', 256 * 10 + i));
      second.push(await chooser.variant('acct-x', 'wm', 256 * 11 + i));
    }
    expect(first.filter((v, i) => v !== second[i]).length).toBeGreaterThan(80);
  });
});

/** Deterministic Fisher-Yates driven by a linear congruential generator. */
function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  for (let i = items.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
