/**
 * The attack suite a security reviewer would write against token handling (SPEC §3, issue 3): every case
 * asserts the status and the contract's error code, through the public HTTP surface.
 */
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { NOW, type TestGateway, testGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let origin: FixtureOrigin;
const SEG = '/live/demo/100.ts';

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string; message: string; requestId: string };
  expect(body.error).toBe(code);
  expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get('x-request-id')).toBe(body.requestId);
  return body;
}

function unsigned(header: object, payload: object, sig = ''): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${sig}`;
}

beforeAll(async () => {
  origin = await startFixtureOrigin();
  gw = await testGateway({ ORIGINS: origin.url });
});
afterAll(async () => {
  await gw?.close();
  await origin?.close();
});

describe('a valid token', () => {
  it('is accepted from the Authorization header, the query and the cookie', async () => {
    const token = await gw.mint();
    for (const via of ['header', 'query', 'cookie'] as const) {
      const res = await gw.get(SEG, { token, via });
      expect(res.status, via).toBe(200);
      await res.arrayBuffer();
    }
  });

  it('is accepted when signed with EdDSA', async () => {
    const res = await gw.get(SEG, { token: await gw.mint({}, { key: gw.ed }) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it('never reaches the origin', async () => {
    const token = await gw.mint({ jti: 'never-forwarded' });
    (await gw.get(`${SEG}?x=1`, { token, via: 'query' })).body?.cancel();
    (await gw.get(SEG, { token, via: 'cookie' })).body?.cancel();
    (await gw.get(SEG, { token, via: 'header' })).body?.cancel();
    const seen = JSON.stringify(origin.requests());
    expect(seen).not.toContain(token);
    expect(seen).not.toContain(token.split('.')[2]);
  });
});

describe('refused before any signature check', () => {
  it('no token → token_missing', async () => {
    await expectError(await gw.get(SEG), 401, 'token_missing');
  });
  it('alg none → token_invalid', async () => {
    const t = unsigned({ alg: 'none', typ: 'JWT' }, { sub: 'acct-1' });
    await expectError(await gw.get(SEG, { token: `${t}` }), 401, 'token_invalid');
    await expectError(await gw.get(SEG, { token: `${t}x` }), 401, 'token_invalid');
  });
  it('HS256 signed with the public key as the secret → token_invalid', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(gw.es.publicJwk));
    const iat = Math.floor(gw.clock.now() / 1000);
    const t = await new SignJWT({
      iss: 'https://issuer.test',
      aud: 'edge-gateway',
      sub: 'a',
      sid: 's',
      ip: '203.0.113.7',
      ch: ['demo'],
      iat,
      exp: iat + 60,
      jti: 'j',
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'es-1' })
      .sign(secret);
    await expectError(await gw.get(SEG, { token: t }), 401, 'token_invalid');
  });
  it('RS256 (RS/ES mix-up) with a known kid → token_invalid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const t = await gw.mint({}, { key: privateKey, header: { alg: 'RS256', kid: 'es-1' } });
    await expectError(await gw.get(SEG, { token: t }), 401, 'token_invalid');
  });
  it('unknown kid → token_invalid', async () => {
    await expectError(
      await gw.get(SEG, { token: await gw.mint({}, { header: { kid: 'nope' } }) }),
      401,
      'token_invalid',
    );
  });
  it('kid with path characters → token_invalid', async () => {
    for (const kid of ['../../etc/passwd', 'a/b', 'es-1\u0000', '..']) {
      const res = await gw.get(SEG, { token: await gw.mint({}, { header: { kid } }) });
      await expectError(res, 401, 'token_invalid');
    }
  });
  it('unknown crit → token_invalid', async () => {
    // jose refuses to sign an unknown crit, so the test signs by hand with WebCrypto (JWS ES256 = raw r||s)
    const iat = Math.floor(gw.clock.now() / 1000);
    const claims = {
      iss: 'https://issuer.test',
      aud: 'edge-gateway',
      sub: 'a',
      sid: 's',
      ip: '203.0.113.7',
      ch: ['demo'],
      iat,
      exp: iat + 60,
      jti: 'crit',
    };
    const input = unsigned({ alg: 'ES256', kid: 'es-1', crit: ['exp-ext'], 'exp-ext': true }, claims).slice(
      0,
      -1,
    );
    const sig = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      gw.es.privateKey,
      new TextEncoder().encode(input),
    );
    const t = `${input}.${base64url.encode(new Uint8Array(sig))}`;
    await expectError(await gw.get(SEG, { token: t }), 401, 'token_invalid');
  });
  it('an oversize token is refused with bounded work', async () => {
    const huge = `${'a'.repeat(8_000)}.${'b'.repeat(8_000)}.${'c'.repeat(100)}`;
    await expectError(await gw.get(SEG, { token: huge }), 401, 'token_invalid');
    const tooBig = `${'a'.repeat(60_000)}.${'b'.repeat(60_000)}.c`;
    await expectError(await gw.get(SEG, { token: tooBig }), 431, 'headers_too_large');
  });
  it('garbage in each part → token_invalid', async () => {
    const good = await gw.mint();
    const [h, p, s] = good.split('.');
    for (const t of [`${h}.${p}`, `x.${p}.${s}`, `${h}.!!.${s}`, `${h}.${p}.${s}.${s}`, 'a.b.c', '...']) {
      const res = await gw.get(SEG, { token: t });
      await expectError(res, 401, 'token_invalid');
    }
  });
});

describe('refused by the signature or claims', () => {
  it('expired → token_expired', async () => {
    const t = await gw.mint();
    gw.clock.advance(301_000 + 30_000);
    try {
      await expectError(await gw.get(SEG, { token: t }), 401, 'token_expired');
    } finally {
      gw.clock.set(NOW);
    }
  });
  it('a cached token is not served past its exp', async () => {
    const t = await gw.mint({ jti: 'cached-then-expired' });
    (await gw.get(SEG, { token: t })).body?.cancel();
    gw.clock.advance(331_000);
    try {
      await expectError(await gw.get(SEG, { token: t }), 401, 'token_expired');
    } finally {
      gw.clock.set(NOW);
    }
  });
  it('nbf in the future → token_invalid', async () => {
    const iat = Math.floor(gw.clock.now() / 1000);
    await expectError(await gw.get(SEG, { token: await gw.mint({ nbf: iat + 120 }) }), 401, 'token_invalid');
  });
  it('wrong iss or aud → token_invalid', async () => {
    await expectError(
      await gw.get(SEG, { token: await gw.mint({ iss: 'https://evil.test' }) }),
      401,
      'token_invalid',
    );
    await expectError(await gw.get(SEG, { token: await gw.mint({ aud: 'other' }) }), 401, 'token_invalid');
  });
  it('each missing claim → token_invalid', async () => {
    for (const claim of ['sub', 'sid', 'ip', 'ch', 'iat', 'exp', 'jti']) {
      const res = await gw.get(SEG, { token: await gw.mint({ [claim]: undefined }) });
      await expectError(res, 401, 'token_invalid');
    }
  });
  it('claims of the wrong type → token_invalid', async () => {
    const cases = [
      { sub: 42 },
      { sid: ['x'] },
      { ch: 'demo' },
      { ch: ['../x'] },
      { ip: 7 },
      { max: 0 },
      { max: 1e9 },
      { sub: 'x'.repeat(200) },
    ];
    for (const c of cases)
      await expectError(await gw.get(SEG, { token: await gw.mint(c) }), 401, 'token_invalid');
  });
  it('tampered payload or signature → token_invalid', async () => {
    const [h, p, s] = (await gw.mint()).split('.') as [string, string, string];
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
    payload.sub = 'someone-else';
    const tampered = `${h}.${base64url.encode(JSON.stringify(payload))}.${s}`;
    await expectError(await gw.get(SEG, { token: tampered }), 401, 'token_invalid');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`;
    await expectError(await gw.get(SEG, { token: flipped }), 401, 'token_invalid');
  });
  it('jku, x5u and embedded jwk headers are ignored', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    const forged = await gw.mint(
      {},
      {
        key: attacker.privateKey,
        header: { kid: 'es-1', jwk, jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/x5u' },
      },
    );
    await expectError(await gw.get(SEG, { token: forged }), 401, 'token_invalid');
    const legit = await gw.mint(
      {},
      { header: { jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/x' } },
    );
    const res = await gw.get(SEG, { token: legit });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
  it('lifetime above TOKEN_MAX_TTL, even when signed → token_invalid', async () => {
    const iat = Math.floor(gw.clock.now() / 1000);
    await expectError(await gw.get(SEG, { token: await gw.mint({ exp: iat + 3600 }) }), 401, 'token_invalid');
    // backdated iat cannot stretch it either: nothing is accepted past now + TOKEN_MAX_TTL
    await expectError(
      await gw.get(SEG, { token: await gw.mint({ iat: iat + 500, exp: iat + 1000 }) }),
      401,
      'token_invalid',
    );
  });
});

describe('IP binding and entitlement', () => {
  it('another IPv4 address → 403 ip_mismatch with the contractual message', async () => {
    const body = await expectError(
      await gw.get(SEG, { token: await gw.mint(), peer: '203.0.113.8' }),
      403,
      'ip_mismatch',
    );
    expect(body.message).toBe('Token Leakage Detected - IP Mismatch');
  });
  it('IPv6 binding, and IPv4-mapped IPv6 normalised on both sides', async () => {
    const v6 = await gw.mint({ ip: '2001:db8::1' });
    expect((await gw.get(SEG, { token: v6, peer: '2001:db8:0:0::1' })).status).toBe(200);
    await expectError(await gw.get(SEG, { token: v6, peer: '2001:db8::2' }), 403, 'ip_mismatch');
    const mapped = await gw.mint({ ip: '::ffff:198.51.100.4' });
    expect((await gw.get(SEG, { token: mapped, peer: '198.51.100.4' })).status).toBe(200);
    const plain = await gw.mint({ ip: '198.51.100.4' });
    expect((await gw.get(SEG, { token: plain, peer: '::ffff:198.51.100.4' })).status).toBe(200);
    await expectError(await gw.get(SEG, { token: plain, peer: '::ffff:198.51.100.5' }), 403, 'ip_mismatch');
  });
  it('a dual-stack claim covers both addresses', async () => {
    const t = await gw.mint({ ip: ['198.51.100.9', '2001:db8::9'] });
    expect((await gw.get(SEG, { token: t, peer: '198.51.100.9' })).status).toBe(200);
    expect((await gw.get(SEG, { token: t, peer: '2001:db8::9' })).status).toBe(200);
  });
  it('a claim wider than the configured binding → token_invalid', async () => {
    await expectError(
      await gw.get(SEG, { token: await gw.mint({ ip: '203.0.113.0/24' }) }),
      401,
      'token_invalid',
    );
  });
  it('non-canonical IPv4 forms in the claim are refused', async () => {
    for (const ip of ['203.0.113.007', '0xcb.0.113.7', '3405803783']) {
      await expectError(await gw.get(SEG, { token: await gw.mint({ ip }) }), 401, 'token_invalid');
    }
  });
  it('X-Forwarded-For and Forwarded from an untrusted peer are ignored', async () => {
    const t = await gw.mint({ ip: '198.51.100.77' });
    await expectError(
      await gw.get(SEG, { token: t, peer: '203.0.113.50', headers: { 'x-forwarded-for': '198.51.100.77' } }),
      403,
      'ip_mismatch',
    );
    await expectError(
      await gw.get(SEG, { token: t, peer: '203.0.113.50', headers: { forwarded: 'for=198.51.100.77' } }),
      403,
      'ip_mismatch',
    );
  });
  it('a channel not in ch → 403 channel_forbidden', async () => {
    await expectError(
      await gw.get('/live/sports/1.ts', { token: await gw.mint({ ch: ['demo'] }) }),
      403,
      'channel_forbidden',
    );
    const all = await gw.mint({ ch: '*' });
    expect((await gw.get(SEG, { token: all })).status).toBe(200);
  });
  it('two token parameters are ambiguous → bad_request', async () => {
    const t = await gw.mint();
    await expectError(await gw.get(`${SEG}?token=${t}&token=${t}`), 400, 'bad_request');
  });
});

describe('failed-auth budget', () => {
  it('an address that keeps failing is rate limited with Retry-After', async () => {
    const g = await testGateway({ ORIGINS: origin.url, RATE_AUTH_FAIL_PER_MIN: '5' });
    try {
      for (let i = 0; i < 5; i++) await g.get(SEG, { token: 'a.b.c', peer: '192.0.2.66' });
      const res = await g.get(SEG, { token: await g.mint({ ip: '192.0.2.66' }), peer: '192.0.2.66' });
      await expectError(res, 429, 'rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const other = await g.get(SEG, { token: await g.mint() });
      expect(other.status).toBe(200);
    } finally {
      await g.close();
    }
  });
});
