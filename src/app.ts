/**
 * createApp(deps): the gateway as one runtime-agnostic Hono app. Runtime entries (node.ts, worker.ts)
 * build the deps — keys, session guard, delivery, metrics, the peer address — and serve it.
 * No process.env and no node: imports here.
 */
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import { resolveClientAddress } from './auth/address.ts';
import { type Authenticator, createAuthenticator } from './auth/authenticate.ts';
import type { TokenIssuer } from './auth/issue.ts';
import type { VerificationKeys } from './auth/keys.ts';
import { createRateLimiter } from './auth/rate-limit.ts';
import { tokenRoutes } from './auth/routes.ts';
import { extractToken, pathForLog } from './auth/token-source.ts';
import { createTokenVerifier, type TokenHasher } from './auth/verify.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { corsFor } from './delivery/cors.ts';
import { parseLiveObject } from './delivery/paths.ts';
import type { Delivery } from './delivery/types.ts';
import { ApiError, errorResponse } from './errors.ts';
import type { AppEnv } from './http.ts';
import { errorFields, type Logger } from './log.ts';
import { LATENCY_BUCKETS, type Metrics } from './metrics.ts';
import type { SessionGuard } from './sessions/types.ts';

export interface AppDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  keys: VerificationKeys;
  issuer: TokenIssuer | undefined;
  sessions: SessionGuard;
  delivery: Delivery;
  /** The transport peer: socket address on Node, CF-Connecting-IP on Workers. */
  peerAddress: (c: Context) => string | undefined;
  /** The runtime's HTTP server already refuses header blocks over MAX_HEADER_BYTES (Node's parser does),
   * so the app need not walk every header of every request to count them. */
  serverCapsHeaders?: boolean;
  /** Synchronous SHA-256 for token cache keys where the runtime has one (Node); WebCrypto otherwise. */
  tokenHasher?: TokenHasher;
  /** Prometheus exposition, when the runtime has a registry. */
  metricsText?: () => Promise<{ contentType: string; body: string }>;
  /** Extra routes a runtime or the dev mode mounts (demo page, nginx auth subrequest). */
  extraRoutes?: (app: Hono<AppEnv>, ctx: { auth: Authenticator }) => void;
}

