/**
 * Origin A/B failover inside one client request, against two real origin servers on loopback: killed,
 * hung, refusing, failing and lagging primaries; what the origins receive (secret yes, token never).
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createDelivery } from '../../src/delivery/index.ts';
import { createNodeOriginFetch, type NodeOriginFetch } from '../../src/delivery/node-fetch.ts';
import type { Scheduler } from '../../src/delivery/origin-pool.ts';
import type { Delivery, LiveRequest } from '../../src/delivery/types.ts';
import { silentLogger } from '../../src/log.ts';
import { promMetrics } from '../../src/prom.ts';
import { serveObject } from '../helpers/delivery.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { waitFor } from '../helpers/net.ts';

const SECRET = 'origin-secret-0123456789';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY2N0LTEifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const FIRST_BYTE_MS = 400;

let a: FixtureOrigin;
let b: FixtureOrigin;
let fetcher: NodeOriginFetch;
let registry: Registry;
let delivery: Delivery;
let clock: ReturnType<typeof manualClock>;
let runHealthChecks: () => void;

/** Node-specific bytes for a segment, as real nodes produce (same timing, different encoder history). */
const segmentOf = (node: string, seq: number) =>
  new TextEncoder().encode(`${node}:${seq}:`.padEnd(4096, node));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function build(opts: { mode?: 'primary' | 'round-robin'; origins?: string[] } = {}) {
  const scheduler: Scheduler = {
    every(_ms, fn) {
      runHealthChecks = fn;
      return () => {};
    },
  };
  delivery = createDelivery({
    origins: opts.origins ?? [a.url, b.url],
    mode: opts.mode ?? 'primary',
    fetch: fetcher,
    clock,
    metrics: promMetrics(registry),
    logger: silentLogger,
    originSecret: SECRET,
    keyPeriod: 10,
    cache: {
      maxBytes: 64 * 1024 * 1024,
      maxObjectBytes: 8 * 1024 * 1024,
      segmentTtlMs: 60_000,
      playlistTtlMs: 1000,
    },
    timeouts: { firstByteMs: FIRST_BYTE_MS },
    healthIntervalMs: 1000,
    scheduler,
  });
}

beforeEach(async () => {
  a = await startFixtureOrigin({ secret: SECRET });
  b = await startFixtureOrigin({ secret: SECRET });
  for (let seq = 200; seq < 240; seq++) {
    await a.put(`demo/${seq}.ts`, segmentOf('A', seq));
    await b.put(`demo/${seq}.ts`, segmentOf('B', seq));
  }
  fetcher = createNodeOriginFetch({ connectTimeoutMs: 500, firstByteTimeoutMs: FIRST_BYTE_MS });
  registry = new Registry();
  clock = manualClock();
  build();
});

afterEach(async () => {
  await delivery.close();
  await fetcher.close();
  await Promise.all([a.close(), b.close()]);
});

const get = (object: string, init: Partial<LiveRequest> = {}) => serveObject(delivery, object, init);

