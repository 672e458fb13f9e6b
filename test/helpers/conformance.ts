/**
 * The one HTTP conformance suite (issue 8): the player-facing contract, checked over real sockets against
 * every runtime the gateway ships on — the Node gateway, the Worker on workerd, nginx edge + gateway. A
 * target file starts its runtime around two real fixture origins and hands the suite a target; the suite
 * only speaks HTTP to `baseUrl`.
 *
 * Requests leave from 127.0.0.2 (every 127.0.0.x is loopback on Linux), so "the address the target sees"
 * is a real socket address, not a header the test wrote; a token bound to 127.0.0.3 is the wrong-IP case.
 * Tokens are issued by the target's own `POST /v1/tokens`, except the expired one, which the API cannot
 * issue: it is signed here with the same key the target holds.
 *
 * Targets run with SESSION_LEASE=0 (every request asks the session store): the kick of the first session
 * is then visible on its very next request instead of within one lease, so the test needs no waiting.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_HLS, type FixtureOrigin, startFixtureOrigin } from './fixture-origin.ts';
import { makeKey, type TestKey } from './keys.ts';

export const CLIENT_ADDRESS = '127.0.0.2';
export const OTHER_ADDRESS = '127.0.0.3';
const ISSUER = 'https://issuer.conformance.test';
const AUDIENCE = 'edge-gateway';
const API_KEY = 'conformance-issuer-key-0123456789';
const ORIGIN_SECRET = 'conformance-origin-secret-0123456789';

export interface ConformanceTarget {
  /** where players connect */
  baseUrl: string;
  close(): Promise<void>;
}

/** What every target shares: two origins serving the fixture channel `demo`, a signing key, the env. */
export interface ConformanceBase {
  primary: FixtureOrigin;
  secondary: FixtureOrigin;
  key: TestKey;
  /** gateway configuration (SPEC §9 names) for these origins and this key */
  env: Record<string, string>;
  originSecret: string;
  close(): Promise<void>;
}

export async function conformanceBase(): Promise<ConformanceBase> {
  const [primary, secondary] = await Promise.all([
    startFixtureOrigin({ secret: ORIGIN_SECRET }),
    startFixtureOrigin({ secret: ORIGIN_SECRET }),
  ]);
  const key = await makeKey('ES256', 'conformance-1');
  return {
    primary,
    secondary,
    key,
    originSecret: ORIGIN_SECRET,
    env: {
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_PRIVATE_JWK: JSON.stringify(key.privateJwk),
      ISSUER_API_KEY: API_KEY,
      ORIGINS: `${primary.url},${secondary.url}`,
      ORIGIN_SECRET,
      SESSION_LEASE: '0',
      // a cold local Durable Object on a busy machine can take a while to answer its first call
      STORE_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
    },
    close: async () => {
      await Promise.all([primary.close(), secondary.close()]);
    },
  };
}

