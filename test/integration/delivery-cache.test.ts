/**
 * The segment cache against a real origin: one origin fetch per object however many players miss at
 * once, HEAD / Range / ETag answered from memory, objects over the cap streamed through, playlists held
 * at most their TTL (moved by the clock, never slept for) and rewritten per viewer.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createDelivery } from '../../src/delivery/index.ts';
import { createNodeOriginFetch, type NodeOriginFetch } from '../../src/delivery/node-fetch.ts';
import type { Delivery, LiveRequest } from '../../src/delivery/types.ts';
import { silentLogger } from '../../src/log.ts';
import { promMetrics } from '../../src/prom.ts';
import { liveRequest, serveObject } from '../helpers/delivery.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { waitFor } from '../helpers/net.ts';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY2N0LTEifQ.c2lnbmF0dXJl';

let a: FixtureOrigin;
let b: FixtureOrigin;
let fetcher: NodeOriginFetch;
let registry: Registry;
let delivery: Delivery;
let clock: ReturnType<typeof manualClock>;

/** 2 MB of deterministic bytes, the size of a real 4 s segment at 4 Mbps. */
const BIG = Uint8Array.from({ length: 2 * 1024 * 1024 }, (_, i) => (i * 31 + (i >> 11)) & 0xff);

function build(maxObjectBytes = 8 * 1024 * 1024) {
  delivery = createDelivery({
    origins: [a.url, b.url],
    mode: 'primary',
    fetch: fetcher,
    clock,
    metrics: promMetrics(registry),
    logger: silentLogger,
    keyPeriod: 10,
    cache: { maxBytes: 64 * 1024 * 1024, maxObjectBytes, segmentTtlMs: 60_000, playlistTtlMs: 1000 },
    timeouts: { firstByteMs: 1500 },
    healthIntervalMs: 0,
    publicOrigins: ['https://tv.example.com'],
  });
}

beforeEach(async () => {
  a = await startFixtureOrigin();
  b = await startFixtureOrigin();
  await a.put('demo/900.ts', BIG);
  fetcher = createNodeOriginFetch({ connectTimeoutMs: 500, firstByteTimeoutMs: 1500 });
  registry = new Registry();
  clock = manualClock();
  build();
});

afterEach(async () => {
  await delivery.close();
  await fetcher.close();
  await Promise.all([a.close(), b.close()]);
});

const live = liveRequest;
const get = (object: string, init: Partial<LiveRequest> = {}) => serveObject(delivery, object, init);

