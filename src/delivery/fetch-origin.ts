/**
 * How a Worker reaches its origins: the runtime's global `fetch`, bounded with abort signals, and the colo's
 * Cache API as a shared tier for segments in front of it. Only the Workers entry imports this file; it uses
 * Web APIs alone, so it also runs (and is tested) on Node.
 *
 * Bounds: Workers' `fetch` has no separate connect phase, so the first-byte bound covers connect + response
 * headers (the pool enforces the same bound again, precisely); then a body that stays silent longer than
 * `bodyIdleTimeoutMs` is abandoned, like undici's body timeout on Node.
 */
import { type OriginFetch, OriginFetchError } from './types.ts';

export interface FetchOriginOptions {
  /** ORIGIN_FIRST_BYTE_TIMEOUT_MS: connect and response headers */
  firstByteTimeoutMs: number;
  /** longest silence inside a body before it is abandoned (default 10 s) */
  bodyIdleTimeoutMs?: number;
  /** the runtime's fetch (default: the global one) */
  fetch?: typeof fetch;
}

export function createFetchOriginFetch(opts: FetchOriginOptions): OriginFetch {
  const doFetch = opts.fetch ?? fetch;
  const idleMs = opts.bodyIdleTimeoutMs ?? 10_000;
  return async (url, init) => {
    const abort = new AbortController();
    const onCallerAbort = () => abort.abort(init.signal?.reason);
    if (init.signal?.aborted) onCallerAbort();
    init.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let timedOut = false;
    const headersTimer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, opts.firstByteTimeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: init.method,
        headers: init.headers,
        signal: abort.signal,
        // An origin never sends a player elsewhere; a redirect is an origin fault, judged as a bad status.
        redirect: 'manual',
      });
    } catch (err) {
      if (timedOut || init.signal?.aborted)
        throw new OriginFetchError('timeout', `no response within ${opts.firstByteTimeoutMs} ms`, {
          cause: err,
        });
      // workerd reports a refused, reset or unresolvable origin alike ("Network connection lost."): all of
      // them are the node's fault, and failover treats them the same way.
      throw new OriginFetchError('connect', `origin request failed: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(headersTimer);
      init.signal?.removeEventListener('abort', onCallerAbort);
    }
    if (!res.body) return res;
    return new Response(
      watchIdle(res.body, idleMs, () => abort.abort()),
      res,
    );
  };
}

/** Passes the body through, aborting the fetch when no chunk arrives for `idleMs`. */
function watchIdle(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onIdle: () => void,
): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, idleMs);
  };
  arm();
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        arm();
        out.enqueue(chunk);
      },
      flush() {
        clearTimeout(timer);
      },
    }),
  );
}

/** The part of the Cache API (`caches.default` on Workers) this module uses. */
export interface SharedCache {
  match(key: string): Promise<Response | undefined>;
  put(key: string, res: Response): Promise<void>;
}

export interface SharedCacheOptions {
  cache: SharedCache;
  /** a fixed URL prefix for keys: the same object from either origin is one entry */
  keyBase: string;
  /** how long the colo keeps a segment (SEGMENT_CACHE_TTL) */
  ttlSeconds: number;
  /** larger objects are not stored (SEGMENT_CACHE_OBJECT_MAX_BYTES) */
  maxObjectBytes: number;
  /** keeps the request alive until a background write ends (`ctx.waitUntil` on Workers) */
  defer: (work: Promise<unknown>) => void;
}

/** Headers a stored segment keeps; the rest of the origin's answer is not the viewer's business. */
const STORED_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified'] as const;

/**
 * Segments through the Cache API: a plain GET of an object under `/live/` that is not a playlist is
 * answered from the colo's cache when it is there; otherwise the origin's 200 is streamed to the caller
 * while a copy is written to the cache in the background. Keys hold the object's path only — channel,
 * rendition, file name, the watermark variant the gateway chose — never a token or the origin's host.
 * Playlists (live, rewritten per viewer) and ranged or conditional requests go straight to the origin.
 */
export function withSharedCache(inner: OriginFetch, opts: SharedCacheOptions): OriginFetch {
  return async (url, init) => {
    const path = new URL(url).pathname;
    const cacheable =
      init.method === 'GET' &&
      path.startsWith('/live/') &&
      !path.endsWith('.m3u8') &&
      !init.headers.has('range') &&
      !init.headers.has('if-none-match') &&
      !init.headers.has('if-modified-since');
    if (!cacheable) return inner(url, init);
    const key = opts.keyBase + path;
    const hit = await opts.cache.match(key).catch(() => undefined);
    if (hit) return hit;
    const res = await inner(url, init);
    const length = Number(res.headers.get('content-length') ?? 0);
    if (res.status !== 200 || !res.body || length > opts.maxObjectBytes) return res;
    const [mine, stored] = res.body.tee();
    const headers = new Headers({ 'cache-control': `public, max-age=${opts.ttlSeconds}` });
    for (const name of STORED_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    // A write that fails (body cut, cache full) stores nothing: the next request is a miss, never a torso.
    opts.defer(opts.cache.put(key, new Response(stored, { status: 200, headers })).catch(() => {}));
    return new Response(mine, res);
  };
}
