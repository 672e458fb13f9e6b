/**
 * nginx edge mode beyond the shared conformance suite: what nginx adds (auth decisions and segments
 * cached, misses coalesced, failures rendered in the contract's JSON) and what it must never do (believe a
 * player's forwarding header, log or forward a token). Real nginx from nginx/edge.conf, the Node gateway,
 * two fixture origins. SESSION_LEASE=10, so nginx may cache an auth decision for 5 s.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeGateway, startNodeGateway } from '../../src/node.ts';
import {
  CLIENT_ADDRESS,
  type ConformanceBase,
  conformanceBase,
  OTHER_ADDRESS,
} from '../helpers/conformance.ts';
import { type EdgeNginx, startEdgeNginx } from '../helpers/nginx.ts';

const PLAYER_ORIGIN = 'https://player.example';
let base: ConformanceBase;
let gw: NodeGateway;
let nginx: EdgeNginx;
const player = new Agent({ localAddress: CLIENT_ADDRESS });
const run = Math.random().toString(36).slice(2, 8);
let n = 0;
const account = () => `edge-${run}-${++n}`;

beforeAll(async () => {
  base = await conformanceBase();
  gw = await startNodeGateway({
    ...base.env,
    SESSION_LEASE: '10',
    CORS_ORIGINS: PLAYER_ORIGIN,
    PORT: '0',
    HOST: '127.0.0.1',
    TRUSTED_PROXIES: '127.0.0.1/32',
  });
  nginx = await startEdgeNginx({
    originA: base.primary.url,
    originB: base.secondary.url,
    gateway: gw.url,
    originSecret: base.originSecret,
  });
});
afterAll(async () => {
  await nginx?.stop();
  await gw?.close();
  await base?.close();
  await player.close();
});

async function issue(opts: { sub?: string; ip?: string } = {}): Promise<string> {
  const res = await fetch(`${gw.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${base.env.ISSUER_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sub: opts.sub ?? account(), ip: opts.ip ?? CLIENT_ADDRESS, channels: ['demo'] }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** A player request to `baseUrl` (nginx unless told), from 127.0.0.2. */
