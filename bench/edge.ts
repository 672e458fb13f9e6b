/**
 * Edge benchmark (issue 8): the same authenticated-segment load, in one run, against
 *   nginx static        nginx serving the segment file (the ceiling for the edge)
 *   bare Hono           Hono on @hono/node-server returning the bytes from memory, no auth (the Node floor)
 *   Node gateway        `node src/node.ts`: token, IP binding, session lease, in-memory segment cache hit
 *   bare Worker         Hono on the same local workerd, no auth (what `wrangler dev --local` itself costs)
 *   Worker (workerd)    src/worker.ts under `wrangler dev --local`: same core, Durable Object sessions
 *   nginx edge          nginx/edge.conf + the Node gateway: auth-cache hit + proxy_cache hit
 * and prints requests/s with ratios to bare Hono and to nginx static. Ratios, not absolute numbers, are
 * what carries between machines (client and servers share the cores here). Local workerd is a development
 * runtime behind wrangler's own entry worker, far from Cloudflare's edge: compare the gateway Worker with
 * the bare Worker, not with Node.
 *
 *   node bench/edge.ts [--bytes 16384] [--seconds 8] [--connections 32] [--load autocannon|wrk] [--rounds 2]
 *
 * Every target runs in its own process; the load generator runs here (autocannon, asynchronously) or as
 * its own process (wrk, which saturates nginx with less client overhead on a small machine). The
 * token is one viewer's, so after warm-up the gateway costs are the per-request ones a playing viewer
 * causes (verification cache, lease), not store round trips.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startFixtureOrigin } from '../test/helpers/fixture-origin.ts';
import { makeKey } from '../test/helpers/keys.ts';
import { freePort, waitFor } from '../test/helpers/net.ts';
import { startEdgeNginx } from '../test/helpers/nginx.ts';
import { type Proc, start } from '../test/helpers/process.ts';
import { startWorkerd } from '../test/helpers/workerd.ts';
import { type LoadTool, type Measured, runLoad } from './load.ts';
import { benchSegment } from './segment.ts';

const SEGMENT = '/live/demo/7000.ts';
const API_KEY = 'bench-issuer-key-0123456789';
const SECRET = 'bench-origin-secret-0123456789';

/** `--bare-hono <port> <bytes>`: the Node baseline server, run as its own process by the benchmark. */
function bareHono(port: number, size: number): void {
  const bytes = benchSegment(size);
  const app = new Hono();
  app.get('/live/demo/:name', (c) => c.body(bytes, 200, { 'content-type': 'video/mp2t' }));
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bytes: { type: 'string', default: '16384' },
      seconds: { type: 'string', default: '8' },
      connections: { type: 'string', default: '32' },
      load: { type: 'string', default: 'autocannon' },
      rounds: { type: 'string', default: '2' },
    },
  });
  if (values.load !== 'autocannon' && values.load !== 'wrk') throw new Error('--load is autocannon or wrk');
  const tool: LoadTool = values.load;
  const bytes = Number(values.bytes);
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);

  const dir = await mkdtemp(join(tmpdir(), 'bench-edge-'));
  const segment = benchSegment(bytes);
  const file = join(dir, 'static', 'live', 'demo', '7000.ts');
  await mkdir(join(dir, 'static', 'live', 'demo'), { recursive: true });
  await writeFile(file, segment);

  const origins = await Promise.all([
    startFixtureOrigin({ secret: SECRET }),
    startFixtureOrigin({ secret: SECRET }),
  ]);
  for (const o of origins) await o.put('demo/7000.ts', segment);
  const key = await makeKey('ES256', 'bench-1');
  const env = {
    JWT_ISSUER: 'https://issuer.bench',
    JWT_AUDIENCE: 'edge-gateway',
    JWT_PRIVATE_JWK: JSON.stringify(key.privateJwk),
    ISSUER_API_KEY: API_KEY,
    ORIGINS: origins.map((o) => o.url).join(','),
    ORIGIN_SECRET: SECRET,
    SESSION_LEASE: '2',
    LOG_LEVEL: 'error',
  };

  const procs: Proc[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  const processOn = async (args: string[], extraEnv: Record<string, string>, ready: string) => {
    const proc = start('node', args, { env: extraEnv });
    procs.push(proc);
    await waitFor(async () => (await fetch(ready)).status > 0, { what: ready, timeoutMs: 30_000 });
    return proc;
  };

  try {
    const staticNginx = await startStaticNginx(dir);
    stops.push(staticNginx.stop);

    const barePort = await freePort();
    await processOn(
      [new URL(import.meta.url).pathname, '--bare-hono', String(barePort), String(bytes)],
      {},
      `http://127.0.0.1:${barePort}/live/demo/x`,
    );

    const gwPort = await freePort();
    const gwUrl = `http://127.0.0.1:${gwPort}`;
    await processOn(
      ['src/node.ts'],
      { ...env, PORT: String(gwPort), HOST: '127.0.0.1', TRUSTED_PROXIES: '127.0.0.1/32' },
      `${gwUrl}/healthz`,
    );

    const bareWorkerConfig = join(dir, 'bare-worker.toml');
    await writeFile(
      bareWorkerConfig,
      `name = "bench-bare"\nmain = "${new URL('./bare-worker.ts', import.meta.url).pathname}"\n` +
        `compatibility_date = "${await compatibilityDate()}"\n`,
    );
    const bareWorker = await startWorkerd({
      config: bareWorkerConfig,
      env: { BENCH_BYTES: String(bytes) },
      readyPath: SEGMENT,
    });
    stops.push(bareWorker.stop);
    const worker = await startWorkerd({ env: { ...env, STORE_TIMEOUT_MS: '5000' } });
    stops.push(worker.stop);

    const edge = await startEdgeNginx({
      originA: origins[0]!.url,
      originB: origins[1]!.url,
      gateway: gwUrl,
      originSecret: SECRET,
    });
    stops.push(edge.stop);

    const targets: Target[] = [
      { name: 'nginx static', url: `${staticNginx.url}${SEGMENT}`, headers: {} },
      { name: 'bare Hono', url: `http://127.0.0.1:${barePort}${SEGMENT}`, headers: {} },
      { name: 'Node gateway', url: `${gwUrl}${SEGMENT}`, headers: await bearer(gwUrl, 'bench-node') },
      { name: 'bare Worker', url: `${bareWorker.url}${SEGMENT}`, headers: {} },
      {
        name: 'Worker (workerd)',
        url: `${worker.url}${SEGMENT}`,
        headers: await bearer(worker.url, 'bench-worker'),
      },
      { name: 'nginx edge', url: `${edge.url}${SEGMENT}`, headers: await bearer(gwUrl, 'bench-edge') },
    ];

    // Rounds interleave the targets, and each keeps its best: on a shared machine, interference only ever
    // lowers a figure, so the best of a few rounds is the least disturbed one.
    const results = new Map<string, Measured[]>();
    for (const t of targets) await check(t, segment);
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        await runLoad(tool, { url: t.url, headers: t.headers, connections, seconds: 2 });
        const m = await runLoad(tool, { url: t.url, headers: t.headers, connections, seconds });
        results.set(t.name, [...(results.get(t.name) ?? []), m]);
      }
    }
    report(results, { bytes, seconds, connections, tool, rounds });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    for (const p of procs) await p.stop();
    for (const o of origins) await o.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** One viewer's token from the target's own issuer API, bound to 127.0.0.1 (autocannon's address). */
async function bearer(base: string, sub: string): Promise<Record<string, string>> {
  const res = await fetch(`${base}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sub, ip: '127.0.0.1', channels: ['demo'] }),
  });
  if (res.status !== 201) throw new Error(`${base}: token issuing answered ${res.status}`);
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
}

/** Each target must answer the right bytes before it is measured. */
async function check(t: Target, segment: Uint8Array): Promise<void> {
  const res = await fetch(t.url, { headers: t.headers });
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || !Buffer.from(body).equals(Buffer.from(segment)))
    throw new Error(`${t.name}: answered ${res.status} with ${body.byteLength} bytes`);
}

async function startStaticNginx(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  for (const d of ['logs', 'tmp']) await mkdir(join(dir, d), { recursive: true });
  const conf = join(dir, 'static.conf');
  await writeFile(
    conf,
    `user root;
worker_processes auto;
pid ${dir}/static.pid;
error_log ${dir}/logs/static-error.log crit;
events { worker_connections 4096; }
http {
  sendfile on; tcp_nopush on; tcp_nodelay on;
  access_log ${dir}/logs/static-access.log;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi; uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  server { listen 127.0.0.1:${port}; root ${dir}/static; default_type video/mp2t; }
}
`,
  );
  const proc = start('nginx', ['-e', 'stderr', '-p', dir, '-c', conf, '-g', 'daemon off;']);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}${SEGMENT}`)).ok, { what: 'static nginx' });
  return { url, stop: () => proc.stop() };
}