/** Byte comparison without a deep-equality walk over megabytes. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)).toBe(true);
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('coalescing', () => {
  it('100 concurrent requests for one uncached segment → exactly one origin fetch', async () => {
    const kinds: Partial<LiveRequest>[] = [
      {},
      { method: 'HEAD' },
      { headers: new Headers({ range: 'bytes=1000-1999' }) },
    ];
    const all = await Promise.all(Array.from({ length: 100 }, (_, i) => get('900.ts', kinds[i % 3])));
    expect(a.count('/live/demo/900.ts')).toBe(1);
    expect(b.count('/live/demo/900.ts')).toBe(0);
    all.forEach((res, i) => {
      const kind = i % 3;
      if (kind === 0) {
        expect(res.status).toBe(200);
        expectBytes(res.body, BIG);
      } else if (kind === 1) {
        expect(res.status).toBe(200);
        expect(res.headers.get('content-length')).toBe(String(BIG.byteLength));
        expect(res.body.byteLength).toBe(0);
      } else {
        expect(res.status).toBe(206);
        expectBytes(res.body, BIG.subarray(1000, 2000));
      }
    });
    expect(await counter('edge_cache_requests_total', { result: 'miss' })).toBe(1);
    expect(await counter('edge_cache_requests_total', { result: 'coalesced' })).toBe(99);
    expect(await counter('edge_cache_coalesced_waits_total', { outcome: 'served' })).toBe(99);
  });

  it('50 concurrent playlist requests → one origin fetch', async () => {
    const all = await Promise.all(Array.from({ length: 50 }, () => get('index.m3u8', { queryToken: TOKEN })));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(a.count('/live/demo/index.m3u8')).toBe(1);
  });

  it('concurrent requests for an object missing everywhere share the 404', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => get('555.ts')));
    expect(all.every((r) => r.code === 'not_found')).toBe(true);
    expect(a.count('/live/demo/555.ts')).toBe(1);
    expect(b.count('/live/demo/555.ts')).toBe(1);
  });
});

describe('answers from memory', () => {
  it('second request is a hit: same bytes, no origin fetch, ETag and caching headers', async () => {
    const miss = await get('900.ts');
    const hit = await get('900.ts');
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expectBytes(hit.body, BIG);
    expect(a.count('/live/demo/900.ts')).toBe(1);
    expect(hit.headers.get('content-type')).toBe('video/mp2t');
    expect(hit.headers.get('cache-control')).toBe('public, max-age=60');
    expect(hit.headers.get('etag')).toMatch(/^"[^"]+"$/);
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(await counter('edge_cache_bytes_total', { result: 'hit' })).toBe(BIG.byteLength);
  });

  it('a player hanging up mid-body on a miss does not stop the fill: the next request is a whole hit', async () => {
    const res = await delivery.serve(live('900.ts'));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).value?.byteLength).toBeGreaterThan(0);
    await reader.cancel();
    const hit = await waitFor(
      async () => {
        const r = await get('900.ts');
        return r.headers.get('x-cache') === 'HIT' ? r : undefined;
      },
      { what: 'the fill to land in the cache' },
    );
    expectBytes(hit.body, BIG);
    expect(a.count('/live/demo/900.ts')).toBe(1);
  });

  it('If-None-Match → 304 from memory', async () => {
    const first = await get('900.ts');
    const etag = first.headers.get('etag') as string;
    const res = await get('900.ts', { headers: new Headers({ 'if-none-match': etag }) });
    expect(res.status).toBe(304);
    expect(res.body.byteLength).toBe(0);
    expect(a.count('/live/demo/900.ts')).toBe(1);
  });

  it('Range forms from memory: a-b, a-, -n; invalid → 416 with bytes */len', async () => {
    await get('900.ts');
    const size = BIG.byteLength;
    const ask = (range: string) => get('900.ts', { headers: new Headers({ range }) });
    expectBytes((await ask('bytes=0-99')).body, BIG.subarray(0, 100));
    const open = await ask(`bytes=${size - 10}-`);
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expectBytes((await ask('bytes=-5')).body, BIG.subarray(size - 5));
    expect((await ask('bytes=0-1,5-9')).status).toBe(200);
    const bad = await ask(`bytes=${size}-`);
    expect(bad).toMatchObject({ status: 416, code: 'range_not_satisfiable' });
    expect(bad.headers.get('content-range')).toBe(`bytes */${size}`);
    expect((await ask('bytes=x-y')).status).toBe(416);
    expect(a.count('/live/demo/900.ts')).toBe(1);
  });

  it('segments expire after their TTL (clock moved, not slept)', async () => {
    await get('100.ts');
    clock.advance(59_999);
    await get('100.ts');
    expect(a.count('/live/demo/100.ts')).toBe(1);
    clock.advance(1);
    await get('100.ts');
    expect(a.count('/live/demo/100.ts')).toBe(2);
  });

  it('cache keys ignore the token and the viewer', async () => {
    await get('100.ts', { queryToken: TOKEN, sub: 'acct-1' });
    await get('100.ts', { queryToken: 'another.token.value', sub: 'acct-2' });
    await get('100.ts');
    expect(a.count('/live/demo/100.ts')).toBe(1);
  });
});

