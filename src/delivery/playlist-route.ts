/**
 * Playlists: fetched through the pool (one fetch per playlist per TTL, concurrent misses coalesced),
 * validated, never served backwards, and rewritten per request when the token came in the query.
 *
 * Backwards protection: per playlist the gateway remembers the newest position it served. A node that fell
 * behind (lower media sequence, or an earlier last segment) is passed over for the other node; if no node
 * is newer, the newest playlist already served is answered again. The memory fades after `horizonMs` so a
 * channel that was really restarted with lower numbers is not frozen forever.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import { readAll } from './body.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import { Flights } from './flights.ts';
import type { LiveWindow } from './live-window.ts';
import { discard, type OriginPool, type Verdict } from './origin-pool.ts';
import type { LiveObject } from './paths.ts';
import {
  decodePlaylist,
  isBehind,
  type PlaylistPosition,
  playlistPosition,
  rewritePlaylist,
} from './playlist.ts';
import type { SegmentCache } from './segment-cache.ts';
import type { LiveRequest } from './types.ts';

export interface Playlist {
  text: string;
  /** undefined for a master playlist */
  position: PlaylistPosition | undefined;
}

/** An origin playlist longer than this is refused as malformed (a 5-segment live playlist is ~1 KB). */
export const MAX_PLAYLIST_BYTES = 1024 * 1024;

export interface PlaylistRouteDeps {
  pool: OriginPool;
  cache: SegmentCache<Playlist>;
  window: LiveWindow;
  clock: Clock;
  metrics: DeliveryMetrics;
  ttlMs: number;
  coalesceWaitMs: number;
  /** public origins of this gateway: absolute playlist URIs on them get the token too */
  sameOrigins: readonly string[];
  horizonMs?: number;
  /** told of every media playlist fetched from an origin (watermark-select.ts reads its tag) */
  onMediaPlaylist?: (channel: string, dir: string, text: string) => void;
}

type Outcome = { playlist: Playlist } | { error: unknown };
const NOT_FOUND = Symbol('not found');
const BEHIND = Symbol('behind');
type Fetched = Playlist | typeof NOT_FOUND | typeof BEHIND;

interface Served {
  playlist: Playlist;
  position: PlaylistPosition;
  at: number;
}

const encoder = new TextEncoder();
/** Playlists remembered for the backwards guard, in bytes of text (a live playlist is a few KB). */
const SERVED_MAX_BYTES = 16 * 1024 * 1024;

/**
 * How long a fetched playlist is served from memory: the configured TTL, but at most half the target
 * duration. A live playlist gains a segment every target duration; held a whole one (1 s with 1 s
 * segments), the hold beats against the publishing cadence and players see new segments up to ~2 s late,
 * which empties a three-segment buffer.
 */
function holdMs(text: string, ttlMs: number): number {
  const target = /^#EXT-X-TARGETDURATION:(\d+)/m.exec(text);
  return target ? Math.min(ttlMs, (Number(target[1]) * 1000) / 2) : ttlMs;
}

export class PlaylistRoute {
  private readonly deps: PlaylistRouteDeps;
  private readonly flights = new Flights<Outcome>();
  /** the backwards guard's memory, bounded in bytes like the playlist cache: entries are whole playlists */
  private readonly served = new LRUCache<string, Served>({
    max: 10_000,
    maxSize: SERVED_MAX_BYTES,
    sizeCalculation: (s) => s.playlist.text.length + 256,
  });
  private readonly horizonMs: number;

  constructor(deps: PlaylistRouteDeps) {
    this.deps = deps;
    this.horizonMs = deps.horizonMs ?? 30_000;
  }

