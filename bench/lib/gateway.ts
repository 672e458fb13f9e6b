/**
 * The gateway under test, as the real entry (`node src/node.ts`) in its own process, configured only
 * through the environment like a deployment; plus what the bench reads back from it: Prometheus counters
 * and the process's resident memory.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../../test/helpers/net.ts';
import { type Proc, start } from '../../test/helpers/process.ts';

export interface GatewaySubject {
  name: string;
  url: string;
  proc: Proc;
  /** sum of a counter over the series whose labels include `labels` */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  /** resident set size of the process, in bytes */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Configuration names the bench sets itself: a value inherited from the caller's shell must not leak in. */
const CONTROLLED = [
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'JWKS_URL',
  'JWT_PUBLIC_JWKS',
  'TRUSTED_PROXIES',
  'IP_BIND_PREFIX_V4',
  'IP_BIND_PREFIX_V6',
  'SESSION_LEASE',
  'SESSION_MAX',
  'SESSION_POLICY',
  'SEGMENT_CACHE_BYTES',
  'ORIGIN_HEALTH_INTERVAL_MS',
  'TOKEN_CACHE_SIZE',
  'DEV_MODE',
  'CORS_ORIGINS',
];

export async function startGateway(
  name: string,
  env: Record<string, string>,
  opts: { profileDir?: string; nodeArgs?: string[] } = {},
): Promise<GatewaySubject> {
  const port = await freePort();
  const nodeArgs = [...(opts.nodeArgs ?? [])];
  if (opts.profileDir)
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', opts.profileDir, '--cpu-prof-name', `${name}.cpuprofile`);
  const unset = Object.fromEntries(CONTROLLED.map((k) => [k, undefined]));
  const proc = start('node', [...nodeArgs, 'src/node.ts'], {
    cwd: REPO,
    env: { ...unset, ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`gateway ${name} exited: ${proc.output().slice(-1000)}`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      { what: `gateway ${name}`, timeoutMs: 30_000 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    name,
    url,
    proc,
    counter: async (metric, labels = {}) =>
      sumCounter(await (await fetch(`${url}/metrics`)).text(), metric, labels),
    rss: () => processRss(proc.child.pid),
    // SIGTERM drains and exits 0, which is also when --cpu-prof writes the profile
    stop: () => proc.stop(15_000),
  };
}

/** Sums the samples of `metric` (Prometheus text format) whose labels include every pair of `labels`. */
export function sumCounter(text: string, metric: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const have = new Map(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

export async function processRss(pid: number | undefined): Promise<number> {
  if (pid === undefined) throw new Error('process has no pid');
  const status = await readFile(join('/proc', String(pid), 'status'), 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}
