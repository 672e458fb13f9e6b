/**
 * The origin pool (SPEC §6): every origin request goes through here, and a request that fails on one node
 * is retried on the next inside the same client request, before any byte went to the client.
 *
 * Order: nodes believed up first (configured order, or rotated per request in round-robin), then nodes
 * marked down, so a node known to be down costs nothing while another can answer, yet is still tried
 * before the player gets an error. A node is marked down passively by a transport failure, a bad status
 * or a first-byte timeout (for a cool-off), and actively by failed `GET /healthz` checks.
 *
 * What the origin sees is built here from scratch: the path without any query, `X-Origin-Secret`, a
 * request id and the few client headers a caller passes on purpose. The player's token (Authorization,
 * cookie, query) can never reach an origin because nothing of the client request is copied wholesale.
 */
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { type DeliveryMetrics, deliveryMetrics } from './delivery-metrics.ts';
import { type OriginFailure, type OriginFetch, OriginFetchError, type OriginHealth } from './types.ts';

/** Why an attempt was not the answer: a transport failure, or a response the caller judged unusable. */
export type FailoverReason = OriginFailure | 'not_found' | 'behind' | 'malformed';

/** A caller's judgement of a response. Rejecting moves on to the next origin; `fallback` is what to
 * answer if no origin does better (a 404, a cached newer playlist). A rejecting judge consumes or cancels
 * the body; it may throw `OriginFetchError('body')` when the body breaks while it reads it. */
export type Verdict<T> = { accept: T } | { reject: FailoverReason; fallback?: T };

export interface PoolRequest<T> {
  /** absolute path on the origin, e.g. `/live/demo/12.ts`; never a query */
  path: string;
  method: 'GET' | 'HEAD';
  /** client headers passed on purpose (see `FORWARDABLE_HEADERS`) */
  headers?: Headers;
  requestId?: string;
  judge: (res: Response) => Verdict<T> | Promise<Verdict<T>>;
}

/** The client headers a pass-through request may carry to an origin. */
export const FORWARDABLE_HEADERS = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;

/** Answers a caller may judge; anything else (5xx, 3xx, 401/403 from a wrong secret…) is an origin failure. */
const JUDGED_STATUSES = new Set([200, 206, 304, 404, 416]);
/** Failures that say something about the node rather than about one object. */
const NODE_FAILURES = new Set<FailoverReason>(['connect', 'reset', 'timeout', 'status', 'body']);

export interface Scheduler {
  /** runs `fn` every `ms`; returns a function that stops it */
  every(ms: number, fn: () => void): () => void;
}

export const intervalScheduler: Scheduler = {
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    (handle as { unref?: () => void }).unref?.();
    return () => clearInterval(handle);
  },
};

export interface OriginPoolOptions {
  /** base URLs, primary first, without a trailing slash */
  origins: string[];
  mode: 'primary' | 'round-robin';
  fetch: OriginFetch;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  originSecret?: string | undefined;
  /** longest wait for response headers, connect included */
  firstByteMs: number;
  /** active health check period; 0 disables the checks (passive marking only) */
  healthIntervalMs: number;
  /** how long a passive failure keeps a node at the back of the queue */
  coolOffMs?: number;
  scheduler?: Scheduler;
}

interface OriginState {
  url: string;
  /** result of the last active health check */
  checkedHealthy: boolean;
  /** passive mark: clock time until which the node is tried last */
  downUntil: number;
}

export class OriginPool {
  private readonly states: OriginState[];
  private readonly opts: OriginPoolOptions;
  private readonly coolOffMs: number;
  private readonly m: DeliveryMetrics;
  private readonly stopChecks: () => void;
  private checking: Promise<void> | undefined;
  private turn = 0;

  constructor(opts: OriginPoolOptions) {
    if (opts.origins.length === 0) throw new Error('the origin pool needs at least one origin');
    this.opts = opts;
    this.coolOffMs = opts.coolOffMs ?? 10_000;
    this.m = deliveryMetrics(opts.metrics);
    this.states = opts.origins.map((url) => ({ url, checkedHealthy: true, downUntil: 0 }));
    this.publishHealth();
    this.stopChecks =
      opts.healthIntervalMs > 0
        ? (opts.scheduler ?? intervalScheduler).every(opts.healthIntervalMs, () => void this.checkHealth())
        : () => {};
  }

  /** Asks the origins in turn until one gives an accepted answer; throws 504 `origin_timeout` when every
   * attempt timed out, 502 `origin_unavailable` otherwise, unless a judge left a fallback. */
  async request<T>(req: PoolRequest<T>): Promise<T> {
    let fallback: { value: T } | undefined;
    const failures: FailoverReason[] = [];
    const order = this.order();
    for (let i = 0; i < order.length; i++) {
      const origin = order[i] as OriginState;
      const verdict = await this.attempt(origin, req);
      if ('accept' in verdict) {
        this.markUp(origin);
        return verdict.accept;
      }
      failures.push(verdict.reject);
      if ('fallback' in verdict) fallback = { value: verdict.fallback as T };
      if (NODE_FAILURES.has(verdict.reject)) this.markDown(origin, verdict.reject);
      if (i < order.length - 1) {
        this.m.failovers.inc({ reason: verdict.reject });
        // Per request, so debug: the node's fall is logged once, when it is marked down.
        this.opts.logger.debug('origin failover', {
          origin: origin.url,
          reason: verdict.reject,
          path: req.path,
          requestId: req.requestId,
        });
      }
    }
    if (fallback) return fallback.value;
    throw failures.every((f) => f === 'timeout')
      ? new ApiError('origin_timeout')
      : new ApiError('origin_unavailable');
  }

