/**
 * Segments and init segments: served from the byte-bounded cache, filled by exactly one origin fetch per
 * object however many players miss at once.
 *
 * The leader of a fill answers a plain GET by streaming the origin body to its client while the same bytes
 * fill the cache (a tee), so a large miss costs no store-and-forward delay; HEAD, Range and conditional
 * leaders read the object in full first and answer from it. Waiters answer from the filled object.
 * Objects over the per-object cap are never held: they stream through (Range and validators forwarded).
 */
import { ApiError } from '../errors.ts';
import { readAll } from './body.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import { Flights } from './flights.ts';
import type { LiveWindow } from './live-window.ts';
import { discard, FORWARDABLE_HEADERS, type OriginPool, type Verdict } from './origin-pool.ts';
import type { LiveObject } from './paths.ts';
import { computeEtag, contentTypeOf, type HeldObject, respondWithObject, strongEtag } from './respond.ts';
import type { SegmentCache } from './segment-cache.ts';
import type { LiveRequest } from './types.ts';

export interface SegmentRouteDeps {
  pool: OriginPool;
  cache: SegmentCache<HeldObject>;
  window: LiveWindow;
  metrics: DeliveryMetrics;
  ttlMs: number;
  coalesceWaitMs: number;
}

/** How a fill ended, as its waiters see it. */
type Outcome = { object: HeldObject } | { notFound: true } | { error: unknown } | { passThrough: true };
const NOT_FOUND = Symbol('not found');
const TOO_LARGE = Symbol('too large');
type Streamed = Response | typeof NOT_FOUND;
type Buffered = HeldObject | typeof NOT_FOUND | typeof TOO_LARGE;

/** Headers of an origin pass-through answer worth keeping. */
const PASSED_HEADERS = ['content-length', 'content-range', 'etag', 'last-modified', 'accept-ranges'] as const;

export class SegmentRoute {
  private readonly deps: SegmentRouteDeps;
  private readonly flights = new Flights<Outcome>();
  private readonly cacheControl: string;
  /** a watermark variant identifies its viewer: no shared cache may keep it under the player's URL */
  private readonly variantCacheControl: string;

  constructor(deps: SegmentRouteDeps) {
    this.deps = deps;
    const maxAge = Math.max(1, Math.floor(deps.ttlMs / 1000));
    this.cacheControl = `public, max-age=${maxAge}`;
    this.variantCacheControl = `private, max-age=${maxAge}`;
  }

  async serve(req: LiveRequest, obj: LiveObject): Promise<Response> {
    if (!this.deps.cache.enabled) {
      this.count(obj, 'bypass');
      return this.passThrough(req, obj);
    }
    const key = `${req.channel}/${obj.path}`;
    const held = this.deps.cache.get(key);
    if (held) return this.fromHeld(held, req, obj, 'hit');
    const waiting = this.flights.join(key, this.deps.coalesceWaitMs);
    if (waiting) {
      const outcome = await waiting;
      this.deps.metrics.coalescedWaits.inc({ outcome: outcome === 'timeout' ? 'timeout' : 'served' });
      if (outcome !== 'timeout') {
        if ('object' in outcome) return this.fromHeld(outcome.object, req, obj, 'coalesced');
        if ('notFound' in outcome) throw new ApiError('not_found');
        if ('error' in outcome) throw outcome.error;
      }
      this.count(obj, 'bypass');
      return this.passThrough(req, obj);
    }
    const land = this.flights.lead(key);
    if (!land) {
      this.count(obj, 'bypass');
      return this.passThrough(req, obj);
    }
    this.count(obj, 'miss');
    try {
      return plainGet(req)
        ? await this.streamFill(req, obj, key, land)
        : await this.bufferFill(req, obj, key, land);
    } catch (error) {
      land({ error });
      throw error;
    }
  }

  /** Leader of a plain GET: the client gets the origin stream while a tee fills the cache. */
  private async streamFill(req: LiveRequest, obj: LiveObject, key: string, land: (o: Outcome) => void) {
    const res = await this.deps.pool.request<Streamed>({
      path: originPath(req, obj),
      method: 'GET',
      requestId: req.requestId,
      judge: (r) => (r.status === 200 ? { accept: r } : this.judgeNotFound(r, req, obj)),
    });
    if (res === NOT_FOUND) {
      land({ notFound: true });
      throw new ApiError('not_found');
    }
    const headers = this.originHeaders(res, obj, 'MISS');
    const length = declaredLength(res);
    if (!res.body || (length !== undefined && !this.deps.cache.accepts(length))) {
      land({ passThrough: true });
      if (length !== undefined) this.deps.metrics.cacheBytes.inc({ result: 'miss' }, length);
      return new Response(res.body, { status: 200, headers });
    }
    const [toClient, toCache] = res.body.tee();
    const meta = {
      etag: strongEtag(res.headers.get('etag')),
      lastModified: res.headers.get('last-modified'),
    };
    void readAll(toCache, this.deps.cache.maxObjectBytes)
      .then(async (bytes) => {
        if (!bytes) return land({ passThrough: true });
        land({ object: await this.keep(key, obj, bytes, meta.etag, meta.lastModified) });
      })
      // The client's half of the tee fails the same way; waiters fetch on their own.
      .catch(() => land({ passThrough: true }));
    return new Response(toClient, { status: 200, headers });
  }

