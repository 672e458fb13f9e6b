/**
 * Row 9: a soak at a fixed rate on the Redis gateway — 1 000 simulated players (distinct accounts, own
 * connections, query tokens, rewritten playlists) each reloading the playlist and fetching a segment every
 * 2 s, i.e. 1 000 requests per second — with the gateway's resident memory sampled every second. The gateway
 * has already served the throughput rows, so its caches and JIT are warm when the soak starts; the first
 * two periods are the ramp (1 000 new connections, sessions and token verifications), so "start" is the
 * resident memory once every player is playing, and "end" is after the last request.
 */
import { simulatePlayers } from '../lib/players.ts';
import { fmt, type Row } from '../lib/report.ts';
import type { Settings } from '../lib/settings.ts';
import type { Stack } from '../lib/stack.ts';

/** Resident memory may grow this much over the soak and still count as flat. */
const FLAT_GROWTH = 0.1;

export async function soakRow(stack: Stack, s: Settings['soak']): Promise<Row> {
  const gw = stack.gateways.redis;
  const tokens = await stack.tokens.mint('soak', s.players);
  const beforeSoak = await gw.rss();
  const rampSeconds = (2 * s.periodMs) / 1000;
  const rss: number[] = [];
  const run = await simulatePlayers({
    url: gw.url,
    tokens,
    periodMs: s.periodMs,
    seconds: s.seconds,
    onTick: async () => {
      rss.push(await gw.rss());
    },
  });
  rss.push(await gw.rss());
  const start = rss[Math.min(rampSeconds, rss.length - 1)] as number;
  const end = rss.at(-1) as number;
  const failures = Object.values(run.failures).reduce((a, b) => a + b, 0);
  const rate = run.requests / run.seconds;
  const growth = (end - start) / start;
  return {
    id: '9',
    measure: `soak ${Math.round(run.seconds)} s at ${Math.round(rate)} req/s (${run.players} players, Redis sessions)`,
    value: `${failures} errors; RSS ${fmt.mb(start)} → ${fmt.mb(end)} (before ${fmt.mb(beforeSoak)}, max ${fmt.mb(Math.max(...rss))}); p99 ${fmt.ms(run.latencyMs.p99)}`,
    baseline: '—',
    target: `0 errors, RSS growth after ${rampSeconds} s ramp ≤ ${FLAT_GROWTH * 100} %`,
    met: failures === 0 && growth <= FLAT_GROWTH,
    ...(failures ? { note: `failures by status/code: ${JSON.stringify(run.failures)}` } : {}),
    raw: { run, rssBeforeSoak: beforeSoak, rssEverySecond: rss, rampSeconds },
  };
}
