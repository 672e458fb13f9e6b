/**
 * Builds the real gateway app (createApp with the same deps the Node entry builds) for app.request()
 * tests, with a manual clock and the client address passed per request as the `peer` env binding.
 */
import { type CryptoKey, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';
import { createApp } from '../../src/app.ts';
import { manualClock } from '../../src/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { buildGatewayDeps } from '../../src/node.ts';
import { makeKey, type TestKey } from './keys.ts';

export const ISS = 'https://issuer.test';
export const AUD = 'edge-gateway';
export const API_KEY = 'test-issuer-key-0123456789';
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  clock: ReturnType<typeof manualClock>;
  es: TestKey;
  ed: TestKey;
  /** signs `claims` (defaults filled in) with the ES256 key unless told otherwise */
  mint(
    claims?: Record<string, unknown>,
    opts?: { key?: TestKey | CryptoKey; header?: Partial<JWTHeaderParameters> },
  ): Promise<string>;
  /** GET a path as `peer`, with the token where asked */
  get(
    path: string,
    opts?: {
      peer?: string;
      token?: string;
      via?: 'header' | 'query' | 'cookie';
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function testGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const es = await makeKey('ES256', 'es-1');
  const ed = await makeKey('EdDSA', 'ed-1');
  const clock = manualClock(NOW);
  const config = parseConfig({
    JWT_ISSUER: ISS,
    JWT_AUDIENCE: AUD,
    JWT_PUBLIC_JWKS: JSON.stringify({ keys: [es.publicJwk, ed.publicJwk] }),
    JWT_PRIVATE_JWK: JSON.stringify(es.privateJwk),
    ISSUER_API_KEY: API_KEY,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const deps = await buildGatewayDeps(config, { clock, logger: silentLogger });
  const app = createApp({ ...deps, peerAddress: (c) => (c.env as { peer?: string } | undefined)?.peer });

  const mint: TestGateway['mint'] = async (claims = {}, opts = {}) => {
    const iat = Math.floor(clock.now() / 1000);
    const payload: JWTPayload = {
      iss: ISS,
      aud: AUD,
      sub: 'acct-1',
      sid: 'sess-1',
      ip: '203.0.113.7',
      ch: ['demo'],
      iat,
      exp: iat + 300,
      jti: `jti-${Math.random().toString(36).slice(2)}`,
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    const key = opts.key ?? es;
    const signingKey = 'privateKey' in key ? key.privateKey : key;
    const header = {
      alg: 'privateKey' in key ? key.alg : 'ES256',
      kid: 'privateKey' in key ? key.kid : 'es-1',
      typ: 'JWT',
      ...opts.header,
    };
    return new SignJWT(payload).setProtectedHeader(header as JWTHeaderParameters).sign(signingKey);
  };

  const get: TestGateway['get'] = (path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    let url = `http://gw.test${path}`;
    if (opts.token) {
      const via = opts.via ?? 'header';
      if (via === 'header') headers.authorization = `Bearer ${opts.token}`;
      if (via === 'cookie') headers.cookie = `edge_token=${opts.token}`;
      if (via === 'query') url += `${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(opts.token)}`;
    }
    return Promise.resolve(app.request(url, { headers }, { peer: opts.peer ?? '203.0.113.7' }));
  };

  return { app, clock, es, ed, mint, get, close: () => deps.close() };
}
