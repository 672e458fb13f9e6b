/**
 * Row 8: what a dead primary origin costs a player. Two gateways with the cache off serve the same 1 KB
 * object from the same origin; the failover one lists a refusing port first. A probe fetches the object
 * once from each, one after the other, and keeps the difference.
 *
 * The failover gateway marks the primary down on its first refusal, for a 10 s cool-off (active health
 * checks are off on it), after which the next request tries the primary again. So the probe runs between
 * the throughput runs (when the machine is otherwise quiet): a probe whose request moved over because of a
 * refused connection (the gateway's `edge_origin_failovers_total{reason="connect"}` went up) is a
 * "refused" sample, the others are "marked down" samples. The very first probe meets two cold processes
 * and is kept apart.
 */
import { objectPath } from '../lib/data.ts';
import { fmt, type Row } from '../lib/report.ts';
import type { Stack } from '../lib/stack.ts';
import { median, percentile } from '../lib/stats.ts';

const TARGET_MS = 300;
const COOL_OFF_MS = 10_000;

interface Sample {
  healthyMs: number;
  failoverMs: number;
  refused: boolean;
}

export interface FailoverProbe {
  /** one probe; cheap (two requests) */
  sample(): Promise<void>;
  /** more marked-down samples, at least one refused sample, the hung-primary samples, and the rows */
  rows(samples: number): Promise<Row[]>;
}

export async function failoverProbe(stack: Stack): Promise<FailoverProbe> {
  const [token] = await stack.tokens.mint('failover', 1);
  const headers = { authorization: `Bearer ${token}` };
  const healthy = stack.gateways.noCache;
  const failover = stack.gateways.failover;
  const path = objectPath('small');
  const samples: Sample[] = [];
  let cold: Sample | undefined;
  let lastRefused = 0;

  const hung = stack.gateways.hung;
  const timed = async (base: string): Promise<number> => {
    // keep-alive connection first, so the timed request measures the gateway and not a TCP handshake
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    const started = performance.now();
    const res = await fetch(base + path, { headers });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`failover probe: ${base}${path} answered ${res.status}`);
    return ms;
  };
  const refusals = () => failover.counter('edge_origin_failovers_total', { reason: 'connect' });

  const sample = async () => {
    const before = await refusals();
    const healthyMs = await timed(healthy.url);
    const failoverMs = await timed(failover.url);
    const refused = (await refusals()) > before;
    if (refused) lastRefused = performance.now();
    const s = { healthyMs, failoverMs, refused };
    if (cold) samples.push(s);
    else cold = s;
  };

  return {
    sample,
    async rows(n) {
      if (!samples.some((s) => s.refused)) {
        // wait out the cool-off once, so even a short run has a warm refused sample
        const wait = Math.max(0, lastRefused + COOL_OFF_MS + 500 - performance.now());
        await new Promise((r) => setTimeout(r, wait));
        await sample();
      }
      for (let i = 0; i < n; i++) await sample();
      const hungSamples: Sample[] = [];
      for (let i = 0; i < Math.max(3, n / 4); i++)
        hungSamples.push({
          healthyMs: await timed(healthy.url),
          failoverMs: await timed(hung.url),
          refused: false,
        });
      return [
        row(
          '8a',
          'refused connection (primary not yet marked)',
          samples.filter((s) => s.refused),
        ),
        row(
          '8b',
          'primary already marked down',
          samples.filter((s) => !s.refused),
        ),
        row('8c', 'hung primary, health checks on (after their first round)', hungSamples),
      ].map((r) => ({ ...r, raw: { ...(r.raw as object), coldFirstProbe: cold } }));
    },
  };
}

function row(id: string, what: string, samples: Sample[]): Row {
  const extra = samples.map((s) => s.failoverMs - s.healthyMs);
  const med = median(extra);
  const worst = percentile(extra, 100);
  const healthy = median(samples.map((s) => s.healthyMs));
  return {
    id,
    measure: `extra latency, dead primary origin: ${what}`,
    value: samples.length ? `${fmt.ms(med)} median, ${fmt.ms(worst)} max (n=${samples.length})` : 'no sample',
    baseline: `healthy request ${fmt.ms(healthy)}`,
    target: `< ${TARGET_MS} ms`,
    met: samples.length > 0 && worst < TARGET_MS,
    raw: { samples },
  };
}
