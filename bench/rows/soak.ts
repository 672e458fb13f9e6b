/**
 * Row 9: a soak at a fixed rate — 1 000 simulated players (distinct accounts, own connections, query tokens,
 * rewritten playlists) each reloading the playlist and fetching a segment every 2 s, i.e. 1 000 requests
 * per second — against a gateway with Redis sessions that serves nothing else.
 *
 * The first two periods are the ramp (1 000 new connections, sessions and token verifications). Memory is
 * read once every player is playing and again at the end: resident memory, as an operator sees it, and the
 * live JS heap after a full collection (through the inspector). V8 grows its heap between major
 * collections, so resident memory climbs for a while under any steady load; a leak shows as live heap
 * that does not come back down, and that is what the target judges.
 */
import { connectInspector } from '../lib/inspector.ts';
import { simulatePlayers } from '../lib/players.ts';
import { fmt, type Row } from '../lib/report.ts';
import type { Settings } from '../lib/settings.ts';
import type { Stack } from '../lib/stack.ts';

/** Live heap may grow this much over the soak and still count as flat (a cache warming, a JIT tier). */
const FLAT_GROWTH = 0.1;

export async function soakRow(stack: Stack, s: Settings['soak']): Promise<Row> {
  const gw = stack.gateways.soak;
  const inspector = await connectInspector(gw.proc);
  try {
    const tokens = await stack.tokens.mint('soak', s.players);
    const rampMs = 2 * s.periodMs;
    const started = performance.now();
    const rss: number[] = [];
    let atRamp: { rss: number; heap: number } | undefined;
    const run = await simulatePlayers({
      url: gw.url,
      tokens,
      periodMs: s.periodMs,
      seconds: s.seconds,
      onTick: async () => {
        rss.push(await gw.rss());
        if (!atRamp && performance.now() - started >= rampMs)
          atRamp = { heap: await inspector.liveHeap(), rss: await gw.rss() };
      },
    });
    const end = { heap: await inspector.liveHeap(), rss: await gw.rss() };
    const start = atRamp ?? end;
    const failures = Object.values(run.failures).reduce((a, b) => a + b, 0);
    // the schedule's window: the last answers may land a moment after it
    const rate = run.requests / s.seconds;
    const heapGrowth = (end.heap - start.heap) / start.heap;
    return {
      id: '9',
      measure: `soak ${s.seconds} s at ${Math.round(rate)} req/s (${run.players} players, Redis sessions)`,
      value:
        `${failures} errors; RSS ${fmt.mb(start.rss)} → ${fmt.mb(end.rss)}; ` +
        `live heap ${fmt.mb(start.heap)} → ${fmt.mb(end.heap)}; p99 ${fmt.ms(run.latencyMs.p99)}`,
      baseline: '—',
      target: `0 errors, live heap after the ramp flat (≤ +${FLAT_GROWTH * 100} %)`,
      met: failures === 0 && atRamp !== undefined && heapGrowth <= FLAT_GROWTH,
      ...(failures ? { note: `failures by status/code: ${JSON.stringify(run.failures)}` } : {}),
      raw: { run, atRamp: start, atEnd: end, rssEverySecond: rss, rampMs },
    };
  } finally {
    inspector.close();
  }
}
