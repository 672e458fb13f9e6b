import { describe, expect, it } from 'vitest';
import { ifNoneMatchHits, ifRangeHolds, parseRange } from '../../src/delivery/ranges.ts';
import { computeEtag, type HeldObject, respondWithObject } from '../../src/delivery/respond.ts';
import { ApiError } from '../../src/errors.ts';

describe('parseRange', () => {
  it.each([
    [null, 100, { kind: 'full' }],
    ['', 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=90-500', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=99-99', 100, { kind: 'partial', start: 99, end: 99 }],
    ['Bytes = 5 - 6', 100, { kind: 'partial', start: 5, end: 6 }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['items=0-5', 100, { kind: 'full' }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=9-5', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    ['bytes=abc', 100, { kind: 'unsatisfiable' }],
    ['bytes=', 100, { kind: 'unsatisfiable' }],
    ['bytes=-', 100, { kind: 'unsatisfiable' }],
    ['bytes=1-2-3', 100, { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', 100, { kind: 'unsatisfiable' }],
  ] as const)('%j of %i bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('validators', () => {
  it('If-None-Match: weak comparison, lists and *', () => {
    expect(ifNoneMatchHits('"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('W/"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('"x", "a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('*', '"a"')).toBe(true);
    expect(ifNoneMatchHits('"b"', '"a"')).toBe(false);
    expect(ifNoneMatchHits(null, '"a"')).toBe(false);
  });
  it('If-Range: an ETag must match exactly, a date must equal Last-Modified', () => {
    const lm = 'Wed, 25 Nov 2026 12:00:00 GMT';
    expect(ifRangeHolds(null, '"a"', lm)).toBe(true);
    expect(ifRangeHolds('"a"', '"a"', lm)).toBe(true);
    expect(ifRangeHolds('W/"a"', '"a"', lm)).toBe(false);
    expect(ifRangeHolds(lm, '"a"', lm)).toBe(true);
    expect(ifRangeHolds('Thu, 26 Nov 2026 12:00:00 GMT', '"a"', lm)).toBe(false);
  });
});

describe('respondWithObject', () => {
  const bytes = new Uint8Array(Array.from({ length: 100 }, (_, i) => i));
  const held: HeldObject = { bytes, etag: '"e1"', lastModified: undefined, contentType: 'video/mp2t' };
  const ask = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
    respondWithObject(
      held,
      { method, headers: new Headers(headers) },
      { 'cache-control': 'public, max-age=60' },
    );

  it('GET: 200 with the bytes, length, ETag and Accept-Ranges', async () => {
    const res = ask();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('100');
    expect(res.headers.get('etag')).toBe('"e1"');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });
  it('HEAD: the same headers, no body', async () => {
    const res = ask({}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('100');
    expect(res.body).toBeNull();
  });
  it('Range: 206 with Content-Range and exactly those bytes', async () => {
    const res = ask({ range: 'bytes=10-19' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 10-19/100');
    expect(res.headers.get('content-length')).toBe('10');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });
  it('Range with a stale If-Range: the whole object', () => {
    expect(ask({ range: 'bytes=10-19', 'if-range': '"old"' }).status).toBe(200);
    expect(ask({ range: 'bytes=10-19', 'if-range': '"e1"' }).status).toBe(206);
  });
  it('unsatisfiable Range: 416 range_not_satisfiable with Content-Range bytes */len', () => {
    try {
      ask({ range: 'bytes=500-' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('range_not_satisfiable');
      expect((err as ApiError).headers).toEqual({ 'content-range': 'bytes */100' });
    }
  });
  it('If-None-Match: 304 without a body, ETag kept', () => {
    const res = ask({ 'if-none-match': '"e1"' });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"e1"');
    expect(res.body).toBeNull();
  });
  it('computed ETags are strong, stable and differ with the bytes', async () => {
    const a = await computeEtag(bytes);
    expect(a).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await computeEtag(bytes)).toBe(a);
    expect(await computeEtag(bytes.subarray(1))).not.toBe(a);
  });
});
