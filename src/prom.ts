/**
 * The Metrics port on prom-client, for the Node entries (gateway and origin). One registry per app
 * instance, injected, so two apps in one process (tests, bench) never share counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CounterDef, HistogramDef, Labels, Metrics } from './metrics.ts';

const MAX_CHILDREN = 10_000;

/** prom-client hashes the label object on every call; the hot path records a handful of label sets, so
 * their children are looked up by a joined key instead (bounded; past the bound, no memo). */
function children<T>(def: CounterDef, make: (labels: Labels) => T): (labels: Labels) => T {
  const names = def.labelNames ?? [];
  const memo = new Map<string, T>();
  return (labels) => {
    let key = '';
    for (const n of names) key += `${labels[n] ?? ''}\u0001`;
    let c = memo.get(key);
    if (c === undefined) {
      c = make(labels);
      if (memo.size < MAX_CHILDREN) memo.set(key, c);
    }
    return c;
  };
}

export function promMetrics(registry: Registry): Metrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    counter(def: CounterDef) {
      const m =
        existing<Counter>(def.name) ??
        new Counter({
          name: def.name,
          help: def.help,
          labelNames: [...(def.labelNames ?? [])],
          registers: [registry],
        });
      const child = children(def, (labels) => m.labels(labels));
      return { inc: (labels, value = 1) => (labels ? child(labels).inc(value) : m.inc(value)) };
    },
    gauge(def: CounterDef) {
      const m =
        existing<Gauge>(def.name) ??
        new Gauge({
          name: def.name,
          help: def.help,
          labelNames: [...(def.labelNames ?? [])],
          registers: [registry],
        });
      return {
        set: (value, labels) => (labels ? m.set(labels, value) : m.set(value)),
        inc: (labels, value = 1) => (labels ? m.inc(labels, value) : m.inc(value)),
        dec: (labels, value = 1) => (labels ? m.dec(labels, value) : m.dec(value)),
      };
    },
    histogram(def: HistogramDef) {
      const m =
        existing<Histogram>(def.name) ??
        new Histogram({
          name: def.name,
          help: def.help,
          labelNames: [...(def.labelNames ?? [])],
          ...(def.buckets ? { buckets: [...def.buckets] } : {}),
          registers: [registry],
        });
      const child = children(def, (labels) => m.labels(labels));
      return { observe: (value, labels) => (labels ? child(labels).observe(value) : m.observe(value)) };
    },
  };
}