function report(
  all: Map<string, Measured[]>,
  run: { bytes: number; seconds: number; connections: number; tool: LoadTool; rounds: number },
) {
  const best = (ms: Measured[]) => ms.reduce((a, b) => (b.rps > a.rps ? b : a));
  const results = new Map([...all].map(([name, ms]) => [name, best(ms)] as const));
  const rps = (name: string) => results.get(name)?.rps ?? Number.NaN;
  const hono = rps('bare Hono');
  const nginx = rps('nginx static');
  console.log(
    `\nauthenticated ${run.bytes}-byte segment, ${run.connections} connections, ${run.seconds} s per target, ` +
      `${run.tool} on loopback, best of ${run.rounds} rounds\n`,
  );
  console.log(
    'target              req/s     MB/s   p50 ms  p99 ms  ×bare Hono  ×nginx static  rounds (req/s)',
  );
  for (const [name, r] of results) {
    console.log(
      [
        name.padEnd(18),
        r.rps.toFixed(0).padStart(7),
        r.mbps.toFixed(1).padStart(8),
        r.p50ms.toFixed(1).padStart(8),
        r.p99ms.toFixed(1).padStart(7),
        (r.rps / hono).toFixed(2).padStart(11),
        (r.rps / nginx).toFixed(2).padStart(14),
        ` ${(all.get(name) ?? []).map((m) => m.rps.toFixed(0)).join(' / ')}`,
      ].join(' '),
    );
  }
  console.log(
    `\nnginx edge / nginx static = ${(rps('nginx edge') / nginx).toFixed(2)}; ` +
      `Node gateway / bare Hono = ${(rps('Node gateway') / hono).toFixed(2)}; ` +
      `Worker / bare Worker = ${(rps('Worker (workerd)') / rps('bare Worker')).toFixed(2)}`,
  );
}

/** The deployed Worker's compatibility date, so the baseline runs on the same runtime settings. */
async function compatibilityDate(): Promise<string> {
  const toml = await readFile(new URL('../wrangler.toml', import.meta.url), 'utf8');
  const date = /^compatibility_date = "([0-9-]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return date;
}

const bare = process.argv.indexOf('--bare-hono');
if (bare !== -1) bareHono(Number(process.argv[bare + 1]), Number(process.argv[bare + 2]));
else await main();
