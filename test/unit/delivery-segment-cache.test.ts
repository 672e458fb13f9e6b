import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { Flights } from '../../src/delivery/flights.ts';
import { SegmentCache } from '../../src/delivery/segment-cache.ts';

const MB = 1024 * 1024;

function cache(maxBytes: number, maxObjectBytes = maxBytes) {
  const clock = manualClock();
  const sizes: number[] = [];
  const c = new SegmentCache<Uint8Array>({
    maxBytes,
    maxObjectBytes,
    clock,
    sizeOf: (b) => b.byteLength,
    onSize: (n) => sizes.push(n),
  });
  return { c, clock, sizes };
}

describe('SegmentCache', () => {
  it('never holds more than its byte bound under a stream of distinct segments', () => {
    const { c, sizes } = cache(8 * MB, 4 * MB);
    let seed = 1;
    for (let seq = 0; seq < 500; seq++) {
      seed = (seed * 48271) % 2147483647;
      const size = 100_000 + (seed % (3 * MB));
      c.set(`demo/${seq}.ts`, new Uint8Array(size), 60_000);
      expect(c.bytes).toBeLessThanOrEqual(8 * MB);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8 * MB);
    expect(c.bytes).toBeGreaterThan(4 * MB);
    expect(c.get('demo/499.ts')).toBeDefined();
    expect(c.get('demo/0.ts')).toBeUndefined();
  });

  it('evicts the least recently used first', () => {
    const { c } = cache(3 * 1000 + 3 * 256 + 10);
    c.set('a', new Uint8Array(1000), 60_000);
    c.set('b', new Uint8Array(1000), 60_000);
    c.set('c', new Uint8Array(1000), 60_000);
    c.get('a');
    c.set('d', new Uint8Array(1000), 60_000);
    expect(c.get('a')).toBeDefined();
    expect(c.get('b')).toBeUndefined();
  });

  it('refuses objects over the per-object cap, and everything when disabled', () => {
    const { c } = cache(10 * MB, 1 * MB);
    expect(c.accepts(MB)).toBe(true);
    expect(c.set('big', new Uint8Array(MB + 1), 60_000)).toBe(false);
    expect(c.get('big')).toBeUndefined();
    const off = cache(0).c;
    expect(off.accepts(1)).toBe(false);
    expect(off.set('x', new Uint8Array(1), 60_000)).toBe(false);
    expect(off.get('x')).toBeUndefined();
  });

  it('expires entries by the injected clock', () => {
    const { c, clock } = cache(MB);
    c.set('demo/index.m3u8', new Uint8Array(10), 1000);
    clock.advance(999);
    expect(c.get('demo/index.m3u8')).toBeDefined();
    clock.advance(1);
    expect(c.get('demo/index.m3u8')).toBeUndefined();
    expect(c.bytes).toBe(0);
  });
});

describe('Flights (coalescing)', () => {
  it('one leader; joiners get its outcome', async () => {
    const f = new Flights<{ n: number }>();
    const land = f.lead('k');
    expect(land).toBeDefined();
    expect(f.lead('k')).toBeUndefined();
    const waits = Array.from({ length: 5 }, () => f.join('k', 10_000));
    land?.({ n: 7 });
    expect(await Promise.all(waits)).toEqual(Array(5).fill({ n: 7 }));
    expect(f.join('k', 10)).toBeUndefined();
    expect(f.size).toBe(0);
  });

  it('a joiner gives up after its bound; landing twice is harmless', async () => {
    const f = new Flights<{ n: number }>();
    const land = f.lead('k');
    expect(await f.join('k', 5)).toBe('timeout');
    land?.({ n: 1 });
    land?.({ n: 2 });
    expect(f.size).toBe(0);
  });
});