async function failovers(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('edge_origin_failovers_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('failover inside the request', () => {
  it('primary killed mid-test: every request is still 200 with the right bytes', async () => {
    for (let seq = 200; seq < 240; seq++) {
      if (seq === 215) await a.kill();
      const res = await get(`${seq}.ts`);
      expect(res.status, `segment ${seq}`).toBe(200);
      expect(text(res.body)).toBe(text(segmentOf(seq < 215 ? 'A' : 'B', seq)));
    }
    expect(a.count('/live/demo/214.ts')).toBe(1);
    expect(b.count('/live/demo/214.ts')).toBe(0);
    expect(b.count('/live/demo/215.ts')).toBe(1);
    expect((await failovers('reset')) + (await failovers('connect'))).toBe(1);
    expect(delivery.health()).toEqual([
      { url: a.url, healthy: false },
      { url: b.url, healthy: true },
    ]);
  });

  it('primary hung (accepts, never answers): served by B, and A costs nothing afterwards', async () => {
    a.setMode('hang');
    const first = await get('200.ts');
    expect(first.status).toBe(200);
    expect(text(first.body)).toBe(text(segmentOf('B', 200)));
    expect(a.count('/live/demo/200.ts')).toBe(1);
    expect(await failovers('timeout')).toBe(1);
    const second = await get('201.ts');
    expect(text(second.body)).toBe(text(segmentOf('B', 201)));
    expect(a.count('/live/demo/201.ts')).toBe(0);
  });

  it('primary refusing connections: served by B; once marked down it is not tried first', async () => {
    await a.kill();
    for (const seq of [200, 201, 202]) {
      const res = await get(`${seq}.ts`);
      expect(text(res.body)).toBe(text(segmentOf('B', seq)));
    }
    expect(await failovers('connect')).toBe(1);
  });

  it('primary answering 5xx: served by B', async () => {
    a.setMode('error');
    const res = await get('200.ts');
    expect(res.status).toBe(200);
    expect(text(res.body)).toBe(text(segmentOf('B', 200)));
    expect(await failovers('status')).toBe(1);
  });

  it('primary with a wrong secret (403) is an origin failure, not a client error', async () => {
    const wrong = await startFixtureOrigin({ secret: 'another-secret-9876543210' });
    try {
      await delivery.close();
      build({ origins: [wrong.url, b.url] });
      const res = await get('200.ts');
      expect(res.status).toBe(200);
      expect(text(res.body)).toBe(text(segmentOf('B', 200)));
      expect(wrong.count('/live/demo/200.ts')).toBe(1);
    } finally {
      await wrong.close();
    }
  });

  it('both refusing: 502 origin_unavailable', async () => {
    await Promise.all([a.kill(), b.kill()]);
    expect(await get('200.ts')).toMatchObject({ status: 502, code: 'origin_unavailable' });
    expect(await get('index.m3u8')).toMatchObject({ status: 502, code: 'origin_unavailable' });
  });

  it('both hung: 504 origin_timeout; one hung and one refusing: 502', async () => {
    a.setMode('hang');
    b.setMode('hang');
    expect(await get('200.ts')).toMatchObject({ status: 504, code: 'origin_timeout' });
    await b.kill();
    expect(await get('201.ts')).toMatchObject({ status: 502, code: 'origin_unavailable' });
  });

  it('both back after an outage: served again, no restart needed', async () => {
    await Promise.all([a.kill(), b.kill()]);
    expect((await get('200.ts')).status).toBe(502);
    await b.revive();
    expect(text((await get('200.ts')).body)).toBe(text(segmentOf('B', 200)));
  });
});

describe('404 and the live window', () => {
  it('a 404 for a segment inside the window is asked of the other node', async () => {
    expect((await get('index.m3u8')).status).toBe(200); // window: 100–104
    await a.remove('demo/103.ts');
    const res = await get('103.ts');
    expect(res.status).toBe(200);
    expect(a.count('/live/demo/103.ts')).toBe(1);
    expect(b.count('/live/demo/103.ts')).toBe(1);
    expect(await failovers('not_found')).toBe(1);
  });

  it('a segment ahead of the window (a node a little behind) is asked of the other node too', async () => {
    expect((await get('index.m3u8')).status).toBe(200);
    await b.put('demo/105.ts', segmentOf('B', 105));
    const res = await get('105.ts');
    expect(text(res.body)).toBe(text(segmentOf('B', 105)));
  });

  it('a segment that left the window is a plain 404, not asked twice', async () => {
    expect((await get('index.m3u8')).status).toBe(200);
    expect(await get('99.ts')).toMatchObject({ status: 404, code: 'not_found' });
    expect(a.count('/live/demo/99.ts')).toBe(1);
    expect(b.count('/live/demo/99.ts')).toBe(0);
  });

  it('missing on both nodes: 404 not_found', async () => {
    expect(await get('104.m4s')).toMatchObject({ status: 404, code: 'not_found' });
    expect(b.count('/live/demo/104.m4s')).toBe(1);
  });

  it('a playlist missing on the primary (channel not started there yet) comes from the other node', async () => {
    await a.remove('demo/index.m3u8');
    expect((await get('index.m3u8')).status).toBe(200);
    expect(b.count('/live/demo/index.m3u8')).toBe(1);
  });
});

