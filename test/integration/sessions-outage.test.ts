/**
 * Store outage (SPEC §5): a real redis-server is SIGKILLed, or frozen with SIGSTOP, under a serving guard,
 * then restarted empty on the same port; the guard is never recreated. The guard's lease runs on a manual
 * clock; Redis keeps its own time, with an idle period far longer than the test.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { createSessionGuard } from '../../src/sessions/guard.ts';
import { RedisSessionStore } from '../../src/sessions/redis.ts';
import { createRedisClient, whenReady } from '../../src/sessions/redis-client.ts';
import type { SessionGuard } from '../../src/sessions/types.ts';
import { waitFor } from '../helpers/net.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';
import { type RecordedMetrics, recordingMetrics } from '../helpers/session-metrics.ts';

const IDLE = 300;
const LEASE = 2_000;

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Gateway {
  guard: SessionGuard;
  client: Redis;
  metrics: RecordedMetrics;
  logs: string[];
  clock: ReturnType<typeof manualClock>;
}

const open: Gateway[] = [];
afterEach(async () => {
  // a test that failed midway may leave the server frozen or dead
  redis.resume();
  if ((await redis.cli('ping').catch(() => '')) !== 'PONG') await redis.restart();
  await Promise.all(open.splice(0).map((g) => g.guard.close()));
});

async function gateway(
  failure: 'open' | 'closed',
  opts: { storeTimeoutMs?: number; commandTimeoutMs?: number } = {},
) {
  const client = createRedisClient({
    url: redis.url,
    commandTimeoutMs: opts.commandTimeoutMs ?? 500,
  }) as Redis;
  expect(await whenReady(client, 15_000)).toBe(true);
  const store = new RedisSessionStore(client, {
    policy: 'deny-new',
    idleSeconds: IDLE,
    refreshGraceSeconds: 60,
    tombstoneSeconds: 690,
  });
  const clock = manualClock(Date.now());
  const metrics = recordingMetrics();
  const logs: string[] = [];
  const guard = createSessionGuard({
    store,
    clock,
    leaseMs: LEASE,
    idleSeconds: IDLE,
    failure,
    storeTimeoutMs: opts.storeTimeoutMs ?? 1_000,
    metrics,
    logger: createLogger({ level: 'info', write: (l) => logs.push(l), now: clock.now }),
  });
  const g: Gateway = { guard, client, metrics, logs, clock };
  open.push(g);
  return g;
}

const session = (sub: string, sid: string) => ({ sub, sid, max: 1, iat: Math.floor(Date.now() / 1000) - 5 });
const unavailable = expect.objectContaining({ code: 'store_unavailable', status: 503 });
const limited = expect.objectContaining({ code: 'session_limit', status: 409 });

async function killRedis(g: Gateway) {
  await redis.kill();
  await waitFor(() => g.client.status !== 'ready', { what: 'client to notice the dead server' });
}

async function restartRedis(g: Gateway) {
  await redis.restart();
  await waitFor(() => g.guard.ready(), { timeoutMs: 30_000, what: 'guard ready again' });
}

describe('session store outage', () => {
  it('fail-closed: refuses new sessions, admitted ones play on, and the limit holds again after restart', async () => {
    const g = await gateway('closed');
    await g.guard.admit(session('alice', 'A'));
    await g.guard.admit(session('erin', 'E'));
    await killRedis(g);

    expect(await g.guard.ready()).toBe(false);
    // alice keeps playing through the outage, one store attempt per lease, past the idle period
    for (let t = 0; t <= IDLE * 1000; t += LEASE) {
      await g.guard.admit(session('alice', 'A'));
      g.clock.advance(LEASE);
    }
    await expect(g.guard.admit(session('bob', 'B'))).rejects.toEqual(unavailable);
    // erin stopped playing longer than the idle period ago: she is a new session now
    await expect(g.guard.admit(session('erin', 'E'))).rejects.toEqual(unavailable);
    await g.guard.checkRefresh(session('alice', 'A'));
    await expect(g.guard.checkRefresh(session('carol', 'C'))).rejects.toEqual(unavailable);
    await expect(g.guard.revoke('alice')).rejects.toEqual(unavailable);
    await expect(g.guard.list('alice')).rejects.toEqual(unavailable);
    expect(g.metrics.value('gateway_session_store_bypass_total', { policy: 'closed' })).toBeGreaterThan(100);
    expect(g.metrics.value('gateway_session_store_errors_total', { op: 'admit' })).toBeGreaterThan(100);
    expect(g.metrics.value('gateway_session_refusals_total', { code: 'store_unavailable' })).toBe(5);

    await restartRedis(g);
    g.clock.advance(LEASE);
    await g.guard.admit(session('alice', 'A'));
    expect((await g.guard.list('alice')).map((s) => s.sid)).toEqual(['A']);
    await expect(g.guard.admit(session('alice', 'A2'))).rejects.toEqual(limited);
    await g.guard.admit(session('bob', 'B'));
    expect(g.logs.filter((l) => l.includes('session store answering again'))).toHaveLength(1);
  });

  it('fail-open: serves everyone, counts it, logs once per interval, and re-admits after restart', async () => {
    const g = await gateway('open');
    await g.guard.admit(session('carol', 'C'));
    await expect(g.guard.admit(session('carol', 'C2'))).rejects.toEqual(limited);
    await killRedis(g);

    for (let i = 0; i < 3; i++) {
      g.clock.advance(LEASE);
      await g.guard.admit(session('carol', 'C'));
      await g.guard.admit(session('dave', 'D'));
      await g.guard.checkRefresh(session('dave', 'D'));
      // what the store last said about a refused session still holds
      await expect(g.guard.admit(session('carol', 'C2'))).rejects.toEqual(limited);
    }
    expect(g.metrics.value('gateway_session_store_bypass_total', { policy: 'open' })).toBe(9);
    expect(g.logs.filter((l) => l.includes('session store unavailable'))).toHaveLength(1);
    await expect(g.guard.revoke('carol')).rejects.toEqual(unavailable);

    await restartRedis(g);
    g.clock.advance(LEASE);
    await g.guard.admit(session('carol', 'C'));
    await g.guard.admit(session('dave', 'D'));
    expect((await g.guard.list('dave')).map((s) => s.sid)).toEqual(['D']);
    await expect(g.guard.admit(session('carol', 'C2'))).rejects.toEqual(limited);
  });

  it('a hung store costs a request at most the store timeout, then the policy applies', async () => {
    const g = await gateway('closed', { storeTimeoutMs: 300, commandTimeoutMs: 10_000 });
    await g.guard.admit(session('frank', 'F'));
    redis.pause();
    g.clock.advance(LEASE);
    await g.guard.admit(session('frank', 'F'));
    await expect(g.guard.admit(session('grace', 'G'))).rejects.toEqual(unavailable);
    expect(g.metrics.value('gateway_session_store_errors_total', { op: 'admit', kind: 'timeout' })).toBe(2);
    redis.resume();
    await waitFor(() => g.guard.ready(), { what: 'guard ready after SIGCONT' });
    g.clock.advance(LEASE);
    await g.guard.admit(session('grace', 'G'));
  });
});
