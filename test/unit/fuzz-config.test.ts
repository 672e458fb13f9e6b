/**
 * Property tests of configuration (SPEC §9) for the gateway and the origin node: random environment
 * records either parse or are refused with a ConfigError whose every line names a known variable — the one
 * that was set badly among them — and never echo a secret; nothing else is ever thrown. A gateway started
 * from a bad environment stops before it listens: its port stays free.
 */
import { createServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError as OriginConfigError, parseOriginConfig } from '../../origin/config.ts';
import { ConfigError, parseConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startNodeGateway } from '../../src/node.ts';
import { freePort } from '../helpers/net.ts';

const RUNS = { numRuns: 400 };

const GATEWAY_VARS = [
  'PORT',
  'HOST',
  'ORIGINS',
  'ORIGIN_MODE',
  'ORIGIN_CONNECT_TIMEOUT_MS',
  'ORIGIN_FIRST_BYTE_TIMEOUT_MS',
  'ORIGIN_HEALTH_INTERVAL_MS',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_PUBLIC_JWKS',
  'JWKS_URL',
  'JWT_PRIVATE_JWK',
  'ISSUER_API_KEY',
  'TOKEN_MAX_TTL',
  'TOKEN_LEEWAY',
  'REFRESH_GRACE',
  'TRUSTED_PROXIES',
  'IP_BIND_PREFIX_V4',
  'IP_BIND_PREFIX_V6',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'SESSION_POLICY',
  'SESSION_MAX',
  'SESSION_IDLE',
  'STORE_FAILURE',
  'SESSION_LEASE',
  'SESSION_MAX_AGE',
  'STORE_TIMEOUT_MS',
  'ORIGIN_SECRET',
  'WATERMARK_SECRET',
  'CORS_ORIGINS',
  'CHANNEL_KEY_SECRET',
  'KEY_PERIOD',
  'DEV_MODE',
  'LOG_LEVEL',
  'TOKEN_CACHE_SIZE',
  'SEGMENT_CACHE_BYTES',
  'SEGMENT_CACHE_OBJECT_MAX_BYTES',
  'SEGMENT_CACHE_TTL',
  'MAX_BODY_BYTES',
  'RATE_ISSUE_PER_MIN',
  'RATE_REFRESH_PER_MIN',
  'RATE_AUTH_FAIL_PER_MIN',
  'RATE_LIMIT_ENTRIES',
  'SERVER_HEADERS_TIMEOUT_MS',
  'SERVER_REQUEST_TIMEOUT_MS',
  'SERVER_KEEPALIVE_TIMEOUT_MS',
  'SERVER_MAX_CONNECTIONS',
  'SERVER_SOCKET_TIMEOUT_MS',
];
const GATEWAY_SECRETS = [
  'ISSUER_API_KEY',
  'ORIGIN_SECRET',
  'WATERMARK_SECRET',
  'CHANNEL_KEY_SECRET',
  'JWT_PRIVATE_JWK',
];
/** A rule across two variables may name the other one. */
const PARTNERS: Record<string, string[]> = {
  SERVER_REQUEST_TIMEOUT_MS: ['SERVER_HEADERS_TIMEOUT_MS'],
  REDIS_CLUSTER_NODES: ['REDIS_URL'],
  JWKS_URL: ['JWT_PUBLIC_JWKS'],
  JWT_PRIVATE_JWK: ['JWT_PUBLIC_JWKS'],
};
const ORIGIN_VARS = [
  'PORT',
  'HOST',
  'NODE_ID',
  'DATA_DIR',
  'OPERATOR_API_KEY',
  'START_INTERVAL',
  'CHANNEL_KEY_SECRET',
  'KEY_PERIOD',
  'ENCODER',
  'GPU_MODEL',
  'ORIGIN_SECRET',
  'ALLOW_FILE_INPUT',
  'CPU_CAPACITY',
  'LOG_LEVEL',
];

/** Values an operator (or a broken deploy script) puts in an environment variable. */
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e3',
    '0x10',
    ' 5 ',
    'NaN',
    'Infinity',
    '99999999999999999999',
    'true',
    'yes',
  ),
  fc.constantFrom(
    'http://a:9001',
    'ftp://x',
    'redis://r:6379',
    'host:1',
    '10.0.0.0/8',
    '::1,bogus',
    'a,b,,c',
  ),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
  fc.constantFrom(`v1:${'ab'.repeat(16)}`, 'v1:zz', `v1:${'00'.repeat(32)},v1:${'11'.repeat(32)}`),
);
const GATEWAY_BASE = {
  JWT_ISSUER: 'https://issuer.test',
  JWT_AUDIENCE: 'edge-gateway',
  JWKS_URL: 'https://keys.test/jwks.json',
};
const ORIGIN_BASE = { OPERATOR_API_KEY: 'operator-key-0123456789' };

