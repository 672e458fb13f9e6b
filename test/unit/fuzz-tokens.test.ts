/**
 * Property tests of token extraction and verification through the real app (`app.request`): arbitrary
 * strings in each place a token travels, compact JWS with random JSON (nested, oversized) or random bytes in
 * each part, and correctly signed tokens whose claims have random types. Every answer is an error of the
 * table with its JSON body — never a 500, never a throw out of the app — and each input is answered within a
 * bound (fast-check's per-run `timeout`).
 */
import fc from 'fast-check';
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { AUD, ISS, type TestGateway, testGateway } from '../helpers/gateway.ts';
import { contractBreach, rawOf } from '../helpers/hostile.ts';

/** bounded runs keep the unit project fast; `timeout` fails any single input that takes longer */
const RUNS = { numRuns: 300, timeout: 5_000, interruptAfterTimeLimit: 30_000 };
const SEG = '/live/demo/100.ts';
const PEER = '203.0.113.7';

let origin: FixtureOrigin;
let gw: TestGateway;

beforeAll(async () => {
  origin = await startFixtureOrigin();
  // a failed-auth budget out of reach: the properties are about verification, not the limiter
  gw = await testGateway({ ORIGINS: origin.url, RATE_AUTH_FAIL_PER_MIN: '1000000000', SESSION_MAX: '100' });
});
afterAll(async () => {
  await gw?.close();
  await origin?.close();
});

/** The answer to a GET carrying `token` the given way; asserts the contract and returns the code. */
async function codeFor(token: string, via: 'header' | 'query' | 'cookie'): Promise<string> {
  const res = await gw.get(SEG, { token, via, peer: PEER });
  const raw = await rawOf(res);
  expect(contractBreach(raw), raw.body).toBeUndefined();
  expect(raw.status).not.toBe(500);
  return raw.status < 300 ? 'ok' : (JSON.parse(raw.body).error as string);
}

/** Characters a header value may hold (the Fetch `Headers` refuses CR, LF and NUL). */
const headerSafe = (s: string) =>
  [...s]
    .map((c) => (c.charCodeAt(0) > 0xff ? '?' : c))
    .join('')
    .replace(/[\0\r\n]/g, '');
const b64 = (s: string | Uint8Array) => base64url.encode(s);
/** lone surrogates replaced, so encodeURIComponent accepts the string */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

const nested = fc.integer({ min: 1, max: 600 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const jsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null'),
  nested,
  fc.nat({ max: 5000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const headerJson = fc.oneof(
  jsonText,
  fc
    .record(
      {
        alg: fc.oneof(
          fc.constantFrom('ES256', 'EdDSA', 'none', 'HS256', 'RS256', 'es256', ''),
          fc.jsonValue(),
        ),
        kid: fc.oneof(fc.constantFrom('es-1', 'ed-1', '../es-1', 'es-1\u0000', ''), fc.jsonValue()),
        typ: fc.jsonValue(),
        crit: fc.oneof(fc.constant(['exp']), fc.jsonValue()),
        b64: fc.boolean(),
        jku: fc.constant('https://evil.test/jwks.json'),
        jwk: fc.jsonValue(),
        x5u: fc.constant('https://evil.test/cert.pem'),
      },
      { requiredKeys: ['alg'] },
    )
    .map((h) => JSON.stringify(h)),
);
const part = (json: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 4, arbitrary: json.map((t) => b64(t)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => b64(b)) },
    // anything but whitespace and `;`, which would only stop the extraction (token_missing, tested above)
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((t) => t.replace(/[\s;]/g, '')) },
  );
const compactJws = fc
  .tuple(
    part(headerJson),
    part(jsonText),
    fc.uint8Array({ maxLength: 128 }).map((b) => b64(b)),
  )
  .map((parts) => parts.join('.'));
const via = fc.constantFrom('header' as const, 'query' as const, 'cookie' as const);

describe('token extraction: arbitrary strings wherever a token travels', () => {
  it('any string is token_missing or token_invalid (or the size codes), with the JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 6000 }), via, async (s, where) => {
        const token =
          where === 'query' ? wellFormed(s) : headerSafe(where === 'cookie' ? s.replace(/;/g, '') : s);
        const code = await codeFor(token, where);
        expect(['token_missing', 'token_invalid', 'headers_too_large', 'uri_too_long']).toContain(code);
      }),
      RUNS,
    );
  });

  it('several token parameters are refused as malformed, whatever they hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 50 }), { minLength: 2, maxLength: 5 }),
        async (values) => {
          const q = values.map((v) => `token=${encodeURIComponent(wellFormed(v))}`).join('&');
          const raw = await rawOf(await gw.get(`${SEG}?${q}`, { peer: PEER }));
          expect(contractBreach(raw)).toBeUndefined();
          expect(JSON.parse(raw.body).error).toBe('bad_request');
        },
      ),
      RUNS,
    );
  });
});

