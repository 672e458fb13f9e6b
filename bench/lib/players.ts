/**
 * Simulated live players: each has its own account and token (in the query, as hls.js sends it) and, every
 * period, reloads the media playlist and fetches the newest segment the playlist lists — the URI as the
 * gateway rewrote it, token included. Players start spread over one period, as real viewers are, and keep
 * their schedule (a late answer does not make the next request early or doubled), so the total rate is
 * fixed: players × 2 / period. Each player keeps its own keep-alive connection, as a viewer's device does.
 * Runs in the bench process with undici; no server lives here.
 */
import { Client } from 'undici';
import { objectPath } from './data.ts';
import { percentile } from './stats.ts';

export interface PlayerRun {
  players: number;
  seconds: number;
  requests: number;
  /** answers other than 200, and transport errors, by status or error code */
  failures: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
}

export async function simulatePlayers(o: {
  url: string;
  tokens: string[];
  periodMs: number;
  seconds: number;
  /** called about once a second while the players play, with the requests sent so far */
  onTick?: (requestsSoFar: number) => Promise<void>;
}): Promise<PlayerRun> {
  const latencies: number[] = [];
  let requests = 0;
  const failures: Record<string, number> = {};
  const fail = (why: string) => {
    failures[why] = (failures[why] ?? 0) + 1;
  };
  const started = performance.now();
  const end = started + o.seconds * 1000;

  /** GET `path`; the body as text when `text` (a playlist), else read and dropped (a segment). */
  const get = async (client: Client, path: string, text: boolean): Promise<string | undefined> => {
    const t = performance.now();
    requests++;
    try {
      const res = await client.request({ method: 'GET', path });
      let body = '';
      if (text) body = await res.body.text();
      else await res.body.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.statusCode !== 200) {
        fail(String(res.statusCode));
        return undefined;
      }
      return body;
    } catch (err) {
      fail((err as { code?: string }).code ?? 'error');
      return undefined;
    }
  };

  const playlistUrl = o.url + objectPath('playlist');
  const play = async (token: string, offsetMs: number) => {
    const client = new Client(o.url, { keepAliveTimeout: 3 * o.periodMs });
    const query = `?token=${encodeURIComponent(token)}`;
    let due = started + offsetMs;
    await sleepUntil(due);
    while (due < end) {
      const playlist = await get(client, objectPath('playlist') + query, true);
      const newest = playlist
        ?.split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .at(-1);
      if (newest) {
        const segment = new URL(newest, playlistUrl);
        await get(client, segment.pathname + segment.search, false);
      }
      due += o.periodMs;
      await sleepUntil(due);
    }
    await client.close();
  };

  let ticking = true;
  const ticks = (async () => {
    while (ticking) {
      await o.onTick?.(requests);
      await sleepUntil(performance.now() + 1000);
    }
  })();
  await Promise.all(o.tokens.map((t, i) => play(t, (i * o.periodMs) / o.tokens.length)));
  ticking = false;
  await ticks;
  return {
    players: o.tokens.length,
    seconds: (performance.now() - started) / 1000,
    requests,
    failures,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
    },
  };
}

function sleepUntil(t: number): Promise<void> {
  const ms = t - performance.now();
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