function gatewayProblems(env: Record<string, string>): string[] | undefined {
  try {
    parseConfig(env);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
}

function originProblems(env: Record<string, string>): string[] | undefined {
  try {
    parseOriginConfig(env);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(OriginConfigError);
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
}

const named = (problem: string) => /^([A-Z][A-Z0-9_]*): \S/.exec(problem)?.[1];

describe('gateway configuration', () => {
  it('a random environment parses, or every problem names a known variable; nothing else is thrown', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...GATEWAY_VARS, 'UNRELATED', 'path'), value), (env) => {
        for (const p of gatewayProblems(env) ?? []) expect(GATEWAY_VARS).toContain(named(p));
      }),
      RUNS,
    );
  });

  it('one bad value in a good environment is refused naming that variable, and no secret is echoed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GATEWAY_VARS), value, (name, v) => {
        const problems = gatewayProblems({ ...GATEWAY_BASE, [name]: v });
        if (!problems) return;
        const names = problems.map(named);
        expect(
          names.every((n) => n === name || PARTNERS[name]?.includes(n as string)),
          problems.join('\n'),
        ).toBe(true);
        if (GATEWAY_SECRETS.includes(name) && v.trim().length >= 6)
          expect(problems.join('\n')).not.toContain(v.trim());
      }),
      RUNS,
    );
  });
});

describe('origin node configuration', () => {
  it('a random environment parses, or every problem names a known variable; nothing else is thrown', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...ORIGIN_VARS, 'UNRELATED'), value), (env) => {
        for (const p of originProblems(env) ?? []) expect(ORIGIN_VARS).toContain(named(p));
      }),
      RUNS,
    );
  });

  it('one bad value in a good environment is refused naming that variable, and no secret is echoed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORIGIN_VARS), value, (name, v) => {
        const problems = originProblems({ ...ORIGIN_BASE, [name]: v });
        if (!problems) return;
        expect(
          problems.map(named).every((n) => n === name),
          problems.join('\n'),
        ).toBe(true);
        const secret = ['OPERATOR_API_KEY', 'CHANNEL_KEY_SECRET', 'ORIGIN_SECRET'].includes(name);
        if (secret && v.trim().length >= 6) expect(problems.join('\n')).not.toContain(v.trim());
      }),
      RUNS,
    );
  });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('a gateway started from a bad environment', () => {
  it('stops with a ConfigError naming the variable before it listens', async () => {
    // key material is checked after parsing, when the keys are built: random JSON reaches that code too
    const keyVars = fc.constantFrom('JWT_PUBLIC_JWKS', 'JWT_PRIVATE_JWK');
    const bad = fc.oneof(
      fc.tuple(
        keyVars,
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
      ),
      fc.tuple(
        keyVars,
        fc.constantFrom(
          '{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"k"}]}',
          '{"keys":[null]}',
          '{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA","kid":"k"}',
        ),
      ),
      fc.tuple(
        fc.constantFrom(
          ...GATEWAY_VARS.filter((n) => !n.startsWith('REDIS') && n !== 'PORT' && n !== 'HOST'),
        ),
        value,
      ),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ([name, v]) => {
        const port = await freePort();
        const env: Record<string, string> = {
          ...GATEWAY_BASE,
          ORIGINS: 'http://127.0.0.1:9',
          JWKS_URL: '',
          [name]: v,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
        };
        if (!env.JWT_PUBLIC_JWKS && !env.JWT_PRIVATE_JWK) env.JWKS_URL = GATEWAY_BASE.JWKS_URL;
        let started: Awaited<ReturnType<typeof startNodeGateway>> | undefined;
        try {
          started = await startNodeGateway(env, silentLogger);
        } catch (err) {
          expect(err, String(err)).toBeInstanceOf(ConfigError);
          const names = (err as ConfigError).problems.map(named);
          expect(
            names.every((n) => n === name || PARTNERS[name]?.includes(n as string)),
            String(err),
          ).toBe(true);
          expect(await portIsFree(port)).toBe(true);
          return;
        }
        await started.close();
      }),
      { numRuns: 40, timeout: 10_000 },
    );
  });
});

describe('regressions found by these properties', () => {
  it('a gateway without ORIGINS stops with a ConfigError naming ORIGINS (it threw a plain Error)', async () => {
    const env = { ...GATEWAY_BASE, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' };
    const err = await startNodeGateway(env, silentLogger).then(
      (gw) => gw.close(),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map(named)).toEqual(['ORIGINS']);
  });
});
