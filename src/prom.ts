/**
 * The Metrics port on prom-client, for the Node entries (gateway and origin). One registry per app
 * instance, injected, so two apps in one process (tests, bench) never share counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CounterDef, HistogramDef, Metrics } from './metrics.ts';

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
      return { inc: (labels, value = 1) => (labels ? m.inc(labels, value) : m.inc(value)) };
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
      return { observe: (value, labels) => (labels ? m.observe(labels, value) : m.observe(value)) };
    },
  };
}
