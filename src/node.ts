/**
 * Node entry: builds the deps from the environment (the one place that reads it) and serves createApp
 * with @hono/node-server. SIGTERM/SIGINT drain: stop accepting, let in-flight requests finish (bounded),
 * close the store and the origin pool, exit 0.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type AppDeps, createApp } from './app.ts';
import { mountNginxAuth } from './auth/nginx-auth.ts';
import { type Clock, systemClock } from './clock.ts';
import { type Config, ConfigError, parseConfig } from './config.ts';
import { createDelivery } from './delivery/index.ts';
import { createNodeOriginFetch } from './delivery/node-fetch.ts';
import { demoRoutes } from './demo/routes.ts';
import { buildIssuer, buildKeys, deliveryOptions, guardOptions, storeOptions } from './deps.ts';
import { createLogger, errorFields, type Logger } from './log.ts';
import { createNodeServer } from './node-server.ts';
import { promMetrics } from './prom.ts';
import { createSessionGuard } from './sessions/guard.ts';
import { MemorySessionStore } from './sessions/memory.ts';
import { RedisSessionStore } from './sessions/redis.ts';
import { createRedisClient, whenReady } from './sessions/redis-client.ts';
import type { SessionStore } from './sessions/types.ts';

const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

/** Fixed server-side bounds; the timeouts and the connection limit come from config (SERVER_*). */
export const SERVER_LIMITS = {
  maxHeaderSize: 32 * 1024,
  drainMs: 10_000,
};

export interface NodeGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function buildStore(config: Config, logger: Logger): Promise<SessionStore> {
  const opts = storeOptions(config);
  if (!config.redisUrl && config.redisClusterNodes.length === 0) return new MemorySessionStore(opts);
  const client = createRedisClient({
    ...(config.redisUrl ? { url: config.redisUrl } : { clusterNodes: config.redisClusterNodes }),
    commandTimeoutMs: config.storeTimeoutMs,
    logger,
  });
  // no offline queue: commands before the first connect would fail, so wait for it (bounded); a store that
  // stays down is then handled by STORE_FAILURE like any outage
  if (!(await whenReady(client, 5_000)))
    logger.warn('session store not reachable at start', { policy: config.storeFailure });
  return new RedisSessionStore(client, opts);
}

export type GatewayDeps = Omit<AppDeps, 'peerAddress'> & { close(): Promise<void> };

/** Everything createApp needs on Node, from a parsed config. Tests pass a manual clock. */
export async function buildGatewayDeps(
  config: Config,
  opts: { clock?: Clock; logger?: Logger; registry?: Registry } = {},
): Promise<GatewayDeps> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const registry = opts.registry ?? new Registry();
  const metrics = promMetrics(registry);
  const issuer = await buildIssuer(config, clock);
  const keys = buildKeys(config, issuer);
  const sessions = createSessionGuard({
    store: await buildStore(config, logger),
    clock,
    ...guardOptions(config),
    metrics,
    logger,
  });
  const originFetch = createNodeOriginFetch({
    connectTimeoutMs: config.originConnectTimeoutMs,
    firstByteTimeoutMs: config.originFirstByteTimeoutMs,
  });
  const delivery = createDelivery({
    ...deliveryOptions(config),
    fetch: originFetch,
    clock,
    metrics,
    logger,
    healthIntervalMs: config.originHealthIntervalMs,
  });
  return {
    config,
    clock,
    logger,
    metrics,
    keys,
    issuer,
    sessions,
    delivery,
    tokenHasher: (token) => createHash('sha256').update(token).digest('hex').slice(0, 32),
    metricsText: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    close: async () => {
      await Promise.allSettled([delivery.close(), sessions.close()]);
      await originFetch.close();
    },
  };
}

/** Builds and starts a gateway from an environment-shaped record; used by main() and by tests/bench. */
export async function startNodeGateway(
  env: Record<string, string | undefined>,
  logger?: Logger,
): Promise<NodeGateway> {
  const config = parseConfig(env);
  const log = logger ?? createLogger({ level: config.logLevel, base: { service: 'gateway' } });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const deps = await buildGatewayDeps(config, { logger: log, registry });
  const app = createApp({
    ...deps,
    peerAddress: (c) => getConnInfo(c).remote.address,
    serverCapsHeaders: true,
    extraRoutes: (routes, ctx) => {
      if (config.devMode) demoRoutes(routes, () => readFile(HLS_JS, 'utf8'));
      // nginx edge mode (nginx/edge.conf): the auth subrequest, same Authenticator as /live/
      mountNginxAuth(routes, ctx, config);
    },
  });

  const server = createNodeServer(app.fetch, {
    headersTimeout: config.serverHeadersTimeoutMs,
    requestTimeout: config.serverRequestTimeoutMs,
    keepAliveTimeout: config.serverKeepAliveTimeoutMs,
    // Node enforces the two timeouts above only when it sweeps its connections (every 30 s by default),
    // so a Slowloris client would get up to 30 s more than the bound says
    connectionsCheckingInterval: Math.min(1000, Math.ceil(config.serverHeadersTimeoutMs / 2)),
    maxHeaderSize: SERVER_LIMITS.maxHeaderSize,
  });
  server.maxConnections = config.serverMaxConnections;
  // the timeouts above stop at the request; a client that stops reading the answer would hold its
  // connection (and the stalled response) forever: no byte moving for this long closes it
  server.timeout = config.serverSocketTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info('gateway listening', { port, host: config.host, origins: config.origins.length });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => {
      closing ??= (async () => {
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        const timer = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, SERVER_LIMITS.drainMs);
        await drained;
        clearTimeout(timer);
        await deps.close();
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  let gw: NodeGateway;
  try {
    gw = await startNodeGateway(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`gateway: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ base: { service: 'gateway' } });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      logger.info('draining', { signal: sig });
      gw.close().then(
        () => process.exit(0),
        (err) => {
          logger.error('shutdown failed', errorFields(err));
          process.exit(1);
        },
      );
    });
  }
}

if (import.meta.main) await main();