export function conformanceSuite(
  name: string,
  setup: (base: ConformanceBase) => Promise<ConformanceTarget>,
): void {
  describe(`conformance: ${name}`, () => {
    let base: ConformanceBase;
    let target: ConformanceTarget;
    const client = new Agent({ localAddress: CLIENT_ADDRESS });
    const run = Math.random().toString(36).slice(2, 8);
    let n = 0;
    const account = () => `conf-${run}-${++n}`;

    beforeAll(async () => {
      base = await conformanceBase();
      target = await setup(base);
    });
    afterAll(async () => {
      await target?.close();
      await base?.close();
      await client.close();
    });

    const request = async (path: string, init: { method?: string; token?: string; body?: unknown } = {}) => {
      const headers: Record<string, string> = {};
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      const res = await undiciFetch(`${target.baseUrl}${path}`, {
        method: init.method ?? 'GET',
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        dispatcher: client,
      });
      return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
    };
    const json = (bytes: Uint8Array) =>
      JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const issue = async (sub: string, opts: { ip?: string; channels?: string[] } = {}) => {
      const res = await undiciFetch(`${target.baseUrl}/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sub, ip: opts.ip ?? CLIENT_ADDRESS, channels: opts.channels ?? ['demo'] }),
        dispatcher: client,
      });
      expect(res.status).toBe(201);
      return (await res.json()) as { token: string; sid: string };
    };
    const refused = (res: { status: number; bytes: Uint8Array }, status: number, code: string) => {
      expect(res.status).toBe(status);
      const body = json(res.bytes);
      expect(body).toMatchObject({ error: code });
      expect(typeof body.message).toBe('string');
      expect(typeof body.requestId).toBe('string');
      return body;
    };
    const fixture = (name: string) => readFile(join(FIXTURE_HLS, 'demo', name));

    it('a valid token gets the segment, byte for byte what the origin holds', async () => {
      const { token } = await issue(account());
      const res = await request('/live/demo/100.ts', { token });
      expect(res.status).toBe(200);
      expect(Buffer.from(res.bytes).equals(await fixture('100.ts'))).toBe(true);
      expect(res.headers.get('content-type')).toBe('video/mp2t');
    });

    it('an expired token is refused: 401 token_expired', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({
        sid: 'expired-sid',
        ip: CLIENT_ADDRESS,
        ch: ['demo'],
        jti: `j-${run}`,
      })
        .setProtectedHeader({ alg: 'ES256', kid: base.key.kid, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(account())
        .setIssuedAt(now - 400)
        .setExpirationTime(now - 100)
        .sign(base.key.privateKey);
      refused(await request('/live/demo/101.ts', { token }), 401, 'token_expired');
    });

    it('a token bound to another address is refused: 403 ip_mismatch', async () => {
      const { token } = await issue(account(), { ip: OTHER_ADDRESS });
      const body = refused(await request('/live/demo/101.ts', { token }), 403, 'ip_mismatch');
      expect(body.message).toBe('Token Leakage Detected - IP Mismatch');
    });

    it('a token without the channel is refused: 403 channel_forbidden', async () => {
      const { token } = await issue(account(), { channels: ['sports1'] });
      refused(await request('/live/demo/101.ts', { token }), 403, 'channel_forbidden');
    });

    it('a second session of the account replaces the first: 409 session_replaced', async () => {
      const sub = account();
      const first = await issue(sub);
      expect((await request('/live/demo/101.ts', { token: first.token })).status).toBe(200);
      const second = await issue(sub);
      expect(second.sid).not.toBe(first.sid);
      expect((await request('/live/demo/101.ts', { token: second.token })).status).toBe(200);
      refused(await request('/live/demo/102.ts', { token: first.token }), 409, 'session_replaced');
      expect((await request('/live/demo/102.ts', { token: second.token })).status).toBe(200);
    });

    it('refresh gives a new token for the same session, and it plays', async () => {
      const old = await issue(account());
      expect((await request('/live/demo/101.ts', { token: old.token })).status).toBe(200);
      const res = await request('/v1/tokens/refresh', { method: 'POST', token: old.token });
      expect(res.status).toBe(200);
      const fresh = json(res.bytes) as { token: string; sid: string };
      expect(fresh.token).not.toBe(old.token);
      expect(fresh.sid).toBe(old.sid);
      expect((await request('/live/demo/102.ts', { token: fresh.token })).status).toBe(200);
    });

    it('a playlist fetched with a query token carries it on every URI, and those URIs play', async () => {
      const { token } = await issue(account());
      const res = await request(`/live/demo/index.m3u8?token=${token}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const text = new TextDecoder().decode(res.bytes);
      const uris = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
      expect(uris).toEqual(
        ['100.ts', '101.ts', '102.ts', '103.ts', '104.ts'].map((u) => `${u}?token=${token}`),
      );
      const segment = await request(`/live/demo/${uris[3]}`);
      expect(segment.status).toBe(200);
      expect(Buffer.from(segment.bytes).equals(await fixture('103.ts'))).toBe(true);
    });

    it('no token ever reaches an origin', async () => {
      for (const origin of [base.primary, base.secondary]) {
        for (const r of origin.requests()) {
          expect(r.url).not.toMatch(/token/i);
          expect(r.headers.authorization).toBeUndefined();
          expect(r.headers.cookie).toBeUndefined();
          if (r.url.startsWith('/live/')) expect(r.headers['x-origin-secret']).toBe(base.originSecret);
        }
      }
      expect(base.primary.requests().some((r) => r.url.startsWith('/live/'))).toBe(true);
    });

    it('with the primary origin killed, the segment comes from the secondary', async () => {
      // a segment nothing has cached yet, different on each node, so the bytes say which node answered
      const onA = crypto.getRandomValues(new Uint8Array(4096));
      const onB = crypto.getRandomValues(new Uint8Array(4096));
      await base.primary.put('demo/900.ts', onA);
      await base.secondary.put('demo/900.ts', onB);
      const { token } = await issue(account());
      await base.primary.kill();
      try {
        const res = await request('/live/demo/900.ts', { token });
        expect(res.status).toBe(200);
        expect(Buffer.from(res.bytes).equals(Buffer.from(onB))).toBe(true);
      } finally {
        await base.primary.revive();
      }
    });
  });
}
