/**
 * SessionStore for one process: the same semantics as the Redis scripts (redis-scripts.ts), decided from
 * stored times in whole seconds, with accounts in a bounded lru-cache whose TTL only collects garbage.
 * Each call runs to completion without awaiting, so it is as atomic as a Lua script.
 */
import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.ts';
import { MAX_TOMBSTONES } from './redis-scripts.ts';
import type {
  AdmitRequest,
  AdmitResult,
  SessionInfo,
  SessionState,
  SessionStore,
  SessionStoreOptions,
} from './types.ts';
import { checkIat, checkId, checkMax, checkNow, checkStoreOptions } from './validate.ts';

export interface MemorySessionStoreOptions extends SessionStoreOptions {
  clock?: Clock;
  /** accounts held at most; the least recently used beyond it are forgotten (default 100 000) */
  maxAccounts?: number;
}

interface Account {
  /** sid → last seen, seconds */
  live: Map<string, number>;
  /** sid → kicked at, seconds */
  kicked: Map<string, number>;
  /** ms */
  revokedAt: number | undefined;
}

export class MemorySessionStore implements SessionStore {
  readonly #opts: SessionStoreOptions;
  readonly #clock: Clock;
  readonly #accounts: LRUCache<string, Account>;

  constructor(opts: MemorySessionStoreOptions) {
    checkStoreOptions(opts);
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#accounts = new LRUCache({ max: opts.maxAccounts ?? 100_000, perf: this.#clock, ttlResolution: 0 });
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const sub = checkId('sub', req.sub);
    const sid = checkId('sid', req.sid);
    const max = checkMax(req.max);
    const iat = checkIat(req.iat);
    const [ms, now] = this.#time(req.now);
    const { idleSeconds: idle, refreshGraceSeconds: grace, tombstoneSeconds: tomb } = this.#opts;
    const acct = this.#accounts.get(sub) ?? { live: new Map(), kicked: new Map(), revokedAt: undefined };
    const why = this.#refusal(acct, sid, iat, ms, now);
    if (why) return { outcome: why, started: false, kicked: [] };

    dropOlder(acct.live, now - idle - grace);
    const seen = acct.live.get(sid);
    let kicked: string[] = [];
    const started = seen === undefined || seen < now - idle;
    if (started) {
      const live = oldestFirst(acct.live, now - idle);
      if (live.length >= max) {
        if (this.#opts.policy === 'deny-new') return { outcome: 'denied', started: false, kicked: [] };
        kicked = live.slice(0, live.length - max + 1).map(([s]) => s);
        dropOlder(acct.kicked, now - tomb);
        for (const k of kicked) {
          acct.live.delete(k);
          acct.kicked.set(k, now);
        }
        for (const [k] of oldestFirst(acct.kicked, -Infinity).slice(0, -MAX_TOMBSTONES))
          acct.kicked.delete(k);
      }
    }
    acct.live.set(sid, now);
    this.#save(sub, acct);
    return { outcome: 'admitted', started, kicked };
  }

  async state(req: { sub: string; sid: string; iat: number; now?: number }): Promise<SessionState> {
    const sub = checkId('sub', req.sub);
    const sid = checkId('sid', req.sid);
    const iat = checkIat(req.iat);
    const [ms, now] = this.#time(req.now);
    const acct = this.#accounts.get(sub);
    if (!acct) return 'ended';
    const why = this.#refusal(acct, sid, iat, ms, now);
    if (why) return why;
    const seen = acct.live.get(sid);
    if (seen !== undefined && seen >= now - this.#opts.idleSeconds) return 'live';
    if (seen !== undefined && seen >= now - this.#opts.idleSeconds - this.#opts.refreshGraceSeconds)
      return 'idle';
    return 'ended';
  }

  async revoke(sub: string, at?: number): Promise<{ revoked: number }> {
    const account = checkId('sub', sub);
    const [ms, now] = this.#time(at);
    const acct = this.#accounts.get(account) ?? { live: new Map(), kicked: new Map(), revokedAt: undefined };
    const revoked = oldestFirst(acct.live, now - this.#opts.idleSeconds).length;
    acct.live.clear();
    acct.revokedAt = ms;
    this.#save(account, acct);
    return { revoked };
  }

  async list(sub: string, at?: number): Promise<SessionInfo[]> {
    const account = checkId('sub', sub);
    const [, now] = this.#time(at);
    const acct = this.#accounts.get(account);
    if (!acct) return [];
    return oldestFirst(acct.live, now - this.#opts.idleSeconds).map(([sid, seen]) => ({
      sid,
      lastSeen: seen * 1000,
    }));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#accounts.clear();
  }

  #time(explicit: number | undefined): [ms: number, seconds: number] {
    const ms = checkNow(explicit) ?? this.#clock.now();
    return [ms, Math.floor(ms / 1000)];
  }

  #refusal(
    acct: Account,
    sid: string,
    iat: number,
    ms: number,
    now: number,
  ): 'revoked' | 'replaced' | undefined {
    const { revokedAt } = acct;
    const tomb = this.#opts.tombstoneSeconds;
    if (revokedAt !== undefined && iat * 1000 < revokedAt && ms - revokedAt <= tomb * 1000) return 'revoked';
    const kickedAt = acct.kicked.get(sid);
    if (kickedAt !== undefined && kickedAt >= now - tomb) return 'replaced';
    return undefined;
  }

  /** Keeps the account as long as its longest-lived part, like the PEXPIREs of its Redis keys. */
  #save(sub: string, acct: Account): void {
    const { idleSeconds, refreshGraceSeconds, tombstoneSeconds } = this.#opts;
    const remembered = acct.kicked.size > 0 || acct.revokedAt !== undefined;
    const seconds = Math.max(idleSeconds + refreshGraceSeconds, remembered ? tombstoneSeconds : 0) + 1;
    this.#accounts.set(sub, acct, { ttl: seconds * 1000 });
  }
}

function dropOlder(times: Map<string, number>, since: number): void {
  for (const [sid, t] of times) if (t < since) times.delete(sid);
}

/** Entries at or after `since`, in Redis ZSET order: by time, then by the member's UTF-8 bytes. */
function oldestFirst(times: Map<string, number>, since: number): [string, number][] {
  return [...times].filter(([, t]) => t >= since).sort(([a, ta], [b, tb]) => ta - tb || byCodePoint(a, b));
}

/** UTF-8 byte order is code point order (JS `<` compares UTF-16 units, which differs above U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