describe('playlists are never served backwards', () => {
  const playlist = (ms: number) =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:${ms}\n${[0, 1, 2]
      .map((i) => `#EXTINF:4.000,\n${ms + i}.ts\n`)
      .join('')}`;

  it('a node that fell behind is passed over; when no node is newer, the newest served is answered', async () => {
    await a.put('demo/live.m3u8', playlist(300));
    await b.put('demo/live.m3u8', playlist(300));
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:300');

    await a.put('demo/live.m3u8', playlist(298));
    await b.put('demo/live.m3u8', playlist(301));
    clock.advance(1000);
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:301');
    expect(await failovers('behind')).toBe(1);

    await b.put('demo/live.m3u8', playlist(299));
    clock.advance(1000);
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:301');

    // B is down and A is behind: still the newest known, not A's older list
    await b.kill();
    clock.advance(1000);
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:301');
  });

  it('after the horizon a restarted channel with lower numbers is accepted', async () => {
    await a.put('demo/live.m3u8', playlist(300));
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:300');
    await a.put('demo/live.m3u8', playlist(5));
    await b.put('demo/live.m3u8', playlist(5));
    clock.advance(1000);
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:300');
    clock.advance(31_000);
    expect(text((await get('live.m3u8')).body)).toContain('MEDIA-SEQUENCE:5');
  });

  it('a malformed playlist from one node is passed over; from both it is a 502', async () => {
    await a.put('demo/index.m3u8', '<html><body>oops</body></html>');
    const res = await get('index.m3u8');
    expect(res.status).toBe(200);
    expect(text(res.body)).toContain('#EXT-X-MEDIA-SEQUENCE:100');
    expect(await failovers('malformed')).toBe(1);
    await b.put('demo/index.m3u8', new Uint8Array([0x47, 0x00, 0xff, 0xfe]));
    clock.advance(1000);
    expect(await get('index.m3u8')).toMatchObject({ status: 502, code: 'origin_unavailable' });
  });
});

describe('health checks', () => {
  it('a node failing /healthz goes to the back of the queue, and comes back when it passes', async () => {
    a.setMode('error');
    runHealthChecks();
    await waitFor(() => delivery.health()[0]?.healthy === false, { what: 'A marked unhealthy' });
    a.setMode('serve');
    a.clearRequests();
    expect(text((await get('200.ts')).body)).toBe(text(segmentOf('B', 200)));
    expect(a.count('/live/demo/200.ts')).toBe(0);
    runHealthChecks();
    await waitFor(() => delivery.health()[0]?.healthy === true, { what: 'A healthy again' });
    expect(text((await get('201.ts')).body)).toBe(text(segmentOf('A', 201)));
  });

  it('checks carry the origin secret', async () => {
    runHealthChecks();
    await waitFor(() => a.count('/healthz') > 0 && b.count('/healthz') > 0, { what: 'health checks' });
    for (const r of [...a.requests(), ...b.requests()]) expect(r.headers['x-origin-secret']).toBe(SECRET);
  });
});

describe('what an origin receives', () => {
  it('the secret on every request; never the token, the cookie, the Authorization or a query', async () => {
    const headers = new Headers({
      authorization: `Bearer ${TOKEN}`,
      cookie: `edge_token=${TOKEN}; theme=dark`,
      'x-forwarded-for': '203.0.113.7',
      range: 'bytes=0-9',
    });
    for (const object of ['index.m3u8', '100.ts', '101.ts', 'key/v1/0.key']) {
      await get(object, { queryToken: TOKEN, headers });
    }
    await a.kill();
    await get('102.ts', { queryToken: TOKEN, headers });
    const seen = [...a.requests(), ...b.requests()].filter((r) => r.url.startsWith('/live/'));
    expect(seen.length).toBeGreaterThanOrEqual(4);
    const dump = JSON.stringify(seen);
    expect(dump).not.toContain(TOKEN.split('.')[2]);
    expect(dump).not.toContain('edge_token');
    expect(dump).not.toContain('203.0.113.7');
    for (const r of seen) {
      expect(r.url).not.toContain('?');
      expect(r.url).not.toContain('/key/');
      expect(r.headers['x-origin-secret']).toBe(SECRET);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
    }
  });
});

describe('round-robin', () => {
  it('spreads misses over both nodes', async () => {
    await delivery.close();
    build({ mode: 'round-robin' });
    for (let seq = 200; seq < 210; seq++) expect((await get(`${seq}.ts`)).status).toBe(200);
    const onA = a.requests().filter((r) => r.url.startsWith('/live/')).length;
    const onB = b.requests().filter((r) => r.url.startsWith('/live/')).length;
    expect(onA).toBe(5);
    expect(onB).toBe(5);
  });
});