  async serve(req: LiveRequest, obj: LiveObject): Promise<Response> {
    const { playlist, cache } = await this.load(req.channel, obj, req.requestId);
    const personalised = req.queryToken !== undefined;
    const text = personalised
      ? rewritePlaylist(playlist.text, req.queryToken as string, { sameOrigins: this.deps.sameOrigins })
      : playlist.text;
    const body = encoder.encode(text);
    const headers = new Headers({
      'content-type': 'application/vnd.apple.mpegurl',
      'content-length': String(body.byteLength),
      // A playlist carrying a viewer's token must stay out of shared caches.
      'cache-control': personalised ? 'private, max-age=1' : 'public, max-age=1',
      'referrer-policy': 'no-referrer',
      'x-cache': cache,
    });
    return new Response(req.method === 'HEAD' ? null : body, { status: 200, headers });
  }

  /** The current playlist at `{channel}/{obj.path}`: from the cache, a fetch in flight, or the origins. */
  async load(
    channel: string,
    obj: LiveObject,
    requestId: string,
  ): Promise<{ playlist: Playlist; cache: string }> {
    const key = `${channel}/${obj.path}`;
    const count = (result: string) => this.deps.metrics.cacheRequests.inc({ kind: 'playlist', result });
    const hit = this.deps.cache.get(key);
    if (hit) {
      count('hit');
      return { playlist: hit, cache: 'HIT' };
    }
    const waiting = this.flights.join(key, this.deps.coalesceWaitMs);
    if (waiting) {
      const outcome = await waiting;
      this.deps.metrics.coalescedWaits.inc({ outcome: outcome === 'timeout' ? 'timeout' : 'served' });
      if (outcome !== 'timeout') {
        count('coalesced');
        if ('error' in outcome) throw outcome.error;
        return { playlist: outcome.playlist, cache: 'COALESCED' };
      }
    }
    count('miss');
    const land = this.flights.lead(key);
    try {
      const playlist = await this.fetch(channel, obj, requestId);
      land?.({ playlist });
      return { playlist, cache: 'MISS' };
    } catch (error) {
      land?.({ error });
      throw error;
    }
  }

  private async fetch(channel: string, obj: LiveObject, requestId: string): Promise<Playlist> {
    const key = `${channel}/${obj.path}`;
    const fetched = await this.deps.pool.request<Fetched>({
      path: `/live/${channel}/${obj.path}`,
      method: 'GET',
      requestId,
      judge: (res) => this.judge(key, res),
    });
    if (fetched === NOT_FOUND) throw new ApiError('not_found');
    let playlist: Playlist;
    if (fetched === BEHIND) {
      const newest = this.served.get(key);
      if (!newest) throw new ApiError('origin_unavailable');
      playlist = newest.playlist;
    } else {
      playlist = fetched;
      if (fetched.position) {
        this.served.set(key, { playlist, position: fetched.position, at: this.deps.clock.now() });
        this.deps.window.record(channel, obj.dir, fetched.position);
        this.deps.onMediaPlaylist?.(channel, obj.dir, fetched.text);
      }
    }
    this.deps.cache.set(key, playlist, holdMs(playlist.text, this.deps.ttlMs));
    return playlist;
  }

  private async judge(key: string, res: Response): Promise<Verdict<Fetched>> {
    // A node that has not started the channel yet answers 404 while the other may have it.
    if (res.status === 404) {
      await discard(res);
      return { reject: 'not_found', fallback: NOT_FOUND };
    }
    if (res.status !== 200) {
      await discard(res);
      return { reject: 'status' };
    }
    const bytes = await readAll(res.body, MAX_PLAYLIST_BYTES);
    const text = bytes && decodePlaylist(bytes);
    if (!text) return { reject: 'malformed' };
    const position = playlistPosition(text);
    const newest = this.served.get(key);
    if (
      position &&
      newest &&
      this.deps.clock.now() - newest.at <= this.horizonMs &&
      isBehind(position, newest.position)
    ) {
      this.deps.metrics.backwardsPlaylists.inc();
      return { reject: 'behind', fallback: BEHIND };
    }
    return { accept: { text, position } };
  }
}
