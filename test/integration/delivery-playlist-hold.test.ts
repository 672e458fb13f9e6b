/**
 * How long the gateway serves a live playlist from memory: the configured TTL, but never more than half the
 * target duration, so players of short-segment channels see each new segment promptly (the browser E2E
 * saw a 1 s hold on 1 s segments empty a three-segment buffer). The clock is moved, never slept for.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createDelivery } from '../../src/delivery/index.ts';
import { createNodeOriginFetch, type NodeOriginFetch } from '../../src/delivery/node-fetch.ts';
import type { Delivery } from '../../src/delivery/types.ts';
import { silentLogger } from '../../src/log.ts';
import { promMetrics } from '../../src/prom.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';

const PLAYLIST_TTL_MS = 1000;

let origin: FixtureOrigin;
let fetcher: NodeOriginFetch;
let delivery: Delivery;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  origin = await startFixtureOrigin();
  fetcher = createNodeOriginFetch({ connectTimeoutMs: 500, firstByteTimeoutMs: 1500 });
  clock = manualClock();
  delivery = createDelivery({
    origins: [origin.url],
    mode: 'primary',
    fetch: fetcher,
    clock,
    metrics: promMetrics(new Registry()),
    logger: silentLogger,
    keyPeriod: 10,
    cache: {
      maxBytes: 8 * 1024 * 1024,
      maxObjectBytes: 1024 * 1024,
      segmentTtlMs: 60_000,
      playlistTtlMs: PLAYLIST_TTL_MS,
    },
    timeouts: { firstByteMs: 1500 },
    healthIntervalMs: 0,
    publicOrigins: [],
  });
});

afterEach(async () => {
  await delivery.close();
  await fetcher.close();
  await origin.close();
});

const playlist = (targetDuration: number) =>
  [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    '#EXT-X-MEDIA-SEQUENCE:100',
    `#EXTINF:${targetDuration}.000,`,
    '100.ts',
    '',
  ].join('\n');

/** Serves the playlist at each of `times` (ms from the first request); origin fetches so far after each. */
async function originFetchesAt(times: number[]): Promise<number[]> {
  const counts: number[] = [];
  let now = 0;
  for (const t of times) {
    clock.advance(t - now);
    now = t;
    const res = await delivery.serve({
      channel: 'demo',
      object: 'index.m3u8',
      method: 'GET',
      headers: new Headers(),
      queryToken: undefined,
      sub: 'acct-1',
      requestId: 'req-1',
    });
    await res.arrayBuffer();
    counts.push(origin.count('/live/demo/index.m3u8'));
  }
  return counts;
}

describe('a live playlist is held at most half its target duration', () => {
  it('1 s segments: held 500 ms, not the 1 s TTL', async () => {
    await origin.put('demo/index.m3u8', playlist(1));
    expect(await originFetchesAt([0, 499, 500, 999, 1000])).toEqual([1, 1, 2, 2, 3]);
  });

  it('4 s segments: half the target is longer than the TTL, so the TTL applies', async () => {
    await origin.put('demo/index.m3u8', playlist(4));
    expect(await originFetchesAt([0, 999, 1000])).toEqual([1, 1, 2]);
  });

  it('a master playlist (no target duration) is held the TTL', async () => {
    await origin.put('demo/index.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nlow/index.m3u8\n');
    expect(await originFetchesAt([0, 999, 1000])).toEqual([1, 1, 2]);
  });
});
