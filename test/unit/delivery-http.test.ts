/**
 * Delivery through the real gateway app (HTTP in, HTTP out) in front of two real loopback origins: a
 * player following its playlist, bad paths and methods refused before they cost anything, CORS preflights.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_HLS, type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { type TestGateway, testGateway } from '../helpers/gateway.ts';

const SECRET_HEX = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('');
const PLAYER = 'https://player.example';

let a: FixtureOrigin;
let b: FixtureOrigin;
let gw: TestGateway;

const liveRequests = () => [...a.requests(), ...b.requests()].filter((r) => r.url.startsWith('/live/'));

beforeAll(async () => {
  a = await startFixtureOrigin({ secret: 'origin-secret-0123456789' });
  b = await startFixtureOrigin({ secret: 'origin-secret-0123456789' });
  gw = await testGateway({
    ORIGINS: `${a.url},${b.url}`,
    ORIGIN_SECRET: 'origin-secret-0123456789',
    CHANNEL_KEY_SECRET: `v1:${SECRET_HEX}`,
    KEY_PERIOD: '10',
    CORS_ORIGINS: PLAYER,
  });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([a?.close(), b?.close()]);
});

describe('a player following its playlist', () => {
  it('gets a rewritten playlist, then every segment and the key with the token it carries', async () => {
    const token = await gw.mint();
    const res = await gw.get('/live/demo/index.m3u8', { token, via: 'query' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, max-age=1');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const uris = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(uris).toHaveLength(5);
    for (const uri of uris) {
      expect(uri).toBe(`${uri.split('?')[0]}?token=${encodeURIComponent(token)}`);
      const seg = await gw.get(`/live/demo/${uri}`);
      expect(seg.status).toBe(200);
      const expected = readFileSync(join(FIXTURE_HLS, 'demo', uri.split('?')[0] as string));
      expect(Buffer.from(await seg.arrayBuffer()).equals(expected)).toBe(true);
    }
    const key = await gw.get('/live/demo/key/v1/10.key', { token, via: 'query' });
    expect(key.status).toBe(200);
    expect(key.headers.get('cache-control')).toBe('private, no-store');
    expect((await key.arrayBuffer()).byteLength).toBe(16);
  });

  it('keeps playing from B when A dies', async () => {
    const token = await gw.mint();
    await a.kill();
    try {
      const seg = await gw.get('/live/demo/index.m3u8', { token });
      expect(seg.status).toBe(200);
      await seg.arrayBuffer();
    } finally {
      await a.revive();
    }
  });
});

describe('refused before authentication, never forwarded', () => {
  it.each([
    ['/live/demo/%252e%252e/%252e%252e/etc/passwd', 400],
    ['/live/demo/720p%5cindex.m3u8', 400],
    ['/live/demo/100.ts%00.m3u8', 400],
    ['/live/demo/%C3%ADndex.m3u8', 400],
    ['/live/Demo/index.m3u8', 400],
    ['/live/demo/index.html', 404],
    ['/live/demo/100.a.ts', 404],
    ['/live/demo/a/b/c/index.m3u8', 404],
    [`/live/demo/${'a/'.repeat(600)}1.ts`, 414],
  ])('%s → %i without even a token', async (path, status) => {
    const res = await gw.get(path);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(/^(bad_request|not_found|uri_too_long)$/);
  });

  it('dot segments, encoded or not, never leave the channel', async () => {
    const token = await gw.mint();
    for (const path of [
      '/live/demo/../../etc/passwd',
      '/live/demo/%2e%2e/%2e%2e/etc/passwd',
      '/live/demo/..%2f..%2fetc%2fpasswd',
      '/live/demo/..\\..\\etc\\passwd',
    ]) {
      const res = await gw.get(path, { token });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      await res.arrayBuffer();
    }
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s → 405 with Allow', async (method) => {
    const token = await gw.mint();
    const res = await gw.app.request(
      'http://gw.test/live/demo/100.ts',
      { method, headers: { authorization: `Bearer ${token}` } },
      { peer: '203.0.113.7' },
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('none of the above reached an origin', () => {
    const bad = liveRequests().filter((r) => !/^\/live\/demo\/(index\.m3u8|10[0-4]\.ts)$/.test(r.url));
    expect(bad).toEqual([]);
  });
});

describe('CORS for a player on another origin', () => {
  it('preflight: 204 without a token', async () => {
    const res = await gw.app.request(
      'http://gw.test/live/demo/index.m3u8',
      {
        method: 'OPTIONS',
        headers: {
          origin: PLAYER,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'range',
        },
      },
      { peer: '203.0.113.7' },
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(PLAYER);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,OPTIONS');
  });

  it('a refused request still tells the player why (readable cross-origin)', async () => {
    const res = await gw.get('/live/demo/index.m3u8', { headers: { origin: PLAYER } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(PLAYER);
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
  });
});
