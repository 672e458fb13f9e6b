/**
 * Cloudflare Workers entry: the same `createApp(deps)` as on Node, with the deps a Worker has —
 * configuration from bindings (one schema: parseConfig), the client address from `CF-Connecting-IP`,
 * sessions in a Durable Object per account (`SessionDO`), origins through `fetch` with the colo's Cache API
 * as a shared segment tier, and no metrics registry (there is no `/metrics` route on Workers: use Workers
 * analytics and the JSON logs). The app is built once per isolate, on its first request.
 *
 * Differences from Node, by design: active origin health checks are off (an isolate lives per request
 * burst, so failover is passive: a failed attempt marks the node down for this isolate); the in-memory
 * segment cache is per isolate and kept small (isolates have 128 MB), the Cache API is shared by the colo;
 * `TRUSTED_PROXIES` stays empty (Cloudflare sets CF-Connecting-IP and strips a client's copy).
 *
 * Deploy:
 *   1. Edit [vars] in wrangler.toml (JWT_ISSUER, JWT_AUDIENCE, ORIGINS: https URLs the Worker can reach,
 *      e.g. through Cloudflare Tunnel, and add a `routes` entry on your zone: the Cache API does nothing on
 *      workers.dev).
 *   2. Secrets, never in wrangler.toml: `npx wrangler secret put <NAME>` for JWT_PRIVATE_JWK (or publish
 *      JWT_PUBLIC_JWKS / JWKS_URL as vars and issue elsewhere), ISSUER_API_KEY, ORIGIN_SECRET,
 *      CHANNEL_KEY_SECRET, WATERMARK_SECRET.
 *   3. `npx wrangler deploy`. The first deploy applies the Durable Object migration (tag v1).
 * Locally: put the same secrets in `.dev.vars` (gitignored; `.dev.vars` values override [vars]), then
 * `npm run dev:worker -- --port 8787` (real workerd, local Durable Objects and Cache API). A configuration
 * error answers 500 `internal` and names the bad variable in the Worker's log, never to the client.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ExecutionContext, Hono } from 'hono';
import { createApp } from './app.ts';
import { systemClock } from './clock.ts';
import { type Config, ConfigError, parseConfig } from './config.ts';
import { createFetchOriginFetch, type SharedCache, withSharedCache } from './delivery/fetch-origin.ts';
import { createDelivery } from './delivery/index.ts';
import { buildIssuer, buildKeys, deliveryOptions, guardOptions, storeOptions } from './deps.ts';
import { ApiError, errorResponse } from './errors.ts';
import type { AppEnv } from './http.ts';
import { createLogger, errorFields, type Logger } from './log.ts';
import { noopMetrics } from './metrics.ts';
import { type DurableObjectNamespaceLike, DurableObjectSessionStore } from './sessions/durable-object.ts';
import { createSessionGuard } from './sessions/guard.ts';

export { SessionDO } from './sessions/durable-object.ts';

export interface WorkerEnv {
  /** [[durable_objects.bindings]] SESSIONS → SessionDO */
  SESSIONS: DurableObjectNamespaceLike;
  /** vars and secrets: the configuration names of SPEC §9 */
  [name: string]: unknown;
}

/** The request a piece of work belongs to, so background cache writes can be registered with waitUntil. */
const requestScope = new AsyncLocalStorage<ExecutionContext>();
let gateway: Promise<Hono<AppEnv>> | undefined;

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    gateway ??= buildGateway(env).catch((err) => {
      gateway = undefined;
      throw err;
    });
    let app: Hono<AppEnv>;
    try {
      app = await gateway;
    } catch (err) {
      const requestId = crypto.randomUUID();
      const problem = err instanceof ConfigError ? { problems: err.problems } : errorFields(err);
      console.error(
        JSON.stringify({ level: 'error', msg: 'gateway failed to start', requestId, ...problem }),
      );
      return errorResponse(new ApiError('internal', 'The gateway is misconfigured'), requestId);
    }
    return requestScope.run(ctx, () => app.fetch(request, env, ctx));
  },
};

async function buildGateway(env: WorkerEnv): Promise<Hono<AppEnv>> {
  const config = parseConfig(stringBindings(env));
  const logger = createLogger({ level: config.logLevel, base: { service: 'gateway', runtime: 'workers' } });
  const clock = systemClock;
  const issuer = await buildIssuer(config, clock);
  const keys = buildKeys(config, issuer);
  const sessions = createSessionGuard({
    store: new DurableObjectSessionStore(env.SESSIONS, storeOptions(config)),
    clock,
    ...guardOptions(config),
    metrics: noopMetrics,
    logger,
  });
  const delivery = createDelivery({
    ...deliveryOptions(config),
    fetch: originFetch(config, logger),
    clock,
    metrics: noopMetrics,
    logger,
    healthIntervalMs: 0,
  });
  return createApp({
    config,
    clock,
    logger,
    metrics: noopMetrics,
    keys,
    issuer,
    sessions,
    delivery,
    peerAddress: (c) => c.req.header('cf-connecting-ip'),
  });
}

/** Origins through fetch, with the colo's cache in front for segments (keyed on the primary's URL). */
function originFetch(config: Config, logger: Logger) {
  const direct = createFetchOriginFetch({ firstByteTimeoutMs: config.originFirstByteTimeoutMs });
  const cache = (globalThis as unknown as { caches?: { default?: SharedCache } }).caches?.default;
  const primary = config.origins[0];
  if (!cache || !primary) return direct;
  return withSharedCache(direct, {
    cache,
    keyBase: primary,
    ttlSeconds: config.segmentCacheTtl,
    maxObjectBytes: config.segmentCacheObjectMaxBytes,
    defer: (work) => {
      const ctx = requestScope.getStore();
      if (ctx) ctx.waitUntil(work);
      else logger.warn('cache write outside a request: not awaited');
    },
  });
}

/** Vars and secrets are strings; bindings (the Durable Object namespace) are not configuration. */
function stringBindings(env: WorkerEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') out[name] = value;
  return out;
}
