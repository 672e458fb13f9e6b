/**
 * Delivery (SPEC §6): what happens to `/live/{channel}/{object}` once the app has authenticated the
 * request and admitted the session. Runtime-agnostic: the runtime entry supplies `fetch` (undici on Node,
 * `fetch` on Workers), the clock and the metrics registry. The Node `OriginFetch` lives in `node-fetch.ts`
 * and is imported by the Node entry only, so this module stays free of Node APIs.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { deliveryMetrics } from './delivery-metrics.ts';
import { KeyRoute } from './key-route.ts';
import type { ChannelKeySecret } from './keys.ts';
import { LiveWindow } from './live-window.ts';
import { OriginPool, type Scheduler } from './origin-pool.ts';
import { parseLiveObject } from './paths.ts';
import { MAX_PLAYLIST_BYTES, type Playlist, PlaylistRoute } from './playlist-route.ts';
import type { HeldObject } from './respond.ts';
import { SegmentCache } from './segment-cache.ts';
import { SegmentRoute } from './segment-route.ts';
import type { Delivery, OriginFetch } from './types.ts';
import { WatermarkSelect } from './watermark-select.ts';

export interface DeliveryDeps {
  /** origin base URLs, primary first */
  origins: string[];
  mode: 'primary' | 'round-robin';
  fetch: OriginFetch;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  originSecret?: string | undefined;
  /** CHANNEL_KEY_SECRET, current first; empty or absent: the key route answers 404 */
  channelKeys?: readonly ChannelKeySecret[];
  keyPeriod: number;
  /** WATERMARK_SECRET: picks each viewer's variant on watermarked channels (absent: those are not served) */
  watermarkSecret?: string | undefined;
  cache: {
    maxBytes: number;
    maxObjectBytes: number;
    segmentTtlMs: number;
    /** at most ~1 s (SPEC §6) */
    playlistTtlMs: number;
    /** longest a request waits for another's fetch of the same object; default 2 × firstByteMs + 2 s */
    coalesceWaitMs?: number;
  };
  /** the first-byte bound per origin attempt (the connect bound belongs to the `OriginFetch`) */
  timeouts: { firstByteMs: number };
  /** active health checks every so often; 0 disables them */
  healthIntervalMs: number;
  /** this gateway's public origins: absolute playlist URIs on them get the token like relative ones */
  publicOrigins?: readonly string[];
  /** replaces the interval timer of the health checks (tests) */
  scheduler?: Scheduler;
}

/** Memory for raw playlists (rewriting happens per request); a live playlist is a few KB. */
const PLAYLIST_CACHE_BYTES = 16 * 1024 * 1024;
/** How long a live edge learnt from a playlist is trusted by the key route. */
const EDGE_MAX_AGE_MS = 30_000;

export function createDelivery(deps: DeliveryDeps): Delivery {
  const metrics = deliveryMetrics(deps.metrics);
  const window = new LiveWindow(deps.clock);
  const coalesceWaitMs = deps.cache.coalesceWaitMs ?? 2 * deps.timeouts.firstByteMs + 2000;
  const pool = new OriginPool({
    origins: deps.origins,
    mode: deps.mode,
    fetch: deps.fetch,
    clock: deps.clock,
    metrics: deps.metrics,
    logger: deps.logger,
    originSecret: deps.originSecret,
    firstByteMs: deps.timeouts.firstByteMs,
    healthIntervalMs: deps.healthIntervalMs,
    ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
  });
  const objects = new SegmentCache<HeldObject>({
    maxBytes: deps.cache.maxBytes,
    maxObjectBytes: deps.cache.maxObjectBytes,
    clock: deps.clock,
    sizeOf: (o) => o.bytes.byteLength,
    onSize: (bytes) => metrics.cacheSize.set(bytes),
  });
  const mediaPlaylist = (channel: string, dir: string) =>
    parseLiveObject(channel, dir ? `${dir}/index.m3u8` : 'index.m3u8');
  const watermark = new WatermarkSelect({
    secret: deps.watermarkSecret,
    loadPlaylist: async (channel, dir, requestId) =>
      (await playlists.load(channel, mediaPlaylist(channel, dir), requestId)).playlist.text,
    logger: deps.logger,
  });
  const playlists = new PlaylistRoute({
    pool,
    cache: new SegmentCache<Playlist>({
      maxBytes: PLAYLIST_CACHE_BYTES,
      maxObjectBytes: MAX_PLAYLIST_BYTES,
      clock: deps.clock,
      sizeOf: (p) => p.text.length,
    }),
    window,
    clock: deps.clock,
    metrics,
    ttlMs: deps.cache.playlistTtlMs,
    coalesceWaitMs,
    sameOrigins: deps.publicOrigins ?? [],
    onMediaPlaylist: (channel, dir, text) => watermark.observe(channel, dir, text),
  });
  const segments = new SegmentRoute({
    pool,
    cache: objects,
    window,
    metrics,
    ttlMs: deps.cache.segmentTtlMs,
    coalesceWaitMs,
  });
  const keys = new KeyRoute({
    channelKeys: deps.channelKeys ?? [],
    keyPeriod: deps.keyPeriod,
    liveEdge: async (channel, dir, requestId) => {
      const known = window.edge(channel, EDGE_MAX_AGE_MS);
      if (known !== undefined) return known;
      const { playlist } = await playlists.load(channel, mediaPlaylist(channel, dir), requestId);
      return playlist.position && playlist.position.mediaSequence + playlist.position.segments - 1;
    },
  });

  return {
    async serve(req) {
      const obj = parseLiveObject(req.channel, req.object);
      if (obj.kind === 'key') return keys.serve(req, obj);
      if (obj.kind === 'playlist') return playlists.serve(req, obj);
      return watermark.serve(req, obj, (o) => segments.serve(req, o));
    },
    health: () => pool.health(),
    async close() {
      pool.close();
      objects.clear();
    },
  };
}

export { corsFor } from './cors.ts';
export type { LiveObject } from './paths.ts';
export { parseLiveObject } from './paths.ts';
export type { Delivery, LiveRequest, OriginFetch } from './types.ts';
