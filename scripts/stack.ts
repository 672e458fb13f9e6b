/**
 * `npm start`: the whole live stack on loopback — a contribution feed (ffmpeg test pattern with a UTC clock
 * and a tone, one encode copied to a UDP port per node), origin nodes A and B with the `demo` channel started
 * through their operator API, and the gateway in front (memory sessions unless REDIS_URL is set; dev keys and
 * secrets generated at start). Ctrl-C stops everything it started.
 *
 * Nothing it started outlives it (stack-processes.ts). Ports come from STACK_GATEWAY_PORT, STACK_ORIGIN_PORTS
 * (a,b) and STACK_UDP_PORTS (a,b) when set.
 *
 * `startStack()` is also what the browser end-to-end test runs, with a short token TTL.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { contributionArgs } from '../origin/contribution.ts';
import { type StackProcess, StackProcesses } from './stack-processes.ts';

export type { StackProcess } from './stack-processes.ts';

const ROOT = new URL('..', import.meta.url).pathname;

export interface StackOptions {
  gatewayPort?: number;
  originPorts?: [number, number];
  udpPorts?: [number, number];
  channel?: string;
  profile?: string;
  encrypt?: boolean;
  /** forensic A/B watermarking of the channel (origins encode both variants, the gateway picks per viewer) */
  watermark?: boolean;
  tokenTtl?: number;
  /** extra gateway environment (e.g. REDIS_URL, SESSION_POLICY) */
  gatewayEnv?: Record<string, string>;
  /** where child output goes: inherit for `npm start`, a sink for tests */
  log?: (line: string) => void;
  /** aborting stops everything started so far (Ctrl-C during start-up); startStack then rejects */
  signal?: AbortSignal;
}

export interface Stack {
  gatewayUrl: string;
  originUrls: [string, string];
  channel: string;
  operatorKey: string;
  issuerKey: string;
  processes: { gateway: StackProcess; originA: StackProcess; originB: StackProcess; feed: StackProcess };
  /** stops everything it started, orphans of killed processes included; idempotent */
  stop(): Promise<void>;
}

/** What `npm start` needs from the machine, said plainly instead of failing obscurely later. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  for (const bin of ['ffmpeg', 'ffprobe']) {
    if (spawnSync(bin, ['-version'], { stdio: 'ignore' }).status !== 0) missing.push(bin);
  }
  return missing;
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log = opts.log ?? ((line: string) => process.stdout.write(line));
  const channel = opts.channel ?? 'demo';
  const gatewayPort = opts.gatewayPort ?? 8080;
  const [portA, portB] = opts.originPorts ?? [9001, 9002];
  const [udpA, udpB] = opts.udpPorts ?? [15001, 15002];
  const dataDir = await mkdtemp(join(tmpdir(), 'edge-stack-'));

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: `dev-${randomHex(4)}`, alg: 'ES256' };
  const operatorKey = `op-${randomHex(16)}`;
  const issuerKey = `iss-${randomHex(16)}`;
  const originSecret = randomHex(16);
  const keySecret = `v1:${randomHex(32)}`;
  const watermarkEnv: Record<string, string> = opts.watermark ? { WATERMARK_SECRET: randomHex(16) } : {};

  const children = new StackProcesses({ cwd: ROOT, log });

  const originEnv = (id: string, port: number): Record<string, string> => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ID: id,
    DATA_DIR: join(dataDir, id),
    OPERATOR_API_KEY: operatorKey,
    CHANNEL_KEY_SECRET: keySecret,
    ORIGIN_SECRET: originSecret,
    START_INTERVAL: '0',
    LOG_LEVEL: 'warn',
    ...watermarkEnv,
  });
  const node = process.execPath;
  const originA = children.spawn('origin-a', node, () => ['origin/main.ts'], originEnv('origin-a', portA));
  const originB = children.spawn('origin-b', node, () => ['origin/main.ts'], originEnv('origin-b', portB));
  // the arguments carry the sender's UTC epoch, so a restarted feed gets fresh ones
  const feed = children.spawn('feed', 'ffmpeg', () =>
    contributionArgs({ targets: [`127.0.0.1:${udpA}`, `127.0.0.1:${udpB}`] }),
  );

  const originUrls: [string, string] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const gateway = children.spawn('gateway', node, () => ['src/node.ts'], {
    PORT: String(gatewayPort),
    HOST: '127.0.0.1',
    ORIGINS: originUrls.join(','),
    JWT_ISSUER: 'edge-gateway-dev',
    JWT_AUDIENCE: 'edge-gateway',
    JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    ISSUER_API_KEY: issuerKey,
    ORIGIN_SECRET: originSecret,
    CHANNEL_KEY_SECRET: keySecret,
    TOKEN_MAX_TTL: String(opts.tokenTtl ?? 600),
    DEV_MODE: '1',
    LOG_LEVEL: 'warn',
    ...watermarkEnv,
    ...opts.gatewayEnv,
  });

  const stop = async () => {
    await children.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  opts.signal?.addEventListener('abort', () => void stop(), { once: true });
  // start-up gives up at once when it is aborted or a process dies (a port in use, a bad environment)
  const interrupted = (): Error | undefined => {
    if (children.stopping) return new StackStopped();
    const dead = children.firstExited();
    if (dead)
      return new Error(
        `${dead.name} exited during start-up (${dead.child.signalCode ?? dead.child.exitCode})`,
      );
  };
  const until = (check: () => Promise<boolean>, what: string, timeoutMs?: number) =>
    waitUntil(check, what, interrupted, timeoutMs);

  try {
    for (const [i, url] of originUrls.entries()) {
      await until(async () => (await fetch(`${url}/healthz`)).ok, `origin ${i ? 'B' : 'A'} at ${url}`);
      const res = await fetch(`${url}/v1/channels`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          id: channel,
          input: `udp://127.0.0.1:${i ? udpB : udpA}`,
          profile: opts.profile ?? 'test-180p',
          encrypt: opts.encrypt ?? true,
          ...(opts.watermark ? { watermark: true } : {}),
        }),
      });
      if (!res.ok && res.status !== 409)
        throw new Error(`starting ${channel} on ${url}: ${await res.text()}`);
    }
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    await until(async () => (await fetch(`${gatewayUrl}/healthz`)).ok, `gateway at ${gatewayUrl}`);
    await until(
      async () => {
        const p = await fetch(`${originUrls[0]}/live/${channel}/index.m3u8`, {
          headers: { 'x-origin-secret': originSecret },
        });
        return p.ok && (await p.text()).includes('#EXTINF');
      },
      'the first segments',
      60_000,
    );
    return {
      gatewayUrl,
      originUrls,
      channel,
      operatorKey,
      issuerKey,
      processes: { gateway, originA, originB, feed },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** startStack was aborted before the stack was up. */
