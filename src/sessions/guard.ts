/**
 * The session guard: what the app calls on every authenticated request (SPEC §5). In front of the shared
 * SessionStore it keeps a local table of the sessions this process serves:
 * - a lease: once the store has admitted (or refused) a session, that verdict stands for `leaseMs`, so a
 *   session costs at most one store command per lease whatever its request rate, and a kick or revocation
 *   made elsewhere takes effect here within one lease; concurrent requests of a session whose lease ran
 *   out share one store call;
 * - the outage policy: when the store fails or exceeds `storeTimeoutMs`, `open` serves everyone, `closed`
 *   refuses new sessions (503 store_unavailable) while sessions the store admitted, and that kept playing
 *   within the last `idleSeconds`, play on from the table; a session the store refused stays refused. The
 *   store is asked again after a lease, so a store that comes back (even empty) sees every live session
 *   again within one lease of its next request.
 */
import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.ts';
import { ApiError, type ErrorCode } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { type Metrics, noopMetrics } from '../metrics.ts';
import { type SessionMetrics, sessionMetrics } from './guard-metrics.ts';
import { StoreCalls } from './store-calls.ts';
import type { AdmitRequest, AdmitResult, SessionGuard, SessionInfo, SessionStore } from './types.ts';
import { checkIat, checkId, checkMax, SessionInputError } from './validate.ts';

export interface SessionGuardOptions {
  store: SessionStore;
  clock?: Clock;
  /** SESSION_LEASE in ms: how long a store verdict is trusted locally; 0 asks the store on every request */
  leaseMs: number;
  /** SESSION_IDLE: how long an admitted session keeps playing from the local table while the store is down */
  idleSeconds: number;
  /** STORE_FAILURE */
  failure: 'open' | 'closed';
  /** bound on one store call, after which the outage policy applies */
  storeTimeoutMs: number;
  /** sessions held in the local table (default 100 000); the least recently used beyond it are dropped */
  maxLocalSessions?: number;
  metrics?: Metrics;
  logger?: Logger;
  /** store failures are logged at most once per interval (default 10 s) */
  outageLogIntervalMs?: number;
}

type Refusal = Extract<ErrorCode, 'session_replaced' | 'session_limit' | 'session_revoked'>;

interface LocalSession {
  /** the verdict stands until then (ms, guard clock) */
  until: number;
  /** the store refused this session; undefined when it is admitted (or served during an outage) */
  refusal: Refusal | undefined;
  /** the store admitted this session and has not refused it since */
  confirmed: boolean;
  /** last request served */
  lastActive: number;
  /** the store call in flight, shared by concurrent requests; resolves to the verdict */
  pending: Promise<ApiError | undefined> | undefined;
}

/** Cannot occur in a validated sub, so `sub + SEP` prefixes exactly one account's sessions. */
const SEP = '\n';
const REFUSALS = {
  replaced: 'session_replaced',
  denied: 'session_limit',
  revoked: 'session_revoked',
} as const;

export function createSessionGuard(opts: SessionGuardOptions): SessionGuard {
  return new LeasedSessionGuard(opts);
}

class LeasedSessionGuard implements SessionGuard {
  readonly #store: SessionStore;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #idleMs: number;
  readonly #failure: 'open' | 'closed';
  readonly #table: LRUCache<string, LocalSession>;
  readonly #m: SessionMetrics;
  readonly #calls: StoreCalls;
  #lastPurge = 0;

