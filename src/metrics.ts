/**
 * Metrics port. The core asks for named instruments once, at construction, and records into them on the
 * hot path; runtime entries decide where they go (prom-client on Node, nothing on Workers).
 * Labels are bounded sets (route patterns, error codes), never raw paths or tokens.
 */
export type Labels = Record<string, string | number>;

export interface CounterDef {
  name: string;
  help: string;
  labelNames?: readonly string[];
}
export interface HistogramDef extends CounterDef {
  /** Upper bounds in the instrument's unit (seconds for latencies). */
  buckets?: readonly number[];
}

export interface Counter {
  inc(labels?: Labels, value?: number): void;
}
export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface Metrics {
  counter(def: CounterDef): Counter;
  gauge(def: CounterDef): Gauge;
  histogram(def: HistogramDef): Histogram;
}

const noopInstrument: Counter & Gauge & Histogram = {
  inc() {},
  dec() {},
  set() {},
  observe() {},
};

/** For runtimes without a scrape endpoint and for tests that do not look at metrics. */
export const noopMetrics: Metrics = {
  counter: () => noopInstrument,
  gauge: () => noopInstrument,
  histogram: () => noopInstrument,
};

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
