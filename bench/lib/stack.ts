/**
 * Every subject and baseline of one bench run, each in its own process on loopback, started once and
 * stopped together (also on failure half-way through start-up):
 * - origin: nginx rendered from nginx/origin.conf, serving the bench data dir;
 * - gateways (`node src/node.ts`): memory sessions, Redis sessions (a real redis-server), cache off
 *   (proxy miss, and the healthy reference for failover), two failover gateways whose primary origin
 *   refuses connections or hangs, and one for the soak (Redis sessions, inspector open);
 * - baselines and peers: bare Hono, Fastify + fast-jwt, nginx static / secure_link / proxy_pass.
 */
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../../test/helpers/net.ts';
import { type Proc, start } from '../../test/helpers/process.ts';
import { type RedisServer, startRedis } from '../../test/helpers/redis.ts';
import { type BenchData, writeBenchData } from './data.ts';
import { type GatewaySubject, startGateway } from './gateway.ts';
import { INSPECT_ARGS } from './inspector.ts';
import { type OriginNginx, type PeerNginx, startOriginNginx, startPeerNginx } from './nginx.ts';
import { createTokens, type Tokens } from './tokens.ts';

export interface NodeSubject {
  url: string;
  proc: Proc;
}

export interface Stack {
  data: BenchData;
  tokens: Tokens;
  origin: OriginNginx;
  peers: PeerNginx;
  hono: NodeSubject;
  fastify: NodeSubject;
  redis: RedisServer;
  gateways: {
    memory: GatewaySubject;
    redis: GatewaySubject;
    /** segment cache off: every request is a proxy miss */
    noCache: GatewaySubject;
    /** `ORIGINS=<refusing port>,<origin>`, cache off, active health checks off (passive marks only) */
    failover: GatewaySubject;
    /** `ORIGINS=<hung origin>,<origin>`, cache off, active health checks at their default period */
    hung: GatewaySubject;
    /** Redis sessions, with the inspector open so the soak can read its live heap */
    soak: GatewaySubject;
  };
  stop(): Promise<void>;
}

/** Longest allowed active health-check period: the failover gateway relies on passive marks alone, so the
 * dead primary is tried again each time its 10 s cool-off ends and the refused path can be sampled. */
const NO_ACTIVE_CHECKS_MS = '600000';

export async function startStack(opts: { profileDir?: string } = {}): Promise<Stack> {
  const stoppers: (() => Promise<void>)[] = [];
  const started = <T extends { stop(): Promise<void> }>(x: T): T => {
    stoppers.push(() => x.stop());
    return x;
  };
  const stop = async () => {
    await Promise.allSettled(stoppers.splice(0).map((s) => s()));
  };
  try {
    const data = await writeBenchData();
    stoppers.push(() => data.remove());
    const originSecret = `bench-origin-${crypto.randomUUID().replaceAll('-', '')}`;
    const [tokens, origin, redis] = await Promise.all([
      createTokens(),
      startOriginNginx(data.root, originSecret).then(started),
      startRedis().then(started),
    ]);
    const base = {
      ...tokens.gatewayEnv,
      ORIGINS: origin.url,
      ORIGIN_SECRET: originSecret,
      LOG_LEVEL: 'warn',
    };
    const deadPort = await freePort();
    const hungOrigin = await startHungOrigin().then(started);
    const gw = (name: string, extra: Record<string, string> = {}, nodeArgs: string[] = []) =>
      startGateway(name, { ...base, ...extra }, { ...opts, nodeArgs }).then(started);
    const subjectEnv = { DATA_DIR: data.root };
    const [peers, hono, fastify, memory, redisGw, noCache, failover, hung, soak] = await Promise.all([
      startPeerNginx({ root: data.root, origin: origin.url, originSecret }).then(started),
      startNodeSubject('bare-hono', subjectEnv).then(started),
      startNodeSubject('fastify-jwt', {
        ...subjectEnv,
        JWT_PUBLIC_JWK: JSON.stringify(tokens.key.publicJwk),
        JWT_ISSUER: tokens.issuer,
        JWT_AUDIENCE: tokens.audience,
      }).then(started),
      gw('memory'),
      gw('redis', { REDIS_URL: redis.url }),
      gw('no-cache', { SEGMENT_CACHE_BYTES: '0' }),
      gw('failover', {
        ORIGINS: `http://127.0.0.1:${deadPort},${origin.url}`,
        SEGMENT_CACHE_BYTES: '0',
        ORIGIN_HEALTH_INTERVAL_MS: NO_ACTIVE_CHECKS_MS,
      }),
      gw('hung', { ORIGINS: `${hungOrigin.url},${origin.url}`, SEGMENT_CACHE_BYTES: '0' }),
      gw('soak', { REDIS_URL: redis.url }, INSPECT_ARGS),
    ]);
    return {
      data,
      tokens,
      origin,
      peers,
      hono,
      fastify,
      redis,
      gateways: { memory, redis: redisGw, noCache, failover, hung, soak },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startNodeSubject(
  name: string,
  env: Record<string, string>,
): Promise<NodeSubject & { stop(): Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL(`../subjects/${name}.ts`, import.meta.url));
  const proc = start('node', [script], { env: { ...env, PORT: String(port) } });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`${name} exited: ${proc.output().slice(-1000)}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      { what: name, timeoutMs: 30_000 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, proc, stop: () => proc.stop() };
}

/** A port that accepts connections and never answers (bench/subjects/hung-origin.ts). */
async function startHungOrigin(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../subjects/hung-origin.ts', import.meta.url));
  const proc = start('node', [script], { env: { PORT: String(port) } });
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  try {
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`hung origin exited: ${proc.output().slice(-500)}`);
        return accepts();
      },
      { what: 'hung origin', timeoutMs: 30_000 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.stop() };
}