  constructor(o: SessionGuardOptions) {
    for (const [name, v] of [
      ['leaseMs', o.leaseMs],
      ['idleSeconds', o.idleSeconds],
      ['storeTimeoutMs', o.storeTimeoutMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new Error(`session guard: ${name} must be a non-negative number`);
    }
    if (o.failure !== 'open' && o.failure !== 'closed')
      throw new Error('session guard: failure must be open or closed');
    this.#store = o.store;
    this.#clock = o.clock ?? systemClock;
    this.#leaseMs = o.leaseMs;
    this.#idleMs = o.idleSeconds * 1000;
    this.#failure = o.failure;
    this.#m = sessionMetrics(o.metrics ?? noopMetrics);
    this.#calls = new StoreCalls({
      timeoutMs: o.storeTimeoutMs,
      metrics: this.#m,
      logger: o.logger ?? silentLogger,
      clock: this.#clock,
      policy: o.failure,
      logIntervalMs: o.outageLogIntervalMs ?? 10_000,
    });
    this.#table = new LRUCache({
      max: o.maxLocalSessions ?? 100_000,
      ttl: Math.max(1, this.#idleMs + this.#leaseMs),
      perf: this.#clock,
      ttlResolution: 0,
    });
  }

  async admit(req: { sub: string; sid: string; max: number; iat: number }): Promise<void> {
    const request = claimsOf(req);
    const key = request.sub + SEP + request.sid;
    const now = this.#clock.now();
    let entry = this.#table.get(key);
    if (entry && !entry.pending && now < entry.until) {
      this.#m.leaseHits.inc();
      if (entry.refusal) throw this.#refuse(entry.refusal);
      entry.lastActive = now;
      return;
    }
    if (!entry) {
      entry = { until: 0, refusal: undefined, confirmed: false, lastActive: now, pending: undefined };
      this.#table.set(key, entry);
      this.#m.local.set(this.#table.size);
    }
    if (!entry.pending) {
      const e = entry;
      e.pending = this.#consult(key, e, request).finally(() => {
        e.pending = undefined;
      });
    }
    const refused = await entry.pending;
    if (refused) throw refused;
  }

  async checkRefresh(req: { sub: string; sid: string; iat: number }): Promise<void> {
    const sub = checked('token_invalid', () => checkId('sub', req.sub));
    const sid = checked('token_invalid', () => checkId('sid', req.sid));
    const iat = checked('token_invalid', () => checkIat(req.iat));
    const local = this.#table.get(sub + SEP + sid);
    let state: Awaited<ReturnType<SessionStore['state']>>;
    try {
      state = await this.#calls.run('state', () => this.#store.state({ sub, sid, iat }));
    } catch (err) {
      if (this.#failure === 'open' || this.#playingLocally(local)) {
        this.#m.bypass.inc({ policy: this.#failure });
        return;
      }
      throw this.#unavailable(err);
    }
    // idle: a paused player may refresh within REFRESH_GRACE of its session going idle, not sign in again
    if (state === 'live' || state === 'idle') return;
    if (state === 'replaced') throw this.#refuse('session_replaced');
    if (state === 'revoked') throw this.#refuse('session_revoked');
    // ended: unknown to the store, yet playing here (the store lost its data): its next request re-admits it
    if (this.#playingLocally(local)) return;
    throw new ApiError('token_expired', 'Session has ended; sign in again');
  }

  async revoke(sub: string): Promise<{ revoked: number }> {
    const account = checked('bad_request', () => checkId('sub', sub));
    let result: { revoked: number };
    try {
      result = await this.#calls.run('revoke', () => this.#store.revoke(account));
    } catch (err) {
      throw this.#unavailable(err);
    }
    const prefix = account + SEP;
    for (const key of [...this.#table.keys()]) if (key.startsWith(prefix)) this.#table.delete(key);
    this.#m.local.set(this.#table.size);
    this.#m.revoked.inc(undefined, result.revoked);
    return result;
  }

  async list(sub: string): Promise<SessionInfo[]> {
    const account = checked('bad_request', () => checkId('sub', sub));
    try {
      return await this.#calls.run('list', () => this.#store.list(account));
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  async ready(): Promise<boolean> {
    try {
      await this.#calls.run('ping', () => this.#store.ping());
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#table.clear();
    this.#m.local.set(0);
    await this.#store.close();
  }

  /** One store admission for a session whose lease ran out; never rejects, resolves to the verdict. */
  async #consult(key: string, entry: LocalSession, req: AdmitRequest): Promise<ApiError | undefined> {
    let verdict: ApiError | undefined;
    try {
      const result = await this.#calls.run('admit', () => this.#store.admit(req));
      verdict = this.#apply(entry, req.sub, result);
    } catch (err) {
      verdict = this.#degrade(entry, err);
      if (verdict?.code === 'store_unavailable') {
        // a new session refused for the outage holds no place: a flood of them must not evict playing ones
        if (this.#table.peek(key) === entry) this.#table.delete(key);
        return verdict;
      }
    }
    const now = this.#clock.now();
    this.#table.set(key, entry);
    this.#purgeStale(now);
    return verdict;
  }

  #apply(entry: LocalSession, sub: string, result: AdmitResult): ApiError | undefined {
    const now = this.#clock.now();
    entry.until = now + this.#leaseMs;
    if (result.outcome !== 'admitted') {
      entry.refusal = REFUSALS[result.outcome];
      entry.confirmed = false;
      if (result.outcome === 'denied') this.#m.denied.inc();
      return this.#refuse(entry.refusal);
    }
    entry.refusal = undefined;
    entry.confirmed = true;
    entry.lastActive = now;
    if (result.started) this.#m.admitted.inc();
    if (result.kicked.length > 0) this.#kickedHere(sub, result.kicked, now);
    return undefined;
  }

  /** Sessions this admission kicked that this process serves stop at their next request, not a lease later. */
  #kickedHere(sub: string, sids: string[], now: number): void {
    this.#m.replaced.inc(undefined, sids.length);
    for (const sid of sids) {
      const entry = this.#table.get(sub + SEP + sid);
      if (!entry) continue;
      entry.refusal = 'session_replaced';
      entry.confirmed = false;
      entry.until = now + this.#leaseMs;
    }
  }

  /** The outage policy for a session the store could not answer about. */
  #degrade(entry: LocalSession, err: unknown): ApiError | undefined {
    const now = this.#clock.now();
    if (entry.refusal) {
      // the store's last word on a kicked, revoked or denied session stands until it can be asked again
      entry.until = now + this.#leaseMs;
      return this.#refuse(entry.refusal);
    }
    if (this.#failure === 'closed' && !this.#playingLocally(entry)) return this.#unavailable(err);
    entry.until = now + this.#leaseMs;
    entry.lastActive = now;
    this.#m.bypass.inc({ policy: this.#failure });
    return undefined;
  }

  #playingLocally(entry: LocalSession | undefined): boolean {
    return !!entry?.confirmed && this.#clock.now() - entry.lastActive <= this.#idleMs;
  }

  #refuse(code: Refusal): ApiError {
    this.#m.refusals.inc({ code });
    return new ApiError(code);
  }

  #unavailable(err: unknown): ApiError {
    this.#m.refusals.inc({ code: 'store_unavailable' });
    return new ApiError('store_unavailable', undefined, { cause: err });
  }

  /** Expired entries leave the table (and the gauge) at most once per idle period. */
  #purgeStale(now: number): void {
    if (now - this.#lastPurge < this.#idleMs) return;
    this.#lastPurge = now;
    this.#table.purgeStale();
    this.#m.local.set(this.#table.size);
  }
}

/** Token claims for admission; a bad one is the token's fault: 401 token_invalid naming the claim. */
function claimsOf(req: { sub: string; sid: string; max: number; iat: number }): AdmitRequest {
  return {
    sub: checked('token_invalid', () => checkId('sub', req.sub)),
    sid: checked('token_invalid', () => checkId('sid', req.sid)),
    max: checked('token_invalid', () => checkMax(req.max)),
    iat: checked('token_invalid', () => checkIat(req.iat)),
  };
}

/** Input errors as API errors: token_invalid for claims, bad_request for a path parameter. */
function checked<T>(code: 'token_invalid' | 'bad_request', check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof SessionInputError)) throw err;
    throw new ApiError(code, code === 'token_invalid' ? `claim ${err.message}` : err.message);
  }
}
