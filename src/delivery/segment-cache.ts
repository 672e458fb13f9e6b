/**
 * In-memory object cache bounded by bytes (lru-cache `maxSize` + `sizeCalculation`). Keys are
 * `{channel}/{object}`, never a token or a query. Freshness is checked against the injected clock, so a
 * test moves time instead of sleeping; an expired entry is dropped when it is next looked up, and the
 * LRU evicts the least recently used entries first when the byte bound is reached.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';

export interface SegmentCacheOptions<V> {
  /** total bytes held; 0 disables caching (every lookup misses) */
  maxBytes: number;
  /** larger objects are never stored: they stream through */
  maxObjectBytes: number;
  clock: Clock;
  sizeOf: (value: V) => number;
  /** called whenever the bytes held change, for a gauge */
  onSize?: (bytes: number) => void;
}

interface Entry<V> {
  value: V;
  size: number;
  expiresAt: number;
}

/** Bookkeeping per entry (key, timestamps, list links) counted against the bound with the payload. */
const ENTRY_OVERHEAD = 256;

export class SegmentCache<V> {
  readonly maxObjectBytes: number;
  private readonly lru: LRUCache<string, Entry<V>> | undefined;
  private readonly clock: Clock;
  private readonly sizeOf: (value: V) => number;
  private readonly onSize: (bytes: number) => void;

  constructor(opts: SegmentCacheOptions<V>) {
    this.clock = opts.clock;
    this.sizeOf = opts.sizeOf;
    this.onSize = opts.onSize ?? (() => {});
    this.maxObjectBytes = Math.min(opts.maxObjectBytes, Math.max(0, opts.maxBytes - ENTRY_OVERHEAD));
    this.lru =
      opts.maxBytes > ENTRY_OVERHEAD
        ? new LRUCache<string, Entry<V>>({
            maxSize: opts.maxBytes,
            sizeCalculation: (e) => e.size,
            dispose: () => this.onSize(this.bytes),
          })
        : undefined;
  }

  /** Bytes currently held (payload plus per-entry overhead). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  /** False when caching is off (`maxBytes` 0): nothing is ever kept. */
  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** Whether an object of `size` bytes would be kept. */
  accepts(size: number): boolean {
    return this.lru !== undefined && size <= this.maxObjectBytes;
  }

  get(key: string): V | undefined {
    const entry = this.lru?.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.lru?.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` for `ttlMs`; returns false (and stores nothing) when it is over the per-object cap. */
  set(key: string, value: V, ttlMs: number): boolean {
    const payload = this.sizeOf(value);
    if (!this.lru || !this.accepts(payload) || ttlMs <= 0) return false;
    this.lru.set(key, { value, size: payload + ENTRY_OVERHEAD, expiresAt: this.clock.now() + ttlMs });
    this.onSize(this.bytes);
    return true;
  }

  clear(): void {
    this.lru?.clear();
  }
}
