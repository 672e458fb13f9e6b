/**
 * The ioredis client the Redis session store runs on (Node only), configured for a hot path that must
 * never wait on a sick Redis: commands are auto-pipelined, time out, are retried at most once, and fail at
 * once while disconnected (no offline queue) so the session guard applies its outage policy instead of
 * queueing requests; the client keeps reconnecting in the background with a capped backoff.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { errorFields, type Logger, silentLogger } from '../log.ts';

export interface RedisClientOptions {
  /** redis:// or rediss:// URL of a single node */
  url?: string;
  /** `host:port` seeds of a Redis Cluster */
  clusterNodes?: string[];
  /** bound on one command, in ms (STORE_TIMEOUT_MS) */
  commandTimeoutMs: number;
  /** bound on establishing a connection (default max(1000, 4 × commandTimeoutMs)) */
  connectTimeoutMs?: number;
  /** connection errors are logged here at most once per `errorLogIntervalMs` (default 10 s) */
  logger?: Logger;
  errorLogIntervalMs?: number;
}

const reconnectDelay = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1_000);

export function createRedisClient(opts: RedisClientOptions): Redis | Cluster {
  if (!opts.url === !opts.clusterNodes?.length)
    throw new Error('redis: set exactly one of url and clusterNodes');
  if (!Number.isFinite(opts.commandTimeoutMs) || opts.commandTimeoutMs <= 0)
    throw new Error('redis: commandTimeoutMs must be a positive number');
  const connection: RedisOptions = {
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: opts.connectTimeoutMs ?? Math.max(1_000, 4 * opts.commandTimeoutMs),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  };
  const client = opts.url
    ? new Redis(opts.url, { ...connection, enableAutoPipelining: true })
    : new Cluster(opts.clusterNodes!.map(parseNode), {
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        redisOptions: connection,
      });
  const logger = opts.logger ?? silentLogger;
  const interval = opts.errorLogIntervalMs ?? 10_000;
  let lastLog = -Infinity;
  let suppressed = 0;
  // an 'error' listener is also what keeps ioredis from printing every reconnect failure to stderr
  client.on('error', (err: unknown) => {
    const now = Date.now();
    if (now - lastLog < interval) {
      suppressed++;
      return;
    }
    logger.warn('redis connection error', { ...errorFields(err), stack: undefined, suppressed });
    lastLog = now;
    suppressed = 0;
  });
  return client;
}

function parseNode(node: string): { host: string; port: number } {
  const i = node.lastIndexOf(':');
  const port = Number(node.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`redis: cluster node "${node}" is not host:port`);
  return { host: node.slice(0, i), port };
}

/**
 * Resolves true once the client can take commands, or false after `timeoutMs` (it keeps connecting in the
 * background). Without an offline queue, commands sent before that fail at once: entries await this
 * before listening so the first players are not refused while the connection is being set up.
 */
export async function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onReady: (() => void) | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    onReady = () => resolve(true);
    client.once('ready', onReady);
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  clearTimeout(timer);
  if (onReady) client.off('ready', onReady);
  return ready;
}
