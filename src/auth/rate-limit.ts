/**
 * Per-key request budgets (issuing, refresh, failed auth). A fixed window per key in a bounded LRU: cheap,
 * and good enough for abuse control; a distributed limit is the store's job, not this one's.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';

export interface RateLimiter {
  /** Counts one event for `key`; throws 429 rate_limited once the window's budget is spent. */
  hit(key: string): void;
  /** Throws 429 when `key` has no budget left, without counting. */
  check(key: string): void;
}

export function createRateLimiter(opts: {
  limit: number;
  windowMs: number;
  maxEntries: number;
  clock: Clock;
}): RateLimiter {
  const windows = new LRUCache<string, { start: number; count: number }>({ max: opts.maxEntries });
  const current = (key: string) => {
    const now = opts.clock.now();
    let w = windows.get(key);
    if (!w || now - w.start >= opts.windowMs || now < w.start) {
      w = { start: now, count: 0 };
      windows.set(key, w);
    }
    return w;
  };
  const refuse = (w: { start: number }) => {
    const retry = Math.max(1, Math.ceil((w.start + opts.windowMs - opts.clock.now()) / 1000));
    return new ApiError('rate_limited', undefined, { headers: { 'retry-after': String(retry) } });
  };
  return {
    hit(key) {
      const w = current(key);
      w.count++;
      if (w.count > opts.limit) throw refuse(w);
    },
    check(key) {
      const w = current(key);
      if (w.count >= opts.limit) throw refuse(w);
    },
  };
}