  health(): OriginHealth[] {
    const now = this.opts.clock.now();
    return this.states.map((s) => ({ url: s.url, healthy: isUp(s, now) }));
  }

  /** One round of `GET /healthz` on every origin (also run by the scheduler). */
  checkHealth(): Promise<void> {
    this.checking ??= Promise.all(
      this.states.map(async (s) => {
        const ok = await this.probe(s.url);
        if (ok && !s.checkedHealthy)
          this.opts.logger.info('origin passed its health check', { origin: s.url });
        if (!ok && s.checkedHealthy)
          this.opts.logger.warn('origin failed its health check', { origin: s.url });
        s.checkedHealthy = ok;
      }),
    ).then(() => {
      this.checking = undefined;
      this.publishHealth();
    });
    return this.checking;
  }

  close(): void {
    this.stopChecks();
  }

  private order(): OriginState[] {
    const now = this.opts.clock.now();
    let up = this.states.filter((s) => isUp(s, now));
    // among nodes that are not up, one that only fails its health check (e.g. a static origin without
    // /healthz) goes before one that just failed a request, and the longest-failed last: a hung primary
    // must not be tried first on every request just because no node passes its health check
    const failedUntil = (s: OriginState) => (s.downUntil > now ? s.downUntil : 0);
    const down = this.states.filter((s) => !isUp(s, now)).sort((a, b) => failedUntil(a) - failedUntil(b));
    if (this.opts.mode === 'round-robin' && up.length > 1) {
      const k = this.turn++ % up.length;
      up = [...up.slice(k), ...up.slice(0, k)];
    }
    return [...up, ...down];
  }

  private async attempt<T>(origin: OriginState, req: PoolRequest<T>): Promise<Verdict<T>> {
    const headers = new Headers(req.headers);
    headers.set('user-agent', 'edge-gateway');
    if (this.opts.originSecret) headers.set('x-origin-secret', this.opts.originSecret);
    if (req.requestId) headers.set('x-request-id', req.requestId);
    const started = this.opts.clock.now();
    const observe = (outcome: string) =>
      this.m.originLatency.observe((this.opts.clock.now() - started) / 1000, { origin: origin.url, outcome });
    let res: Response;
    try {
      res = await this.fetchWithBound(origin.url + req.path, req.method, headers);
    } catch (err) {
      const reason = failureOf(err);
      observe(reason);
      return { reject: reason };
    }
    observe(String(res.status));
    if (!JUDGED_STATUSES.has(res.status)) {
      await discard(res);
      return { reject: 'status' };
    }
    try {
      return await req.judge(res);
    } catch (err) {
      if (!(err instanceof OriginFetchError)) throw err;
      await discard(res);
      return { reject: err.code };
    }
  }

  /** The first-byte bound is enforced here, precisely, whatever the `OriginFetch` does on its own. */
  private async fetchWithBound(url: string, method: 'GET' | 'HEAD', headers: Headers): Promise<Response> {
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.opts.firstByteMs);
    try {
      return await this.opts.fetch(url, { method, headers, signal: abort.signal });
    } catch (err) {
      if (timedOut) throw new OriginFetchError('timeout', `no response within ${this.opts.firstByteMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async probe(url: string): Promise<boolean> {
    const headers = new Headers({ 'user-agent': 'edge-gateway' });
    if (this.opts.originSecret) headers.set('x-origin-secret', this.opts.originSecret);
    try {
      const res = await this.fetchWithBound(`${url}/healthz`, 'GET', headers);
      await discard(res);
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  }

  private markDown(origin: OriginState, reason: FailoverReason): void {
    const now = this.opts.clock.now();
    if (isUp(origin, now)) this.opts.logger.warn('origin marked down', { origin: origin.url, reason });
    origin.downUntil = now + this.coolOffMs;
    this.publishHealth();
  }

  private markUp(origin: OriginState): void {
    if (origin.downUntil === 0) return;
    origin.downUntil = 0;
    this.publishHealth();
  }

  private publishHealth(): void {
    const now = this.opts.clock.now();
    for (const s of this.states) this.m.originUp.set(isUp(s, now) ? 1 : 0, { origin: s.url });
  }
}

function isUp(s: OriginState, now: number): boolean {
  return s.checkedHealthy && s.downUntil <= now;
}

function failureOf(err: unknown): OriginFailure {
  return err instanceof OriginFetchError ? err.code : 'connect';
}

/** Releases a response we will not use, so its connection goes back to the pool (or is closed). */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // the stream already failed or was consumed: nothing left to release
  }
}
