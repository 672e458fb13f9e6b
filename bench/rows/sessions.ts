/**
 * Rows 3d, 3e and 7: what sessions cost the store.
 * - Store commands per active session per second (SPEC §5: at most one per lease, whatever the request
 *   rate): 200 simulated players on the Redis gateway, each reloading the playlist and fetching a segment
 *   every 2 s; then a burst, the same number of sessions requesting as fast as wrk can send. Both count
 *   live sessions only: the admissions that start them are left out (the players' first period, a short
 *   run before the burst), so the figure is the steady cost the lease bounds.
 * - Active sessions per GB of Redis: 100 000 sessions admitted through the store's own Lua script into a
 *   fresh redis-server, `INFO memory` used_memory before and after.
 */

import { randomId } from '../../src/auth/issue.ts';
import { RedisSessionStore } from '../../src/sessions/redis.ts';
import { createRedisClient, whenReady } from '../../src/sessions/redis-client.ts';
import { startRedis } from '../../test/helpers/redis.ts';
import { objectPath } from '../lib/data.ts';
import { simulatePlayers } from '../lib/players.ts';
import type { Row } from '../lib/report.ts';
import type { Settings } from '../lib/settings.ts';
import type { Stack } from '../lib/stack.ts';
import { errorCount, runWrk } from '../lib/wrk.ts';
import { redisCommands } from './throughput.ts';

/** SESSION_LEASE default (s): the bound is one store command per session per lease. */
const LEASE_S = 2;
const GB = 1e9;
const SESSIONS_PER_GB_TARGET = 5e6;

export async function storeCommandRows(stack: Stack, s: Settings): Promise<Row[]> {
  const gw = stack.gateways.redis;
  const counts = async () => ({
    admit: await gw.counter('gateway_session_store_commands_total', { op: 'admit' }),
    redis: await redisCommands(stack),
  });

  // Players: the first period admits every session; the count starts after it, once every player plays.
  const players = await stack.tokens.mint('player', s.players.count);
  let atRamp: { admit: number; redis: number; requests: number; t: number } | undefined;
  const started = performance.now();
  const run = await simulatePlayers({
    url: gw.url,
    tokens: players,
    periodMs: s.players.periodMs,
    seconds: s.players.seconds,
    onTick: async (requests) => {
      if (!atRamp && performance.now() - started >= s.players.periodMs)
        atRamp = { ...(await counts()), requests, t: performance.now() };
    },
  });
  const after = await counts();
  const ramp = atRamp ?? { admit: 0, redis: 0, requests: 0, t: started };
  const playerRow = perSession(
    '3d',
    `${run.players} players, playlist + segment every ${s.players.periodMs / 1000} s`,
    {
      sessions: run.players,
      seconds: (performance.now() - ramp.t) / 1000,
      requests: run.requests - ramp.requests,
      commands: after.admit - ramp.admit,
      redis: after.redis - ramp.redis,
      failures: Object.values(run.failures).reduce((a, b) => a + b, 0),
      raw: run,
    },
  );

  // Burst: every session admitted by a short first run, then counted over whole lease periods at full speed.
  const burstTokens = await stack.tokens.mint('burst', s.players.count);
  const requests = burstTokens.map((t) => ({
    path: objectPath('small'),
    headers: { authorization: `Bearer ${t}` },
  }));
  await runWrk({ url: gw.url, requests, connections: 64, seconds: 1 });
  const b0 = await counts();
  const burst = await runWrk({
    url: gw.url,
    requests,
    connections: 64,
    seconds: s.quick ? LEASE_S : 3 * LEASE_S,
  });
  const b1 = await counts();
  const burstRow = perSession('3e', `burst: ${burstTokens.length} sessions at full speed (1 KB)`, {
    sessions: burstTokens.length,
    seconds: burst.seconds,
    requests: burst.requests,
    commands: b1.admit - b0.admit,
    redis: b1.redis - b0.redis,
    failures: errorCount(burst),
    raw: burst,
  });
  return [playerRow, burstRow];
}

function perSession(
  id: string,
  pattern: string,
  m: {
    sessions: number;
    seconds: number;
    requests: number;
    commands: number;
    redis: number;
    failures: number;
    raw: unknown;
  },
): Row {
  const perSessionSecond = m.commands / m.sessions / m.seconds;
  const redisPerSessionSecond = m.redis / m.sessions / m.seconds;
  const reqRate = m.requests / m.sessions / m.seconds;
  const bound = 1 / LEASE_S;
  return {
    id,
    measure: `store commands per active session per second, ${pattern}`,
    value: `${perSessionSecond.toFixed(3)} (Redis EVALSHA: ${redisPerSessionSecond.toFixed(3)})`,
    baseline: `${reqRate.toFixed(1)} requests per session per second`,
    target: `≤ ${bound.toFixed(2)} (1 per lease)`,
    met: m.failures === 0 && perSessionSecond <= bound,
    ...(m.failures ? { note: `${m.failures} failed requests` } : {}),
    raw: { ...m, perSessionSecond, redisPerSessionSecond, requestsPerSessionSecond: reqRate },
  };
}

export async function redisMemoryRow(count: number): Promise<Row> {
  const redis = await startRedis();
  const client = createRedisClient({ url: redis.url, commandTimeoutMs: 10_000 });
  const store = new RedisSessionStore(client, {
    policy: 'kick-oldest',
    idleSeconds: 20,
    refreshGraceSeconds: 60,
    tombstoneSeconds: 690,
  });
  try {
    if (!(await whenReady(client, 10_000)))
      throw new Error('redis-server for the memory row is not reachable');
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.cli('info', 'memory'))?.[1]);
    const before = await usedMemory();
    const iat = Math.floor(Date.now() / 1000);
    const batch = 2000;
    for (let i = 0; i < count; i += batch) {
      const admits: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(count, i + batch); j++)
        admits.push(store.admit({ sub: `acct-${String(j).padStart(8, '0')}`, sid: randomId(), max: 1, iat }));
      await Promise.all(admits);
    }
    const after = await usedMemory();
    const keys = Number(await redis.cli('dbsize'));
    const perSession = (after - before) / count;
    const perGb = GB / perSession;
    return {
      id: '7',
      measure: `active sessions per GB of Redis (${count.toLocaleString('en-US')} sessions, used_memory)`,
      value: `${(perGb / 1e6).toFixed(1)} M per GB (${perSession.toFixed(0)} B per session)`,
      baseline: '—',
      target: `≥ ${SESSIONS_PER_GB_TARGET / 1e6} M per GB`,
      met: perGb >= SESSIONS_PER_GB_TARGET,
      raw: { count, usedMemoryBefore: before, usedMemoryAfter: after, keys, bytesPerSession: perSession },
    };
  } finally {
    await store.close();
    await redis.stop();
  }
}
