/**
 * Issuing (`POST /v1/tokens`), refresh, JWKS and the dev endpoint, through HTTP.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { API_KEY, NOW, type TestGateway, testGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let origin: FixtureOrigin;
const CLIENT = '203.0.113.7';

function post(
  path: string,
  body: unknown,
  opts: { key?: string; peer?: string; token?: string; raw?: string; type?: string } = {},
) {
  const headers: Record<string, string> = { 'content-type': opts.type ?? 'application/json' };
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return Promise.resolve(
    gw.app.request(
      `http://gw.test${path}`,
      { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) },
      { peer: opts.peer ?? CLIENT },
    ),
  );
}

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

beforeAll(async () => {
  origin = await startFixtureOrigin();
  gw = await testGateway({ ORIGINS: origin.url, DEV_MODE: '1' });
});
afterAll(async () => {
  await gw?.close();
  await origin?.close();
});

describe('POST /v1/tokens', () => {
  const good = { sub: 'acct-9', ip: CLIENT, channels: ['demo'], ttl: 120 };

  it('mints a token the gateway accepts', async () => {
    const res = await post('/v1/tokens', good, { key: API_KEY });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; expires_at: number; expires_in: number };
    expect(body.expires_in).toBe(120);
    expect(body.expires_at).toBe(Math.floor(NOW / 1000) + 120);
    const claims = decodeJwt(body.token);
    expect(claims).toMatchObject({
      sub: 'acct-9',
      ip: CLIENT,
      ch: ['demo'],
      iss: 'https://issuer.test',
      aud: 'edge-gateway',
    });
    expect(typeof claims.sid).toBe('string');
    expect(typeof claims.jti).toBe('string');
    expect(claims.auth_time).toBe(claims.iat);
    expect(decodeProtectedHeader(body.token)).toMatchObject({ alg: 'ES256', kid: 'es-1' });
    const seg = await gw.get('/live/demo/100.ts', { token: body.token });
    expect(seg.status).toBe(200);
    await seg.arrayBuffer();
  });

  it('refuses a missing or wrong API key with 401 unauthorized', async () => {
    expect(await code(await post('/v1/tokens', good))).toBe('unauthorized');
    const res = await post('/v1/tokens', good, { key: 'wrong-key-wrong-key-wrong' });
    expect(res.status).toBe(401);
    expect(await code(res)).toBe('unauthorized');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('names the bad field of a bad body', async () => {
    const cases: [unknown, string][] = [
      [{ ...good, sub: '' }, 'sub'],
      [{ ...good, sub: 5 }, 'sub'],
      [{ ...good, ip: 'not-an-ip' }, 'ip'],
      [{ ...good, ip: '203.0.113.0/8' }, 'ip'],
      [{ ...good, channels: ['../etc'] }, 'channels'],
      [{ ...good, channels: [] }, 'channels'],
      [{ ...good, ttl: 99999 }, 'ttl'],
      [{ ...good, max: 0 }, 'max'],
      [{ ...good, admin: true }, 'admin'],
      [[], 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await post('/v1/tokens', body, { key: API_KEY });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const b = (await res.json()) as { error: string; message: string };
      expect(b.error).toBe('bad_request');
      expect(b.message).toContain(field === 'admin' ? 'admin' : field);
    }
  });

  it('refuses non-JSON, broken JSON and oversize bodies', async () => {
    expect((await post('/v1/tokens', null, { key: API_KEY, raw: 'sub=x', type: 'text/plain' })).status).toBe(
      400,
    );
    expect(await code(await post('/v1/tokens', null, { key: API_KEY, raw: '{"sub":' }))).toBe('bad_request');
    const big = await post('/v1/tokens', null, {
      key: API_KEY,
      raw: JSON.stringify({ ...good, pad: 'x'.repeat(100_000) }),
    });
    expect(big.status).toBe(413);
    expect(await code(big)).toBe('payload_too_large');
  });

  it('other methods get 405 with Allow', async () => {
    const res = await gw.app.request('http://gw.test/v1/tokens', { method: 'GET' }, { peer: CLIENT });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await code(res)).toBe('method_not_allowed');
  });
});

describe('POST /v1/tokens/refresh', () => {
  it('returns a new token for the same sub, sid, ip and ch, with a new jti and exp', async () => {
    const old = await gw.mint({
      sub: 'acct-r',
      sid: 'sid-r',
      ch: ['demo', 'news'],
      auth_time: Math.floor(NOW / 1000) - 100,
    });
    (await gw.get('/live/demo/100.ts', { token: old })).body?.cancel();
    gw.clock.advance(200_000);
    try {
      const res = await post('/v1/tokens/refresh', null, { token: old, raw: '' });
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      const a = decodeJwt(old);
      const b = decodeJwt(token);
      expect(b).toMatchObject({ sub: a.sub, sid: a.sid, ip: a.ip, ch: a.ch, auth_time: a.auth_time });
      expect(b.jti).not.toBe(a.jti);
      expect(b.exp).toBe(Math.floor(NOW / 1000) + 200 + 300);
    } finally {
      gw.clock.set(NOW);
    }
  });

  it('accepts a token expired within REFRESH_GRACE and refuses one beyond it', async () => {
    const within = await gw.mint({ sub: 'acct-g', sid: 'sid-g' });
    (await gw.get('/live/demo/100.ts', { token: within })).body?.cancel();
    gw.clock.advance((300 + 45) * 1000);
    try {
      expect((await post('/v1/tokens/refresh', null, { token: within, raw: '' })).status).toBe(200);
      gw.clock.advance(60_000);
      const res = await post('/v1/tokens/refresh', null, { token: within, raw: '' });
      expect(res.status).toBe(401);
      expect(await code(res)).toBe('token_expired');
    } finally {
      gw.clock.set(NOW);
    }
  });

  it('refuses a refresh from another address', async () => {
    const t = await gw.mint({ sub: 'acct-x', sid: 'sid-x' });
    const res = await post('/v1/tokens/refresh', null, { token: t, raw: '', peer: '198.51.100.1' });
    expect(res.status).toBe(403);
    expect(await code(res)).toBe('ip_mismatch');
  });

  it('refuses a forged or missing token', async () => {
    expect(await code(await post('/v1/tokens/refresh', null, { raw: '' }))).toBe('token_missing');
    expect(await code(await post('/v1/tokens/refresh', null, { token: 'x.y.z', raw: '' }))).toBe(
      'token_invalid',
    );
  });

  it('refuses past SESSION_MAX_AGE', async () => {
    const t = await gw.mint({ sub: 'acct-old', sid: 'sid-old', auth_time: Math.floor(NOW / 1000) - 86_401 });
    const res = await post('/v1/tokens/refresh', null, { token: t, raw: '' });
    expect(res.status).toBe(401);
    expect(await code(res)).toBe('token_expired');
  });
});

describe('JWKS and the dev endpoint', () => {
  it('publishes public keys only', async () => {
    const res = await gw.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys.map((k) => k.kid).sort()).toEqual(['ed-1', 'es-1']);
    for (const k of keys) expect(k).not.toHaveProperty('d');
  });

  it('POST /dev/token binds to the caller and sets the cookie', async () => {
    const res = await post('/dev/token', { sub: 'viewer-1', channels: ['demo'] }, { peer: '198.51.100.20' });
    expect(res.status).toBe(201);
    expect(res.headers.get('set-cookie')).toMatch(/^edge_token=.+HttpOnly/);
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token)).toMatchObject({ sub: 'viewer-1', ip: '198.51.100.20' });
  });

  it('POST /dev/token does not exist without DEV_MODE', async () => {
    const prod = await testGateway({ ORIGINS: origin.url });
    try {
      const res = await prod.app.request('http://gw.test/dev/token', { method: 'POST' }, { peer: CLIENT });
      expect(res.status).toBe(404);
    } finally {
      await prod.close();
    }
  });
});