async function get(
  path: string,
  opts: { token?: string; headers?: Record<string, string>; baseUrl?: string } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await undiciFetch(`${opts.baseUrl ?? nginx.url}${path}`, { headers, dispatcher: player });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const logLines = async (path: string) =>
  (await nginx.accessLog()).split('\n').filter((l) => l.includes(` ${path} `));
const originFetches = (path: string) => base.primary.count(path) + base.secondary.count(path);

describe('what nginx caches', () => {
  it('an auth decision, per token, address and channel, within the lease', async () => {
    const token = await issue();
    expect((await get('/live/demo/100.ts', { token })).status).toBe(200);
    expect((await get('/live/demo/101.ts', { token })).status).toBe(200);
    expect((await get('/live/demo/102.ts', { token: await issue() })).status).toBe(200);
    const auth = async (p: string) => (await logLines(p)).at(-1)?.match(/ auth=(\S+)/)?.[1];
    expect(await auth('/live/demo/100.ts')).toBe('MISS');
    expect(await auth('/live/demo/101.ts')).toBe('HIT');
    expect(await auth('/live/demo/102.ts')).toBe('MISS');
  });

  it('a segment, keyed without the token: one origin fetch for every viewer', async () => {
    const [a, b] = [await issue(), await issue()];
    const first = await get('/live/demo/103.ts', { token: a });
    const second = await get(`/live/demo/103.ts?token=${b}`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(originFetches('/live/demo/103.ts')).toBe(1);
  });

  it('concurrent misses for one segment are one origin fetch (proxy_cache_lock)', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(64 * 1024));
    await base.primary.put('demo/910.ts', bytes);
    await base.secondary.put('demo/910.ts', bytes);
    const token = await issue();
    const all = await Promise.all(Array.from({ length: 8 }, () => get('/live/demo/910.ts', { token })));
    for (const res of all) {
      expect(res.status).toBe(200);
      expect(Buffer.from(res.bytes).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(originFetches('/live/demo/910.ts')).toBe(1);
  });
});

describe('browser players on another origin (CORS_ORIGINS)', () => {
  const cors = (res: { headers: { get(name: string): string | null } }) => ({
    origin: res.headers.get('access-control-allow-origin'),
    credentials: res.headers.get('access-control-allow-credentials'),
  });

  it("a segment carries the gateway's CORS decision for the player's Origin", async () => {
    const token = await issue();
    const allowed = await get('/live/demo/100.ts', { token, headers: { origin: PLAYER_ORIGIN } });
    expect(allowed.status).toBe(200);
    expect(cors(allowed)).toEqual({ origin: PLAYER_ORIGIN, credentials: 'true' });
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    // same token, address and channel, other Origin: the cached decision must not answer for it
    const foreign = await get('/live/demo/100.ts', { token, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(200);
    expect(cors(foreign).origin).toBeNull();
    const again = await get('/live/demo/101.ts', { token, headers: { origin: PLAYER_ORIGIN } });
    expect(cors(again).origin).toBe(PLAYER_ORIGIN);
  });

  it('a refusal is readable by the player too', async () => {
    const res = await get('/live/demo/100.ts', { headers: { origin: PLAYER_ORIGIN } });
    expect(res.status).toBe(401);
    expect(cors(res).origin).toBe(PLAYER_ORIGIN);
  });

  it('a preflight is answered without credentials, by the gateway', async () => {
    const res = await undiciFetch(`${nginx.url}/live/demo/100.ts`, {
      method: 'OPTIONS',
      headers: {
        origin: PLAYER_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
      dispatcher: player,
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(PLAYER_ORIGIN);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  });
});

describe('what nginx must not do', () => {
  it('believe a forwarding header sent by the player', async () => {
    const forged = {
      'x-forwarded-for': OTHER_ADDRESS,
      forwarded: `for=${OTHER_ADDRESS}`,
      'x-real-ip': OTHER_ADDRESS,
    };
    const theirs = await issue({ ip: OTHER_ADDRESS });
    for (const path of ['/live/demo/104.ts', '/live/demo/index.m3u8']) {
      const res = await get(path, { token: theirs, headers: forged });
      expect(res.status).toBe(403);
      expect(JSON.parse(text(res.bytes))).toMatchObject({ error: 'ip_mismatch' });
    }
    expect((await get('/live/demo/104.ts', { token: await issue(), headers: forged })).status).toBe(200);
  });

  it('write a token to its logs, or send one to an origin', async () => {
    const token = await issue();
    expect((await get(`/live/demo/100.ts?token=${token}`)).status).toBe(200);
    expect((await get(`/live/demo/index.m3u8?token=${token}`)).status).toBe(200);
    expect((await get(`/live/demo/nope.ts?token=${token}`)).status).toBe(404);
    const logs = (await nginx.accessLog()) + (await nginx.errorLog());
    expect(logs).toContain('/live/demo/index.m3u8');
    expect(logs).not.toContain(token.slice(-40));
    expect(logs).not.toContain('token=');
    for (const r of [...base.primary.requests(), ...base.secondary.requests()]) {
      expect(r.url).not.toContain('token');
      expect(r.headers.authorization).toBeUndefined();
    }
  });
});

describe('refusals and failures in the contract JSON', () => {
  it('a refusal keeps its status, code, body and headers', async () => {
    const res = await get('/live/demo/100.ts');
    expect(res.status).toBe(401);
    expect(res.headers.get('x-error-code')).toBe('token_missing');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text(res.bytes));
    expect(body).toMatchObject({ error: 'token_missing', message: 'No token presented' });
    expect(res.headers.get('x-request-id')).toBe(body.requestId);
  });

  it('a malformed object path is a 400 from the gateway, never an origin fetch', async () => {
    const res = await get('/live/demo//1.ts', { token: await issue() });
    expect(res.status).toBe(400);
    expect(JSON.parse(text(res.bytes))).toMatchObject({ error: 'bad_request' });
  });

  it('both origins down and nothing cached: 502 origin_unavailable', async () => {
    const token = await issue();
    await base.primary.kill();
    await base.secondary.kill();
    try {
      const res = await get('/live/demo/911.ts', { token });
      expect(res.status).toBe(502);
      expect(JSON.parse(text(res.bytes))).toMatchObject({ error: 'origin_unavailable' });
    } finally {
      await base.primary.revive();
      await base.secondary.revive();
    }
  });
});

describe('the auth endpoint nginx calls (gateway side)', () => {
  const auth = (
    uri: string,
    opts: { token?: string; query?: string; from?: 'nginx' | 'player'; xff?: string },
  ) => {
    const headers: Record<string, string> = {
      'x-original-uri': uri,
      'x-forwarded-for': opts.xff ?? CLIENT_ADDRESS,
    };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const url = `${gw.url}/_edge/auth${opts.query ?? ''}`;
    // nginx connects from 127.0.0.1, the trusted proxy; a player connecting directly comes from 127.0.0.2
    return opts.from === 'player'
      ? undiciFetch(url, { headers, dispatcher: player })
      : fetch(url, { headers });
  };

  it('admits with 200 and lets nginx cache the decision for half the lease', async () => {
    const res = await auth('/live/demo/100.ts', { token: await issue() });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-status')).toBe('200');
    expect(res.headers.get('x-accel-expires')).toBe('5');
  });

  it('takes the token from the query it is given, as /live/ does', async () => {
    const res = await auth('/live/demo/100.ts', { query: `?token=${await issue()}` });
    expect(res.status).toBe(200);
  });

  it('answers a refusal as 401 or 403, with the real status, code and body in headers', async () => {
    const sub = account();
    const first = await issue({ sub });
    expect((await auth('/live/demo/100.ts', { token: first })).status).toBe(200);
    expect((await auth('/live/demo/100.ts', { token: await issue({ sub }) })).status).toBe(200);
    // the lease keeps the first session admitted on this gateway; a revocation is what ends it now
    const revoked = await fetch(`${gw.url}/v1/sessions/${sub}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${base.env.ISSUER_API_KEY}` },
    });
    expect(revoked.status).toBe(200);
    const cases: [Awaited<ReturnType<typeof auth>>, number, number, string][] = [
      [await auth('/live/demo/100.ts', {}), 401, 401, 'token_missing'],
      [await auth('/live/demo/100.ts', { token: 'not.a.jwt' }), 401, 401, 'token_invalid'],
      [
        await auth('/live/demo/100.ts', { token: await issue({ ip: OTHER_ADDRESS }) }),
        403,
        403,
        'ip_mismatch',
      ],
      [await auth('/live/other/100.ts', { token: await issue() }), 403, 403, 'channel_forbidden'],
      [await auth('/live/demo/100.ts', { token: first }), 403, 409, 'session_revoked'],
      [await auth('/v1/tokens', { token: await issue() }), 403, 400, 'bad_request'],
      [await auth('/live/demo/%2e%2e/x.ts', { token: await issue() }), 403, 400, 'bad_request'],
    ];
    for (const [res, status, real, code] of cases) {
      expect({ code, status: res.status }).toEqual({ code, status });
      expect(res.headers.get('x-auth-status')).toBe(String(real));
      expect(res.headers.get('x-auth-error')).toBe(code);
      const body = JSON.parse(res.headers.get('x-auth-body') ?? '');
      expect(body).toMatchObject({ error: code, requestId: res.headers.get('x-request-id') });
    }
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const token = await issue({ ip: OTHER_ADDRESS });
    expect((await auth('/live/demo/100.ts', { token, xff: OTHER_ADDRESS })).status).toBe(200);
    const direct = await auth('/live/demo/100.ts', { token, xff: OTHER_ADDRESS, from: 'player' });
    expect(direct.status).toBe(403);
    expect(direct.headers.get('x-auth-error')).toBe('ip_mismatch');
  });
});

describe('gateway down', () => {
  it('a segment request gets 503 not_ready in the contract JSON, not an nginx page', async () => {
    const token = await issue();
    await gw.close();
    const res = await get('/live/demo/100.ts', { token: `${token}x` });
    expect(res.status).toBe(503);
    expect(JSON.parse(text(res.bytes))).toMatchObject({ error: 'not_ready' });
  });
});
