/** A Metrics port that keeps what was recorded, so tests read counters the way a dashboard would. */
import type { Labels, Metrics } from '../../src/metrics.ts';

export interface RecordedMetrics extends Metrics {
  /** sum of a counter (or gauge value) over the series whose labels include `labels` */
  value(name: string, labels?: Labels): number;
  /** observations of a histogram */
  observations(name: string): number;
}

export function recordingMetrics(): RecordedMetrics {
  const series = new Map<string, { labels: Labels; value: number }[]>();
  const observed = new Map<string, number>();
  const find = (name: string, labels: Labels = {}) => {
    const all = series.get(name) ?? [];
    series.set(name, all);
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = all.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === key);
    if (!s) {
      s = { labels, value: 0 };
      all.push(s);
    }
    return s;
  };
  return {
    counter: ({ name }) => ({
      inc: (labels, value = 1) => {
        find(name, labels).value += value;
      },
    }),
    gauge: ({ name }) => ({
      set: (value, labels) => {
        find(name, labels).value = value;
      },
      inc: (labels, value = 1) => {
        find(name, labels).value += value;
      },
      dec: (labels, value = 1) => {
        find(name, labels).value -= value;
      },
    }),
    histogram: ({ name }) => ({
      observe: () => {
        observed.set(name, (observed.get(name) ?? 0) + 1);
      },
    }),
    value: (name, labels = {}) =>
      (series.get(name) ?? [])
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
    observations: (name) => observed.get(name) ?? 0,
  };
}
