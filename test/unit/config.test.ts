import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.ts';

const base = { JWT_ISSUER: 'iss', JWT_AUDIENCE: 'aud', JWKS_URL: 'https://keys.test/jwks.json' };

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      tokenMaxTtl: 600,
      tokenLeeway: 30,
      refreshGrace: 60,
      ipBindPrefixV4: 32,
      ipBindPrefixV6: 128,
      sessionPolicy: 'kick-oldest',
      sessionMax: 1,
      sessionIdle: 20,
      storeFailure: 'closed',
      sessionLeaseMs: 2000,
      sessionMaxAge: 86_400,
      keyPeriod: 150,
      devMode: false,
      origins: [],
    });
  });

  it('ignores unknown names and empty values', () => {
    expect(() => parseConfig({ ...base, SOMETHING_ELSE: 'x', PORT: '' })).not.toThrow();
  });

  it('names each bad variable', () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ TOKEN_LEEWAY: '31' }, 'TOKEN_LEEWAY'],
      [{ SESSION_POLICY: 'random' }, 'SESSION_POLICY'],
      [{ STORE_FAILURE: 'maybe' }, 'STORE_FAILURE'],
      [{ ORIGINS: 'ftp://x' }, 'ORIGINS'],
      [{ TRUSTED_PROXIES: '10.0.0.0/99' }, 'TRUSTED_PROXIES'],
      [{ TRUSTED_PROXIES: 'bogus' }, 'TRUSTED_PROXIES'],
      [{ IP_BIND_PREFIX_V4: '33' }, 'IP_BIND_PREFIX_V4'],
      [{ CHANNEL_KEY_SECRET: 'v1:zz' }, 'CHANNEL_KEY_SECRET'],
      [{ CHANNEL_KEY_SECRET: 'nope' }, 'CHANNEL_KEY_SECRET'],
      [{ JWT_PUBLIC_JWKS: '{not json' }, 'JWT_PUBLIC_JWKS'],
      [{ ISSUER_API_KEY: 'short' }, 'ISSUER_API_KEY'],
      [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
      [{ REDIS_CLUSTER_NODES: 'a' }, 'REDIS_CLUSTER_NODES'],
      [{ DEV_MODE: 'sure' }, 'DEV_MODE'],
    ];
    for (const [env, name] of cases) {
      const p = problems({ ...base, ...env });
      expect(p.length, name).toBeGreaterThan(0);
      expect(p[0]).toMatch(new RegExp(`^${name}: `));
    }
  });

  it('requires issuer, audience and a key source', () => {
    const p = problems({});
    expect(p.join('\n')).toContain('JWT_ISSUER');
    expect(p.join('\n')).toContain('JWT_AUDIENCE');
    expect(p.join('\n')).toContain('JWT_PUBLIC_JWKS');
  });

  it('never echoes a secret in its message', () => {
    const secret = 'v1:' + 'ab'.repeat(8) + 'zz';
    const p = problems({ ...base, CHANNEL_KEY_SECRET: secret, ORIGIN_SECRET: 'short-secret' });
    expect(p.join('\n')).not.toContain('abab');
    expect(p.join('\n')).not.toContain('short-secret');
  });

  it('parses lists, CIDRs and channel key versions', () => {
    const hex = '00'.repeat(32);
    const c = parseConfig({
      ...base,
      ORIGINS: 'http://a:9001/, http://b:9002',
      TRUSTED_PROXIES: '10.0.0.0/8,::1,::ffff:172.16.0.0/108',
      CHANNEL_KEY_SECRET: `v2:${hex},v1:${hex}`,
      ISSUER_API_KEY: 'new-key-0123456789,old-key-0123456789',
    });
    expect(c.origins).toEqual(['http://a:9001', 'http://b:9002']);
    expect(c.trustedProxies.map((x) => `${x.addr.toString()}/${x.bits}`)).toEqual([
      '10.0.0.0/8',
      '::1/128',
      '172.16.0.0/12',
    ]);
    expect(c.channelKeys.map((k) => k.version)).toEqual(['v2', 'v1']);
    expect(c.issuerApiKeys).toHaveLength(2);
  });
});