export const MAX_URL_LENGTH = 8192;
export const MAX_HEADER_BYTES = 32 * 1024;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config, clock, logger, metrics } = deps;
  const app = new Hono<AppEnv>();

  const requests = metrics.counter({
    name: 'gateway_requests_total',
    help: 'HTTP requests by route pattern, status and error code',
    labelNames: ['route', 'method', 'status', 'code'],
  });
  const latency = metrics.histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Time to response headers by route pattern',
    labelNames: ['route'],
    buckets: LATENCY_BUCKETS,
  });

  const perMinute = (limit: number) =>
    createRateLimiter({ limit, windowMs: 60_000, maxEntries: config.rateLimitEntries, clock });
  const verifier = createTokenVerifier({
    keys: deps.keys,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    maxTtl: config.tokenMaxTtl,
    leeway: config.tokenLeeway,
    clock,
    cacheSize: config.tokenCacheSize,
    metrics,
    ...(deps.tokenHasher ? { hash: deps.tokenHasher } : {}),
  });
  const auth = createAuthenticator({
    verifier,
    sessions: deps.sessions,
    binding: { v4: config.ipBindPrefixV4, v6: config.ipBindPrefixV6 },
    failedAuth: perMinute(config.rateAuthFailPerMin),
    refreshByAddress: perMinute(config.rateRefreshPerMin),
    refreshByAccount: perMinute(config.rateRefreshPerMin),
    sessionMax: config.sessionMax,
    sessionMaxAge: config.sessionMaxAge,
    refreshGrace: config.refreshGrace,
    clock,
    metrics,
  });

  app.use(async (c, next) => {
    const started = clock.now();
    const requestId = newRequestId();
    c.set('requestId', requestId);
    const url = c.req.url;
    if (url.length > MAX_URL_LENGTH) throw new ApiError('uri_too_long');
    if (!deps.serverCapsHeaders) {
      let headerBytes = 0;
      c.req.raw.headers.forEach((v, k) => {
        headerBytes += k.length + v.length + 4;
      });
      if (headerBytes > MAX_HEADER_BYTES) throw new ApiError('headers_too_large');
    }
    c.set(
      'clientAddress',
      resolveClientAddress(
        deps.peerAddress(c),
        { forwarded: c.req.header('forwarded'), xForwardedFor: c.req.header('x-forwarded-for') },
        config.trustedProxies,
      ),
    );
    await next();
    if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', requestId);
    const route = routePath(c, -1) || 'unmatched';
    const code = c.res.status >= 400 ? (c.res.headers.get('x-error-code') ?? 'unknown') : '';
    requests.inc({ route, method: c.req.method, status: c.res.status, code });
    latency.observe((clock.now() - started) / 1000, { route });
    if (c.res.status >= 400) {
      logger.info('request refused', {
        requestId,
        method: c.req.method,
        path: pathForLog(new URL(url)),
        status: c.res.status,
        code,
        client: c.get('clientAddress'),
      });
    }
  });

  if (config.corsOrigins.length) {
    const cors = corsFor(config.corsOrigins);
    app.use('/live/*', cors);
    app.use('/v1/tokens/refresh', cors);
  }

  app.on(['GET', 'HEAD'], '/live/:channel/*', async (c) => {
    const channel = c.req.param('channel');
    const url = new URL(c.req.url);
    const prefix = `/live/${channel}/`;
    if (!url.pathname.startsWith(prefix)) throw new ApiError('bad_request', 'Malformed channel in path');
    const object = parseLiveObject(channel, url.pathname.slice(prefix.length));
    const client = c.get('clientAddress');
    if (!client) throw new ApiError('bad_request', 'Client address could not be determined');
    const found = extractToken(c.req.raw, url);
    const claims = await auth.authorizeLive({ token: found?.token, client, channel });
    return deps.delivery.serve({
      channel,
      object: object.path,
      method: c.req.method === 'HEAD' ? 'HEAD' : 'GET',
      headers: c.req.raw.headers,
      queryToken: found?.source === 'query' ? found.token : undefined,
      sub: claims.sub,
      requestId: c.get('requestId'),
    });
  });

  app.route(
    '/',
    tokenRoutes({
      config,
      keys: deps.keys,
      issuer: deps.issuer,
      auth,
      sessions: deps.sessions,
      issueLimit: perMinute(config.rateIssuePerMin),
      logger,
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, { 'cache-control': 'no-store' }));
  app.get('/readyz', async (c) => {
    const store = await deps.sessions.ready().catch(() => false);
    const origins = deps.delivery.health();
    const ok = (store || config.storeFailure === 'open') && origins.some((o) => o.healthy);
    return c.json({ status: ok ? 'ready' : 'not_ready', store, origins }, ok ? 200 : 503, {
      'cache-control': 'no-store',
    });
  });
  if (deps.metricsText) {
    const text = deps.metricsText;
    app.get('/metrics', async (c) => {
      const m = await text();
      return c.body(m.body, 200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
    });
  }

  deps.extraRoutes?.(app, { auth });

  // Known paths, other methods: 405 with Allow, never a 404 that hides the route.
  const allow: [string, string][] = [
    ['/live/:channel/*', 'GET, HEAD, OPTIONS'],
    ['/v1/tokens', 'POST'],
    ['/v1/tokens/refresh', 'POST, OPTIONS'],
    ['/v1/sessions/:sub', 'GET, DELETE'],
    ['/.well-known/jwks.json', 'GET, HEAD'],
    ['/healthz', 'GET, HEAD'],
    ['/readyz', 'GET, HEAD'],
  ];
  for (const [path, methods] of allow) {
    app.all(path, () => {
      throw new ApiError('method_not_allowed', undefined, { headers: { allow: methods } });
    });
  }

  app.notFound((c) => render(new ApiError('not_found'), c));
  app.onError((err, c) => {
    if (err instanceof ApiError) return render(err, c);
    if (err instanceof HTTPException && err.status === 413)
      return render(new ApiError('payload_too_large'), c);
    logger.error('unhandled error', { requestId: c.get('requestId'), ...errorFields(err) });
    return render(new ApiError('internal'), c);
  });

  return app;
}

function render(err: ApiError, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId') ?? newRequestId();
  const res = errorResponse(err, requestId);
  res.headers.set('x-error-code', err.code);
  res.headers.set('x-request-id', requestId);
  return res;
}

function newRequestId(): string {
  return crypto.randomUUID();
}
