/**
 * The one configuration schema (SPEC §9). Runtime entries hand it a plain record (process.env on Node,
 * bindings on Workers); a bad value of a known name stops the process with a message naming it, and
 * unknown names are ignored. Secrets are validated but never echoed.
 */
import { z } from 'zod';
import { parseCidr } from './auth/address.ts';
import { type ChannelKeySecret, parseChannelKeySecrets } from './delivery/keys.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const seconds = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);
const bool = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no', ''])
  .default('0')
  .transform((v) => v === '1' || v === 'true' || v === 'yes');
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const json = (what: string) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be ${what} as JSON` });
      return z.NEVER;
    }
  });
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  ORIGINS: list.pipe(z.array(httpUrl).max(8)),
  ORIGIN_MODE: z.enum(['primary', 'round-robin']).default('primary'),
  ORIGIN_CONNECT_TIMEOUT_MS: seconds(500, 50, 30_000),
  ORIGIN_FIRST_BYTE_TIMEOUT_MS: seconds(1500, 100, 60_000),
  ORIGIN_HEALTH_INTERVAL_MS: seconds(2000, 100, 600_000),
  JWT_ISSUER: z.string().min(1).max(256),
  JWT_AUDIENCE: z.string().min(1).max(256),
  JWT_PUBLIC_JWKS: json('a JWKS ({"keys":[…]})').optional(),
  JWKS_URL: httpUrl.optional(),
  JWT_PRIVATE_JWK: json('a private JWK').optional(),
  ISSUER_API_KEY: list.pipe(z.array(z.string().min(16, 'each key needs at least 16 characters')).max(8)),
  TOKEN_MAX_TTL: seconds(600, 10, 86_400),
  TOKEN_LEEWAY: seconds(30, 0, 30),
  REFRESH_GRACE: seconds(60, 0, 3600),
  TRUSTED_PROXIES: list.transform((items, ctx) => {
    try {
      return items.map(parseCidr);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  IP_BIND_PREFIX_V4: z.coerce.number().int().min(0).max(32).default(32),
  IP_BIND_PREFIX_V6: z.coerce.number().int().min(0).max(128).default(128),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_CLUSTER_NODES: list.pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each node is host:port'))),
  SESSION_POLICY: z.enum(['kick-oldest', 'deny-new']).default('kick-oldest'),
  SESSION_MAX: z.coerce.number().int().min(1).max(100).default(1),
  SESSION_IDLE: seconds(20, 2, 3600),
  STORE_FAILURE: z.enum(['open', 'closed']).default('closed'),
  SESSION_LEASE: z.coerce.number().min(0).max(10).default(2),
  SESSION_MAX_AGE: seconds(86_400, 60, 30 * 86_400),
  STORE_TIMEOUT_MS: seconds(250, 10, 10_000),
  ORIGIN_SECRET: z.string().min(16, 'needs at least 16 characters').optional(),
  WATERMARK_SECRET: z.string().min(16, 'needs at least 16 characters').optional(),
  CORS_ORIGINS: list,
  CHANNEL_KEY_SECRET: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseChannelKeySecrets(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  KEY_PERIOD: z.coerce.number().int().min(1).max(1_000_000).default(150),
  DEV_MODE: bool,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  TOKEN_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  SEGMENT_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(256 * 1024 * 1024),
  SEGMENT_CACHE_OBJECT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(16 * 1024 * 1024),
  SEGMENT_CACHE_TTL: seconds(120, 1, 3600),
  MAX_BODY_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  RATE_ISSUE_PER_MIN: z.coerce.number().int().min(1).default(600),
  RATE_REFRESH_PER_MIN: z.coerce.number().int().min(1).default(60),
  RATE_AUTH_FAIL_PER_MIN: z.coerce.number().int().min(1).default(120),
  RATE_LIMIT_ENTRIES: z.coerce.number().int().min(100).default(100_000),
  SERVER_HEADERS_TIMEOUT_MS: seconds(10_000, 100, 600_000),
  SERVER_REQUEST_TIMEOUT_MS: seconds(30_000, 100, 3_600_000),
  SERVER_KEEPALIVE_TIMEOUT_MS: seconds(65_000, 100, 600_000),
  SERVER_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  SERVER_SOCKET_TIMEOUT_MS: seconds(60_000, 1000, 3_600_000),
});

/** Rules across variables, checked on the raw input so they are reported alongside per-variable errors. */
function crossChecks(input: Record<string, string>): string[] {
  const out: string[] = [];
  if (!input.JWT_PUBLIC_JWKS && !input.JWKS_URL && !input.JWT_PRIVATE_JWK)
    out.push('JWT_PUBLIC_JWKS: JWT_PUBLIC_JWKS or JWKS_URL is required');
  if (input.REDIS_URL && input.REDIS_CLUSTER_NODES)
    out.push('REDIS_URL: set REDIS_URL or REDIS_CLUSTER_NODES, not both');
  // Node refuses a headers timeout longer than the whole-request timeout
  if (Number(input.SERVER_HEADERS_TIMEOUT_MS ?? 10_000) > Number(input.SERVER_REQUEST_TIMEOUT_MS ?? 30_000))
    out.push('SERVER_HEADERS_TIMEOUT_MS: must not exceed SERVER_REQUEST_TIMEOUT_MS');
  return out;
}

const KNOWN = Object.keys(schema.shape) as (keyof z.input<typeof schema>)[];

type Parsed = z.output<typeof schema>;

export interface Config {
  port: number;
  host: string;
  origins: string[];
  originMode: 'primary' | 'round-robin';
  originConnectTimeoutMs: number;
  originFirstByteTimeoutMs: number;
  originHealthIntervalMs: number;
  jwtIssuer: string;
  jwtAudience: string;
  jwtPublicJwks: unknown;
  jwksUrl: string | undefined;
  jwtPrivateJwk: unknown;
  issuerApiKeys: string[];
  tokenMaxTtl: number;
  tokenLeeway: number;
  refreshGrace: number;
  trustedProxies: ReturnType<typeof parseCidr>[];
  ipBindPrefixV4: number;
  ipBindPrefixV6: number;
  redisUrl: string | undefined;
  redisClusterNodes: string[];
  sessionPolicy: 'kick-oldest' | 'deny-new';
  sessionMax: number;
  sessionIdle: number;
  storeFailure: 'open' | 'closed';
  sessionLeaseMs: number;
  sessionMaxAge: number;
  storeTimeoutMs: number;
  originSecret: string | undefined;
  watermarkSecret: string | undefined;
  corsOrigins: string[];
  channelKeys: ChannelKeySecret[];
  keyPeriod: number;
  devMode: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  tokenCacheSize: number;
  segmentCacheBytes: number;
  segmentCacheObjectMaxBytes: number;
  segmentCacheTtl: number;
  maxBodyBytes: number;
  rateIssuePerMin: number;
  rateRefreshPerMin: number;
  rateAuthFailPerMin: number;
  rateLimitEntries: number;
  serverHeadersTimeoutMs: number;
  serverRequestTimeoutMs: number;
  serverKeepAliveTimeoutMs: number;
  serverMaxConnections: number;
  /** a connection on which no byte moves either way for this long is closed (slow readers) */
  serverSocketTimeoutMs: number;
}

/** Parses the environment-shaped record; throws ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {};
  for (const name of KNOWN) {
    const v = env[name];
    if (v !== undefined && v !== '') input[name] = v;
  }
  const res = schema.safeParse(input);
  const problems = [
    ...(res.success ? [] : res.error.issues.map((i) => `${String(i.path[0] ?? 'config')}: ${i.message}`)),
    ...crossChecks(input),
  ];
  if (problems.length || !res.success) throw new ConfigError(problems);
  return toConfig(res.data);
}

function toConfig(p: Parsed): Config {
  return {
    port: p.PORT,
    host: p.HOST,
    origins: p.ORIGINS.map((o) => o.replace(/\/+$/, '')),
    originMode: p.ORIGIN_MODE,
    originConnectTimeoutMs: p.ORIGIN_CONNECT_TIMEOUT_MS,
    originFirstByteTimeoutMs: p.ORIGIN_FIRST_BYTE_TIMEOUT_MS,
    originHealthIntervalMs: p.ORIGIN_HEALTH_INTERVAL_MS,
    jwtIssuer: p.JWT_ISSUER,
    jwtAudience: p.JWT_AUDIENCE,
    jwtPublicJwks: p.JWT_PUBLIC_JWKS,
    jwksUrl: p.JWKS_URL,
    jwtPrivateJwk: p.JWT_PRIVATE_JWK,
    issuerApiKeys: p.ISSUER_API_KEY,
    tokenMaxTtl: p.TOKEN_MAX_TTL,
    tokenLeeway: p.TOKEN_LEEWAY,
    refreshGrace: p.REFRESH_GRACE,
    trustedProxies: p.TRUSTED_PROXIES,
    ipBindPrefixV4: p.IP_BIND_PREFIX_V4,
    ipBindPrefixV6: p.IP_BIND_PREFIX_V6,
    redisUrl: p.REDIS_URL,
    redisClusterNodes: p.REDIS_CLUSTER_NODES,
    sessionPolicy: p.SESSION_POLICY,
    sessionMax: p.SESSION_MAX,
    sessionIdle: p.SESSION_IDLE,
    storeFailure: p.STORE_FAILURE,
    sessionLeaseMs: Math.round(p.SESSION_LEASE * 1000),
    sessionMaxAge: p.SESSION_MAX_AGE,
    storeTimeoutMs: p.STORE_TIMEOUT_MS,
    originSecret: p.ORIGIN_SECRET,
    watermarkSecret: p.WATERMARK_SECRET,
    corsOrigins: p.CORS_ORIGINS,
    channelKeys: p.CHANNEL_KEY_SECRET ?? [],
    keyPeriod: p.KEY_PERIOD,
    devMode: p.DEV_MODE,
    logLevel: p.LOG_LEVEL,
    tokenCacheSize: p.TOKEN_CACHE_SIZE,
    segmentCacheBytes: p.SEGMENT_CACHE_BYTES,
    segmentCacheObjectMaxBytes: p.SEGMENT_CACHE_OBJECT_MAX_BYTES,
    segmentCacheTtl: p.SEGMENT_CACHE_TTL,
    maxBodyBytes: p.MAX_BODY_BYTES,
    rateIssuePerMin: p.RATE_ISSUE_PER_MIN,
    rateRefreshPerMin: p.RATE_REFRESH_PER_MIN,
    rateAuthFailPerMin: p.RATE_AUTH_FAIL_PER_MIN,
    rateLimitEntries: p.RATE_LIMIT_ENTRIES,
    serverHeadersTimeoutMs: p.SERVER_HEADERS_TIMEOUT_MS,
    serverRequestTimeoutMs: p.SERVER_REQUEST_TIMEOUT_MS,
    serverKeepAliveTimeoutMs: p.SERVER_KEEPALIVE_TIMEOUT_MS,
    serverMaxConnections: p.SERVER_MAX_CONNECTIONS,
    serverSocketTimeoutMs: p.SERVER_SOCKET_TIMEOUT_MS,
  };
}