export class StackStopped extends Error {
  constructor() {
    super('stopped before the stack was up');
  }
}

async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  interrupted: () => Error | undefined,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const err = interrupted();
    if (err) throw err;
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Port overrides for `npm start` (several stacks side by side, tests); defaults are SPEC §9's. */
export function portsFromEnv(
  env: Record<string, string | undefined>,
): Required<Pick<StackOptions, 'gatewayPort' | 'originPorts' | 'udpPorts'>> {
  const port = (name: string, text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 65535)
      throw new Error(`${name}: "${text}" is not a port (1-65535)`);
    return n;
  };
  const pair = (name: string, fallback: [number, number]): [number, number] => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const parts = text.split(',').map((p) => p.trim());
    if (parts.length !== 2) throw new Error(`${name}: expected two ports "a,b", got "${text}"`);
    return [port(name, parts[0] ?? ''), port(name, parts[1] ?? '')];
  };
  const gw = env.STACK_GATEWAY_PORT;
  return {
    gatewayPort: gw === undefined || gw === '' ? 8080 : port('STACK_GATEWAY_PORT', gw),
    originPorts: pair('STACK_ORIGIN_PORTS', [9001, 9002]),
    udpPorts: pair('STACK_UDP_PORTS', [15001, 15002]),
  };
}

async function main(): Promise<void> {
  const missing = missingPrerequisites();
  if (missing.length) {
    console.error(
      `npm start needs ${missing.join(' and ')}, from Debian's ffmpeg package, on the PATH. ` +
        'Install it with: npm run setup (or: sudo apt-get install ffmpeg)',
    );
    process.exit(1);
  }
  const ports = portsFromEnv(process.env);
  // Ctrl-C at any time, start-up included, stops everything started so far
  const ctrlC = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (ctrlC.signal.aborted) return;
      console.log('\nstopping…');
      ctrlC.abort();
    });
  }
  const [a, b] = ports.originPorts;
  console.log(
    `starting: contribution feed, origin A (${a}), origin B (${b}), gateway (${ports.gatewayPort})…`,
  );
  const stack = await startStack({
    ...ports,
    gatewayEnv: process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {},
    signal: ctrlC.signal,
  });
  const tokenRes = await fetch(`${stack.gatewayUrl}/dev/token`, { method: 'POST' });
  const { token, expires_in } = (await tokenRes.json()) as { token: string; expires_in: number };
  console.log(`
  player    ${stack.gatewayUrl}/demo
  playlist  ${stack.gatewayUrl}/live/${stack.channel}/index.m3u8?token=${token}
            (token bound to 127.0.0.1, valid ${expires_in} s; ffplay or ffmpeg -i '<playlist>' work too)
  metrics   ${stack.gatewayUrl}/metrics   origin A ${stack.originUrls[0]}/metrics   origin B ${stack.originUrls[1]}/metrics
  sessions  ${process.env.REDIS_URL ? `redis (${process.env.REDIS_URL})` : 'memory'}
  operator  curl -H 'authorization: Bearer ${stack.operatorKey}' ${stack.originUrls[0]}/v1/channels

  Ctrl-C stops everything.
`);
  if (!ctrlC.signal.aborted) await once(ctrlC.signal, 'abort');
  await stack.stop();
  process.exit(0);
}

if (import.meta.main) {
  main().catch((err) => {
    if (err instanceof StackStopped) process.exit(0);
    console.error(`npm start failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