describe('objects over the per-object cap stream through', () => {
  beforeEach(async () => {
    await delivery.close();
    build(1024 * 1024);
  });

  it('GET streams the whole object and keeps nothing', async () => {
    const first = await get('900.ts');
    expect(first.status).toBe(200);
    expectBytes(first.body, BIG);
    expectBytes((await get('900.ts')).body, BIG);
    expect(a.count('/live/demo/900.ts')).toBe(2);
  });

  it('Range and HEAD go to the origin', async () => {
    const part = await get('900.ts', { headers: new Headers({ range: 'bytes=10-19' }) });
    expect(part.status).toBe(206);
    expectBytes(part.body, BIG.subarray(10, 20));
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${BIG.byteLength}`);
    expect(part.headers.get('x-cache')).toBe('BYPASS');
    const head = await get('900.ts', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(BIG.byteLength));
    const bad = await get('900.ts', { headers: new Headers({ range: 'bytes=99999999-' }) });
    expect(bad).toMatchObject({ status: 416, code: 'range_not_satisfiable' });
    const ranged = a.requests().filter((r) => r.headers.range);
    expect(ranged.map((r) => r.headers.range)).toContain('bytes=10-19');
  });
});

describe('with the cache off', () => {
  it('every request is proxied, nothing coalesced or kept', async () => {
    await delivery.close();
    delivery = createDelivery({
      origins: [a.url, b.url],
      mode: 'primary',
      fetch: fetcher,
      clock,
      metrics: promMetrics(registry),
      logger: silentLogger,
      keyPeriod: 10,
      cache: { maxBytes: 0, maxObjectBytes: 0, segmentTtlMs: 60_000, playlistTtlMs: 1000 },
      timeouts: { firstByteMs: 1500 },
      healthIntervalMs: 0,
    });
    const all = await Promise.all(Array.from({ length: 3 }, () => get('900.ts')));
    for (const res of all) expectBytes(res.body, BIG);
    const part = await get('900.ts', { headers: new Headers({ range: 'bytes=0-3' }) });
    expectBytes(part.body, BIG.subarray(0, 4));
    expect(a.count('/live/demo/900.ts')).toBe(4);
  });
});

describe('playlists', () => {
  it('rewritten for a query token: private, no referrer; shared form without it; one fetch per TTL', async () => {
    const mine = await get('index.m3u8', { queryToken: TOKEN });
    expect(mine.status).toBe(200);
    const text = new TextDecoder().decode(mine.body);
    expect(text).toContain(`\n100.ts?token=${TOKEN}\n`);
    expect(mine.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(mine.headers.get('cache-control')).toBe('private, max-age=1');
    expect(mine.headers.get('referrer-policy')).toBe('no-referrer');
    expect(mine.headers.get('content-length')).toBe(String(mine.body.byteLength));

    const shared = await get('index.m3u8');
    expect(new TextDecoder().decode(shared.body)).not.toContain('token=');
    expect(shared.headers.get('cache-control')).toBe('public, max-age=1');
    expect(shared.headers.get('referrer-policy')).toBe('no-referrer');
    expect(a.count('/live/demo/index.m3u8')).toBe(1);

    clock.advance(1000);
    await get('index.m3u8');
    expect(a.count('/live/demo/index.m3u8')).toBe(2);
  });

  it('HEAD gives the length of the rewritten playlist', async () => {
    const full = await get('index.m3u8', { queryToken: TOKEN });
    const head = await get('index.m3u8', { queryToken: TOKEN, method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(full.body.byteLength));
    expect(head.body.byteLength).toBe(0);
  });

  it('absolute URIs: the token goes to this gateway only, never to a foreign host', async () => {
    const master = [
      '#EXTM3U',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000',
      'https://tv.example.com/live/demo/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=400000',
      'https://elsewhere.example/live/demo/index.m3u8',
      '',
    ].join('\n');
    await a.put('demo/master.m3u8', master);
    const text = new TextDecoder().decode((await get('master.m3u8', { queryToken: TOKEN })).body);
    expect(text).toContain(`https://tv.example.com/live/demo/index.m3u8?token=${TOKEN}`);
    expect(text).toContain('\nhttps://elsewhere.example/live/demo/index.m3u8\n');
  });
});