  /** Leader of a HEAD, Range or conditional request: the object is read in full, then answered from. */
  private async bufferFill(req: LiveRequest, obj: LiveObject, key: string, land: (o: Outcome) => void) {
    const res = await this.deps.pool.request<Buffered>({
      path: originPath(req, obj),
      method: 'GET',
      requestId: req.requestId,
      judge: async (r): Promise<Verdict<Buffered>> => {
        if (r.status !== 200) return this.judgeNotFound(r, req, obj);
        if (!this.deps.cache.accepts(declaredLength(r) ?? 0)) {
          await discard(r);
          return { accept: TOO_LARGE };
        }
        const bytes = await readAll(r.body, this.deps.cache.maxObjectBytes);
        if (!bytes) return { accept: TOO_LARGE };
        return {
          accept: await this.keep(
            key,
            obj,
            bytes,
            strongEtag(r.headers.get('etag')),
            r.headers.get('last-modified'),
          ),
        };
      },
    });
    if (res === NOT_FOUND) {
      land({ notFound: true });
      throw new ApiError('not_found');
    }
    if (res === TOO_LARGE) {
      land({ passThrough: true });
      return this.passThrough(req, obj);
    }
    land({ object: res });
    return this.fromHeld(res, req, obj, 'filled');
  }

  /** Without the cache: the client's Range and validators go to the origin and its answer streams back. */
  private async passThrough(req: LiveRequest, obj: LiveObject): Promise<Response> {
    const headers = new Headers();
    for (const name of FORWARDABLE_HEADERS) {
      const value = req.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const res = await this.deps.pool.request<Streamed>({
      path: originPath(req, obj),
      method: req.method,
      headers,
      requestId: req.requestId,
      judge: (r) => (r.status === 404 ? this.judgeNotFound(r, req, obj) : { accept: r }),
    });
    if (res === NOT_FOUND) throw new ApiError('not_found');
    if (res.status === 416) {
      await discard(res);
      const range = res.headers.get('content-range');
      throw new ApiError(
        'range_not_satisfiable',
        undefined,
        range ? { headers: { 'content-range': range } } : {},
      );
    }
    const body = req.method === 'HEAD' || res.status === 304 ? null : res.body;
    if (!body) await discard(res);
    const length = declaredLength(res);
    if (body && length !== undefined) this.deps.metrics.cacheBytes.inc({ result: 'miss' }, length);
    return new Response(body, { status: res.status, headers: this.originHeaders(res, obj, 'BYPASS') });
  }

  /** A 404 inside the live window is a node that has not written the segment yet: ask the other one. */
  private async judgeNotFound<T>(
    r: Response,
    req: LiveRequest,
    obj: LiveObject,
  ): Promise<Verdict<T | typeof NOT_FOUND>> {
    await discard(r);
    if (r.status !== 404) return { reject: 'status' };
    const inWindow = obj.seq === undefined || this.deps.window.mayHave(req.channel, obj.dir, obj.seq);
    return inWindow ? { reject: 'not_found', fallback: NOT_FOUND } : { accept: NOT_FOUND };
  }

  private async keep(
    key: string,
    obj: LiveObject,
    bytes: Uint8Array,
    etag: string | undefined,
    lastModified: string | null,
  ): Promise<HeldObject> {
    const held: HeldObject = {
      bytes,
      etag: etag ?? (await computeEtag(bytes)),
      lastModified: lastModified ?? undefined,
      contentType: contentTypeOf(obj.path),
    };
    this.deps.cache.set(key, held, this.deps.ttlMs);
    this.deps.metrics.cacheBytes.inc({ result: 'miss' }, bytes.byteLength);
    return held;
  }

  private fromHeld(held: HeldObject, req: LiveRequest, obj: LiveObject, how: 'hit' | 'coalesced' | 'filled') {
    if (how !== 'filled') {
      this.count(obj, how);
      this.deps.metrics.cacheBytes.inc({ result: 'hit' }, held.bytes.byteLength);
    }
    const label = how === 'hit' ? 'HIT' : how === 'coalesced' ? 'COALESCED' : 'MISS';
    return respondWithObject(held, req, { 'cache-control': this.cacheControlOf(obj), 'x-cache': label });
  }

  private originHeaders(res: Response, obj: LiveObject, cache: string): Headers {
    const headers = new Headers({
      'content-type': contentTypeOf(obj.path),
      'cache-control': this.cacheControlOf(obj),
    });
    for (const name of PASSED_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    if (!strongEtag(headers.get('etag'))) headers.delete('etag');
    if (!headers.has('accept-ranges')) headers.set('accept-ranges', 'bytes');
    headers.set('x-cache', cache);
    return headers;
  }

  private cacheControlOf(obj: LiveObject): string {
    return obj.variant ? this.variantCacheControl : this.cacheControl;
  }

  private count(obj: LiveObject, result: string): void {
    this.deps.metrics.cacheRequests.inc({ kind: obj.kind, result });
  }
}

function originPath(req: LiveRequest, obj: LiveObject): string {
  return `/live/${req.channel}/${obj.path}`;
}

function declaredLength(res: Response): number | undefined {
  const value = res.headers.get('content-length');
  const n = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function plainGet(req: LiveRequest): boolean {
  return req.method === 'GET' && !req.headers.has('range') && !req.headers.has('if-none-match');
}
