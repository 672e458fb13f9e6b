/**
 * Side-by-side measurement: the subjects of a group (e.g. bare Hono, gateway with memory sessions,
 * gateway with Redis sessions, all on the 1 KB object) are warmed up, then measured in interleaved rounds
 * with the same wrk settings. A ratio between two subjects is taken round by round and the median kept,
 * so a burst of load from a neighbour on the shared cores weighs on one round, not on one subject.
 */
import { cpuSeconds } from './cpu.ts';
import { median } from './stats.ts';
import { type BenchRequest, errorCount, type LoadResult, runWrk } from './wrk.ts';

export interface Subject {
  id: string;
  url: string;
  requests: BenchRequest[];
  connections: number;
  /** the subject's process (its children are counted too), for CPU time per request */
  pid: number | undefined;
  /** counters read before and after each measured round (e.g. store commands); deltas are kept */
  counters?: () => Promise<Record<string, number>>;
}

export interface Round extends LoadResult {
  /** counter deltas over the round */
  counters: Record<string, number>;
  /** CPU time (user + system) the subject spent per request, in µs */
  cpuUsPerRequest: number;
}

export interface SubjectResult {
  id: string;
  rounds: Round[];
  reqPerSec: number;
  bytesPerSec: number;
  cpuUsPerRequest: number;
  errors: number;
}

export interface RoundSettings {
  warmupSeconds: number;
  /** warm each process once per run rather than once per group (quick runs) */
  warmOnce?: boolean;
  seconds: number;
  rounds: number;
}

/** Processes warmed up so far in this run. */
const warmed = new Set<number>();

/** Runs every subject once per round, in a rotated order; `between` runs after each wrk run. */
export async function measureGroup(
  subjects: Subject[],
  s: RoundSettings,
  between: () => Promise<void>,
): Promise<Map<string, SubjectResult>> {
  for (const subject of subjects) {
    if (s.warmOnce && subject.pid !== undefined && warmed.has(subject.pid)) continue;
    await runWrk({ ...subject, seconds: s.warmupSeconds });
    if (subject.pid !== undefined) warmed.add(subject.pid);
    await between();
  }
  const rounds = new Map<string, Round[]>(subjects.map((x) => [x.id, []]));
  for (let r = 0; r < s.rounds; r++) {
    const order = [...subjects.slice(r % subjects.length), ...subjects.slice(0, r % subjects.length)];
    for (const subject of order) {
      const before = (await subject.counters?.()) ?? {};
      const cpuBefore = subject.pid ? await cpuSeconds(subject.pid) : Number.NaN;
      const result = await runWrk({ ...subject, seconds: s.seconds });
      const cpu = subject.pid ? (await cpuSeconds(subject.pid)) - cpuBefore : Number.NaN;
      const after = (await subject.counters?.()) ?? {};
      const counters = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
      rounds.get(subject.id)?.push({ ...result, counters, cpuUsPerRequest: (cpu * 1e6) / result.requests });
      await between();
    }
  }
  return new Map(
    subjects.map((x) => {
      const rs = rounds.get(x.id) ?? [];
      return [
        x.id,
        {
          id: x.id,
          rounds: rs,
          reqPerSec: median(rs.map((r) => r.reqPerSec)),
          bytesPerSec: median(rs.map((r) => r.bytesPerSec)),
          cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
          errors: rs.reduce((n, r) => n + errorCount(r), 0),
        },
      ];
    }),
  );
}

/** Median over rounds of `a / b` for a metric, pairing the rounds run side by side. */
export function ratio(a: SubjectResult, b: SubjectResult, metric: 'reqPerSec' | 'bytesPerSec'): number {
  const n = Math.min(a.rounds.length, b.rounds.length);
  const per: number[] = [];
  for (let i = 0; i < n; i++) per.push((a.rounds[i] as Round)[metric] / (b.rounds[i] as Round)[metric]);
  return median(per);
}

/** Sum of a counter's deltas over all measured rounds, divided by the requests of those rounds. */
export function perRequest(x: SubjectResult, counter: string): number {
  const total = x.rounds.reduce((n, r) => n + (r.counters[counter] ?? 0), 0);
  const requests = x.rounds.reduce((n, r) => n + r.requests, 0);
  return requests ? total / requests : Number.NaN;
}