describe('verification: random JSON and random bytes in each JWT part', () => {
  it('is token_invalid (or the size code where it travels), decided without a 500', async () => {
    await fc.assert(
      fc.asyncProperty(compactJws, via, async (token, where) => {
        const code = await codeFor(token, where);
        // past its bound the query is refused as too long, and a cookie header past 8 KB is not read at all
        const bounded =
          (where === 'query' && code === 'uri_too_long') ||
          (where === 'cookie' && token.length > 8000 && code === 'token_missing');
        expect(bounded ? code : 'token_invalid').toBe(code);
      }),
      RUNS,
    );
  });
});

/** A claim value of the wrong type for the contract (SPEC §3), or undefined when the value is acceptable. */
function wronglyTyped(claim: string, v: unknown): boolean {
  switch (claim) {
    case 'iss':
      return v !== ISS;
    case 'aud':
      return !(v === AUD || (Array.isArray(v) && v.includes(AUD)));
    case 'sub':
    case 'sid':
    case 'jti':
      return typeof v !== 'string';
    case 'iat':
    case 'exp':
    case 'nbf':
    case 'auth_time':
      return typeof v !== 'number';
    case 'ip':
      return typeof v !== 'string' && !Array.isArray(v);
    case 'ch':
      return v !== '*' && !Array.isArray(v);
    case 'max':
      return !Number.isInteger(v);
    default:
      return false;
  }
}

const CLAIMS = [
  'iss',
  'aud',
  'sub',
  'sid',
  'jti',
  'iat',
  'exp',
  'nbf',
  'auth_time',
  'ip',
  'ch',
  'max',
  'extra',
];
const claimValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(
    '*',
    ['*'],
    ['demo'],
    'demo',
    '203.0.113.7',
    '203.0.113.0/24',
    ['203.0.113.7', '::1'],
    0,
    -1,
    1e308,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  nested.map((n) => JSON.parse(n) as unknown),
);

describe('verification: correctly signed tokens with claims of random types', () => {
  it('a claim of the wrong type is token_invalid; any other value gets an answer of the table', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...CLAIMS), fc.option(claimValue, { nil: undefined })), {
          minLength: 1,
          maxLength: 4,
        }),
        via,
        async (overrides, where) => {
          const claims: Record<string, unknown> = Object.fromEntries(overrides);
          // the session guard would admit every random sub: give each run its own account
          claims.sid ??= `sid-${Math.random().toString(36).slice(2)}`;
          const token = await gw.mint(claims);
          const code = await codeFor(token, where);
          const wrong = Object.entries(claims).some(([c, v]) => v !== undefined && wronglyTyped(c, v));
          const missing = ['sub', 'sid', 'jti', 'iat', 'exp', 'ip', 'ch'].some(
            (c) => c in claims && claims[c] === undefined,
          );
          // jose checks exp first: a token both malformed and expired may be refused as expired
          const expired = typeof claims.exp === 'number' && claims.exp + 30 < gw.clock.now() / 1000;
          if (wrong || missing)
            expect(expired && code === 'token_expired' ? code : 'token_invalid').toBe(code);
          else
            expect([
              'ok',
              'token_invalid',
              'token_expired',
              'ip_mismatch',
              'channel_forbidden',
              'session_replaced',
              'session_limit',
              'headers_too_large',
              'uri_too_long',
            ]).toContain(code);
        },
      ),
      RUNS,
    );
  });
});

describe('regressions found by these properties', () => {
  it('auth_time: null is refused like any other non-number (it was read as absent)', async () => {
    const token = await gw.mint({ auth_time: null, sid: 'null-auth-time' });
    expect(await codeFor(token, 'header')).toBe('token_invalid');
  });
});
