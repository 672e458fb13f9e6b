/**
 * The delivery instruments, asked for once per registry. Labels are bounded: object kinds, cache results,
 * failover reasons and the configured origin URLs — never a path or a token.
 */
import { type Counter, type Gauge, type Histogram, LATENCY_BUCKETS, type Metrics } from '../metrics.ts';

export interface DeliveryMetrics {
  /** hit ratio = hit / (hit + miss + coalesced + bypass) */
  cacheRequests: Counter;
  /** bytes answered, by where they came from (cache or origin): byte hit ratio */
  cacheBytes: Counter;
  cacheSize: Gauge;
  coalescedWaits: Counter;
  originLatency: Histogram;
  failovers: Counter;
  originUp: Gauge;
  backwardsPlaylists: Counter;
}

const byRegistry = new WeakMap<Metrics, DeliveryMetrics>();

export function deliveryMetrics(metrics: Metrics): DeliveryMetrics {
  let m = byRegistry.get(metrics);
  if (!m) {
    m = {
      cacheRequests: metrics.counter({
        name: 'edge_cache_requests_total',
        help: 'Object requests by kind and cache result (hit, miss, coalesced, bypass)',
        labelNames: ['kind', 'result'],
      }),
      cacheBytes: metrics.counter({
        name: 'edge_cache_bytes_total',
        help: 'Body bytes answered from the cache (hit) or fetched from an origin (miss)',
        labelNames: ['result'],
      }),
      cacheSize: metrics.gauge({ name: 'edge_cache_size_bytes', help: 'Bytes held by the segment cache' }),
      coalescedWaits: metrics.counter({
        name: 'edge_cache_coalesced_waits_total',
        help: 'Requests that waited for another request to fetch the same object, by outcome',
        labelNames: ['outcome'],
      }),
      originLatency: metrics.histogram({
        name: 'edge_origin_first_byte_seconds',
        help: 'Time to response headers from an origin, by origin and status or failure',
        labelNames: ['origin', 'outcome'],
        buckets: LATENCY_BUCKETS,
      }),
      failovers: metrics.counter({
        name: 'edge_origin_failovers_total',
        help: 'Requests moved to another origin, by the reason the previous one was passed over',
        labelNames: ['reason'],
      }),
      originUp: metrics.gauge({
        name: 'edge_origin_up',
        help: '1 when an origin is healthy and not marked down, else 0',
        labelNames: ['origin'],
      }),
      backwardsPlaylists: metrics.counter({
        name: 'edge_playlist_backwards_total',
        help: 'Playlists refused because they were older than one already served',
      }),
    };
    byRegistry.set(metrics, m);
  }
  return m;
}
