/**
 * Every cache, table and queue a client can grow, filled past its bound (docs/hardening.md lists them
 * all): through HTTP where a request can reach it, through the module's public API where none can. Each
 * test shows the bound holding by its observable effect — the oldest entry is gone (a cache MISS, a
 * re-verification, a fresh rate-limit window, a forgotten record) while the newest is still there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { deriveChannelKey } from '../../src/delivery/keys.ts';
import { LiveWindow } from '../../src/delivery/live-window.ts';
import { promMetrics } from '../../src/prom.ts';
import { createSessionGuard } from '../../src/sessions/guard.ts';
import { MemorySessionStore } from '../../src/sessions/memory.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { type TestGateway, testGateway } from '../helpers/gateway.ts';
import { inProcessOrigin } from '../helpers/origin-app.ts';

let origin: FixtureOrigin;
beforeAll(async () => {
  origin = await startFixtureOrigin();
});
afterAll(async () => {
  await origin?.close();
});

/** The value of one Prometheus sample, e.g. `gateway_token_cache_total{result="hit"}`. */
async function sample(gw: TestGateway, series: string): Promise<number> {
  const text = await (await gw.get('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function withGateway(env: Record<string, string>, fn: (gw: TestGateway) => Promise<void>) {
  const gw = await testGateway({ ORIGINS: origin.url, ...env });
  try {
    await fn(gw);
  } finally {
    await gw.close();
  }
}

const consume = async (res: Response) => {
  await res.arrayBuffer();
  return res;
};

describe('gateway, through HTTP', () => {
  it('TOKEN_CACHE_SIZE: verified tokens past the bound are forgotten, oldest first', async () => {
    await withGateway({ TOKEN_CACHE_SIZE: '20', SESSION_MAX: '100' }, async (gw) => {
      const tokens = await Promise.all(Array.from({ length: 25 }, (_, i) => gw.mint({ sid: `s-${i}` })));
      for (const t of tokens)
        expect((await consume(await gw.get('/live/demo/100.ts', { token: t }))).status).toBe(200);
      const misses = await sample(gw, 'gateway_token_cache_total{result="miss"}');
      const hits = await sample(gw, 'gateway_token_cache_total{result="hit"}');
      await consume(await gw.get('/live/demo/100.ts', { token: tokens[24] }));
      expect(await sample(gw, 'gateway_token_cache_total{result="hit"}')).toBe(hits + 1);
      await consume(await gw.get('/live/demo/100.ts', { token: tokens[0] }));
      expect(await sample(gw, 'gateway_token_cache_total{result="miss"}')).toBe(misses + 1);
    });
  });

  it('the rejected-token cache holds max(1000, TOKEN_CACHE_SIZE/10) entries', async () => {
    await withGateway({ TOKEN_CACHE_SIZE: '20', RATE_AUTH_FAIL_PER_MIN: '1000000' }, async (gw) => {
      const bad = (i: number) => `not-a-jws-${i}`;
      for (let i = 0; i <= 1000; i++) await consume(await gw.get('/live/demo/100.ts', { token: bad(i) }));
      const negative = await sample(gw, 'gateway_token_cache_total{result="negative"}');
      await consume(await gw.get('/live/demo/100.ts', { token: bad(1000) }));
      expect(await sample(gw, 'gateway_token_cache_total{result="negative"}')).toBe(negative + 1);
      await consume(await gw.get('/live/demo/100.ts', { token: bad(0) }));
      expect(await sample(gw, 'gateway_token_cache_total{result="negative"}')).toBe(negative + 1);
    });
  });

  it('RATE_LIMIT_ENTRIES: the limiter keeps that many client windows, the least recent dropped', async () => {
    await withGateway({ RATE_LIMIT_ENTRIES: '100', RATE_AUTH_FAIL_PER_MIN: '1' }, async (gw) => {
      const fail = (peer: string) => gw.get('/live/demo/100.ts', { token: 'bad', peer });
      await consume(await fail('198.51.100.1'));
      expect((await consume(await fail('198.51.100.1'))).status).toBe(429);
      for (let i = 0; i < 100; i++) await consume(await fail(`203.0.113.${i}`));
      // its window was dropped: the address starts a fresh one (the memory bound, not a free pass: one try)
      expect((await consume(await fail('198.51.100.1'))).status).toBe(401);
      expect((await consume(await fail('203.0.113.99'))).status).toBe(429);
    });
  });

  it('SEGMENT_CACHE_BYTES: the segment cache never holds more bytes than its bound', async () => {
    // 9,400-byte segments plus 256 bytes of bookkeeping each: three fit in 30,000
    await withGateway({ SEGMENT_CACHE_BYTES: '30000' }, async (gw) => {
      const token = await gw.mint();
      for (const seq of [100, 101, 102, 103, 104])
        await consume(await gw.get(`/live/demo/${seq}.ts`, { token }));
      expect(await sample(gw, 'edge_cache_size_bytes')).toBeLessThanOrEqual(30_000);
      expect((await consume(await gw.get('/live/demo/104.ts', { token }))).headers.get('x-cache')).toBe(
        'HIT',
      );
      expect((await consume(await gw.get('/live/demo/100.ts', { token }))).headers.get('x-cache')).toBe(
        'MISS',
      );
    });
  });

  it('playlists: the cache (16 MiB) and the memory of served playlists are bounded in bytes', async () => {
    const media = (seq: number, pad: number) =>
      `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:${seq}\n${'#EXTINF:4.000,\n100.ts\n'.repeat(pad)}`;
    const big = 40_000; // ≈ 0.9 MB each: twenty are 18 MB
    await origin.put('demo/guarded.m3u8', media(500, 5));
    for (let i = 0; i < 20; i++) await origin.put(`demo/big${i}.m3u8`, media(1, big));
    await withGateway({}, async (gw) => {
      const token = await gw.mint();
      const get = async (name: string) => consume(await gw.get(`/live/demo/${name}.m3u8`, { token }));
      expect((await get('guarded')).status).toBe(200);
      for (let i = 0; i < 20; i++) expect((await get(`big${i}`)).status).toBe(200);
      // all within the playlist TTL: the newest is still cached, the oldest was evicted by bytes
      expect((await get('big19')).headers.get('x-cache')).toBe('HIT');
      expect((await get('big0')).headers.get('x-cache')).toBe('MISS');
      // the origin goes backwards on `guarded`: the gateway no longer remembers what it served there
      // (18 MB of newer playlists pushed it out), so it cannot hold the old position any more
      await origin.put('demo/guarded.m3u8', media(400, 5));
      gw.clock.advance(2_000);
      const now = await gw.get('/live/demo/guarded.m3u8', { token });
      expect(await now.text()).toContain('#EXT-X-MEDIA-SEQUENCE:400');
    });
  });
});

describe('gateway, through module APIs (no request reaches the bound alone)', () => {
  it('session guard: the local lease table holds maxLocalSessions sessions', async () => {
    const clock = manualClock();
    const registry = new Registry();
    const store = new MemorySessionStore({
      clock,
      policy: 'kick-oldest',
      idleSeconds: 20,
      refreshGraceSeconds: 60,
      tombstoneSeconds: 700,
    });
    const guard = createSessionGuard({
      store,
      clock,
      leaseMs: 2000,
      idleSeconds: 20,
      failure: 'closed',
      storeTimeoutMs: 250,
      maxLocalSessions: 50,
      metrics: promMetrics(registry),
    });
    const iat = Math.floor(clock.now() / 1000);
    for (let i = 0; i < 80; i++) await guard.admit({ sub: `acct-${i}`, sid: `s-${i}`, max: 1, iat });
    const local = await registry.getSingleMetric('gateway_sessions_local')?.get();
    expect(local?.values[0]?.value).toBeLessThanOrEqual(50);
    await guard.close();
  });

  it('memory session store: maxAccounts accounts, the least recently used forgotten', async () => {
    const clock = manualClock();
    const store = new MemorySessionStore({
      clock,
      policy: 'kick-oldest',
      idleSeconds: 20,
      refreshGraceSeconds: 60,
      tombstoneSeconds: 700,
      maxAccounts: 10,
    });
    const iat = Math.floor(clock.now() / 1000);
    for (let i = 0; i <= 10; i++) await store.admit({ sub: `acct-${i}`, sid: 's', max: 1, iat });
    expect(await store.list('acct-0')).toEqual([]);
    expect(await store.list('acct-10')).toHaveLength(1);
  });

  it('derived content keys: at most 4,096 memoised, the oldest dropped', async () => {
    const secret = { version: 'v9', secret: new Uint8Array(32).fill(9) };
    const first = deriveChannelKey(secret, 'bounds', 0);
    expect(deriveChannelKey(secret, 'bounds', 0)).toBe(first);
    for (let p = 1; p <= 4096; p++) await deriveChannelKey(secret, 'bounds', p);
    expect(deriveChannelKey(secret, 'bounds', 0)).not.toBe(first);
    expect(deriveChannelKey(secret, 'bounds', 4096)).toBe(deriveChannelKey(secret, 'bounds', 4096));
  });

  it('live window: 10,000 renditions and channels tracked, the least recent dropped', () => {
    const window = new LiveWindow(manualClock());
    for (let i = 0; i <= 10_000; i++) window.record(`ch${i}`, '', { mediaSequence: 100, segments: 5 });
    expect(window.edge('ch0', 60_000)).toBeUndefined();
    expect(window.edge('ch10000', 60_000)).toBe(104);
  });
});

describe('origin node, through its operator API', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'bounds-origin-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('channels (and so the start queue, metrics and publishers) are bounded by encoder capacity', async () => {
    const { app, manager } = inProcessOrigin({
      OPERATOR_API_KEY: 'operator-key-0123456789',
      DATA_DIR: dataDir,
      CPU_CAPACITY: '1',
    });
    const headers = { authorization: 'Bearer operator-key-0123456789', 'content-type': 'application/json' };
    const capacity = (await (await app.request('/v1/capacity', { headers })).json()).profiles['test-180p']
      .maxChannels;
    const statuses: number[] = [];
    for (let i = 0; i < Math.floor(capacity) + 5; i++) {
      const body = JSON.stringify({ id: `ch${i}`, input: 'udp://127.0.0.1:5000', profile: 'test-180p' });
      statuses.push((await app.request('/v1/channels', { method: 'POST', headers, body })).status);
    }
    expect(statuses.filter((s) => s === 202)).toHaveLength(Math.floor(capacity));
    expect(statuses.filter((s) => s === 409)).toHaveLength(5);
    expect(manager.list()).toHaveLength(Math.floor(capacity));
    expect(manager.queue.length).toBeLessThanOrEqual(Math.floor(capacity));
  });
});
