/**
 * One account = N streams, through HTTP, with real gateway processes sharing a real redis-server:
 * the admission race across two gateways, revocation, refresh of live/kicked sessions, a Redis outage
 * (SIGKILL mid-stream, restart on the same port) and bad input that must not touch Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import {
  type GatewayProcess,
  gatewayEnv,
  mintFor,
  PROC_API_KEY,
  signingKey,
  startGatewayProcess,
} from '../helpers/gateway-process.ts';
import type { TestKey } from '../helpers/keys.ts';
import { waitFor } from '../helpers/net.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

let redis: RedisServer;
let origin: FixtureOrigin;
let key: TestKey;
const started: GatewayProcess[] = [];

async function gateway(extra: Record<string, string>): Promise<GatewayProcess> {
  const g = await startGatewayProcess(
    gatewayEnv(key, { ORIGINS: origin.url, REDIS_URL: redis.url, ...extra }),
  );
  started.push(g);
  return g;
}

async function play(g: GatewayProcess, token: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${g.url}/live/demo/100.ts`, { headers: { authorization: `Bearer ${token}` } });
  if (res.ok) {
    await res.arrayBuffer();
    return { status: res.status };
  }
  return { status: res.status, code: ((await res.json()) as { error: string }).error };
}

function nextSecond(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
}

beforeAll(async () => {
  [redis, origin, key] = await Promise.all([startRedis(), startFixtureOrigin(), signingKey()]);
});
afterAll(async () => {
  await Promise.all(started.map((g) => g.proc.stop()));
  await origin?.close();
  await redis?.stop();
});

describe('the admission race across two gateway processes', () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  let ka: GatewayProcess;
  let kb: GatewayProcess;
  beforeAll(async () => {
    [a, b, ka, kb] = await Promise.all([
      gateway({ SESSION_POLICY: 'deny-new', SESSION_LEASE: '0' }),
      gateway({ SESSION_POLICY: 'deny-new', SESSION_LEASE: '0' }),
      gateway({ SESSION_POLICY: 'kick-oldest', SESSION_LEASE: '0' }),
      gateway({ SESSION_POLICY: 'kick-oldest', SESSION_LEASE: '0' }),
    ]);
  });

  it('deny-new: 50 concurrent first requests of one account admit exactly max', async () => {
    for (const [sub, max] of [
      ['race-deny-1', undefined],
      ['race-deny-3', 3],
    ] as const) {
      const tokens = await Promise.all(
        Array.from({ length: 50 }, (_, i) => mintFor(key, { sub, sid: `s${i}`, ...(max ? { max } : {}) })),
      );
      const results = await Promise.all(tokens.map((t, i) => play(i % 2 ? a : b, t)));
      const admitted = results.filter((r) => r.status === 200).length;
      expect(admitted, sub).toBe(max ?? 1);
      expect(results.filter((r) => r.code === 'session_limit')).toHaveLength(50 - (max ?? 1));
    }
  });

  it('kick-oldest: after 50 concurrent first requests exactly max sessions are still alive', async () => {
    const sub = 'race-kick';
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mintFor(key, { sub, sid: `k${i}` })),
    );
    await Promise.all(tokens.map((t, i) => play(i % 2 ? ka : kb, t)));
    const after = await Promise.all(tokens.map((t, i) => play(i % 2 ? kb : ka, t)));
    expect(after.filter((r) => r.status === 200)).toHaveLength(1);
    expect(after.filter((r) => r.code === 'session_replaced')).toHaveLength(49);
    // the kicked cannot come back and kick the survivor
    const again = await Promise.all(tokens.map((t) => play(ka, t)));
    expect(again.filter((r) => r.status === 200)).toHaveLength(1);
  });
});

describe('revocation and refresh', () => {
  let g: GatewayProcess;
  beforeAll(async () => {
    g = await gateway({ SESSION_LEASE: '0.2' });
  });

  const refresh = (token: string) =>
    fetch(`${g.url}/v1/tokens/refresh`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('refresh keeps the sid, so it never counts as a second stream', async () => {
    const t1 = await mintFor(key, { sub: 'refresh-1', sid: 'r1' });
    expect((await play(g, t1)).status).toBe(200);
    const res = await refresh(t1);
    expect(res.status).toBe(200);
    const { token: t2 } = (await res.json()) as { token: string };
    expect((await play(g, t2)).status).toBe(200);
    expect((await play(g, t1)).status).toBe(200);
  });

  it('a kicked session cannot refresh', async () => {
    const old = await mintFor(key, { sub: 'refresh-2', sid: 'old' });
    expect((await play(g, old)).status).toBe(200);
    const fresh = await mintFor(key, { sub: 'refresh-2', sid: 'new' });
    expect((await play(g, fresh)).status).toBe(200);
    const res = await refresh(old);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('session_replaced');
    await waitFor(async () => (await play(g, old)).code === 'session_replaced', {
      what: 'kick within a lease',
    });
  });

  it('DELETE /v1/sessions/{sub} revokes: playing and refreshing stop, a later sign-in works', async () => {
    const t = await mintFor(key, { sub: 'revoke-1', sid: 'v1' });
    expect((await play(g, t)).status).toBe(200);
    const unauth = await fetch(`${g.url}/v1/sessions/revoke-1`, { method: 'DELETE' });
    expect(unauth.status).toBe(401);
    const del = await fetch(`${g.url}/v1/sessions/revoke-1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${PROC_API_KEY}` },
    });
    expect(del.status).toBe(200);
    expect(await del.json()).toMatchObject({ sub: 'revoke-1', revoked: 1 });
    await waitFor(async () => (await play(g, t)).code === 'session_revoked', {
      what: 'revocation within a lease',
    });
    const r = await refresh(t);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: string }).error).toBe('session_revoked');
    await nextSecond();
    expect((await play(g, await mintFor(key, { sub: 'revoke-1', sid: 'v2' }))).status).toBe(200);
  });

  it('lists an account’s sessions for operators', async () => {
    const t = await mintFor(key, { sub: 'list-1', sid: 'l1' });
    await play(g, t);
    const res = await fetch(`${g.url}/v1/sessions/list-1`, {
      headers: { authorization: `Bearer ${PROC_API_KEY}` },
    });
    const body = (await res.json()) as { sessions: { sid: string }[] };
    expect(body.sessions.map((s) => s.sid)).toEqual(['l1']);
  });

  it('bad claims get a clear 4xx and write nothing to Redis', async () => {
    const before = await redis.cli('dbsize');
    const cases = [
      { sub: 'bad-1', sid: 'b', max: 1_000_000 },
      { sub: 'x'.repeat(300), sid: 'b' },
      { sub: 'bad-2', sid: 'y'.repeat(300) },
      { sub: 'bad-3', sid: 42 as unknown as string },
      { sub: { $gt: '' } as unknown as string, sid: 'b' },
    ];
    for (const c of cases) {
      const r = await play(g, await mintFor(key, c));
      expect(r.status, JSON.stringify(c).slice(0, 60)).toBe(401);
      expect(r.code).toBe('token_invalid');
    }
    expect(await redis.cli('dbsize')).toBe(before);
  });
});

describe('Redis outage', () => {
  it('fail-closed: admitted sessions keep playing, new ones get 503, recovery without a restart', async () => {
    const g = await gateway({ STORE_FAILURE: 'closed', SESSION_LEASE: '0.2', STORE_TIMEOUT_MS: '200' });
    const a = await mintFor(key, { sub: 'outage-1', sid: 'a' });
    expect((await play(g, a)).status).toBe(200);
    await redis.kill();
    try {
      for (let i = 0; i < 5; i++) expect((await play(g, a)).status).toBe(200);
      const b = await mintFor(key, { sub: 'outage-2', sid: 'b' });
      const refused = await play(g, b);
      expect(refused).toEqual({ status: 503, code: 'store_unavailable' });
    } finally {
      await redis.restart();
    }
    // back, and empty: live sessions re-admit, new ones are admitted, the limit holds again
    const b2 = await mintFor(key, { sub: 'outage-1', sid: 'b' });
    await waitFor(async () => (await play(g, b2)).status === 200, { what: 'new session after recovery' });
    // the live session re-admits on its next store call (within a lease); newest wins, so the other is kicked
    await waitFor(
      async () => {
        expect((await play(g, a)).status).toBe(200);
        return (await play(g, b2)).code === 'session_replaced';
      },
      { what: 'limit holds again' },
    );
    expect((await play(g, a)).status).toBe(200);
    expect(await redis.cli('exists', 'sess:{outage-1}:z')).toBe('1');
  });

  it('fail-open: new sessions are served while Redis is down', async () => {
    const g = await gateway({ STORE_FAILURE: 'open', SESSION_LEASE: '0.2', STORE_TIMEOUT_MS: '200' });
    await redis.kill();
    try {
      const t = await mintFor(key, { sub: 'open-1', sid: 'o' });
      expect((await play(g, t)).status).toBe(200);
      const metrics = await (await fetch(`${g.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_session_store_errors_total\{[^}]*\} [1-9]/);
    } finally {
      await redis.restart();
    }
  });
});
