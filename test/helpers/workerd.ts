/**
 * A Worker on real workerd for tests: `wrangler dev --port <p> --ip 127.0.0.1 --local`, with Durable
 * Objects and the Cache API simulated locally by Miniflare around the real runtime.
 *
 * The Worker is bundled once up front by `wrangler deploy --dry-run` (the bundle a deployment would
 * upload) and served with `--no-bundle`: `wrangler dev` otherwise watches src/ and reloads mid-test when a
 * file changes. Vars and secrets go in a temporary env file (`--env-file`, what `.dev.vars` holds in
 * development, and it overrides [vars]); state goes to a temporary `--persist-to` directory. Wrangler's
 * network calls (banner update check, telemetry, the `Request.cf` download) are switched off: tests talk
 * to loopback only.
 */
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './net.ts';
import { type Proc, start } from './process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const QUIET = {
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_CI_DISABLE_CONFIG_WATCHING: 'true',
  NO_COLOR: '1',
};

export interface WorkerdOptions {
  /** wrangler config (default: the repository's wrangler.toml) */
  config?: string;
  /** vars and secrets, by configuration name */
  env?: Record<string, string>;
  /** a path that answers once the Worker is up (any status) */
  readyPath?: string;
}

export interface Workerd {
  url: string;
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

async function run(args: string[], what: string): Promise<void> {
  const proc = start('node', [WRANGLER, ...args], { cwd: ROOT, env: QUIET });
  await once(proc.child, 'exit');
  if (proc.child.exitCode !== 0)
    throw new Error(`${what} failed (${proc.child.exitCode}):\n${proc.output()}`);
}

/** The Worker bundled as a deployment would upload it, and its vars/secrets as an env file, in `dir`. */
async function prepare(dir: string, config: string, env: Record<string, string>) {
  const bundle = join(dir, 'bundle');
  await run(['deploy', '--dry-run', '--outdir', bundle, '--config', config], 'wrangler bundle');
  const main = (await readdir(bundle)).find((f) => f.endsWith('.js'));
  if (!main) throw new Error(`wrangler produced no bundle in ${bundle}`);
  const envFile = join(dir, 'test.env');
  const lines = Object.entries(env).map(([name, value]) => {
    if (value.includes("'") || /[\r\n]/.test(value))
      throw new Error(`${name}: env file values are one line, no '`);
    return `${name}='${value}'`;
  });
  await writeFile(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { script: join(bundle, main), envFile };
}

export async function startWorkerd(o: WorkerdOptions = {}): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), 'workerd-'));
  const config = o.config ?? join(ROOT, 'wrangler.toml');
  let proc: Proc | undefined;
  const stop = async () => {
    await proc?.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  try {
    const { script, envFile } = await prepare(dir, config, o.env ?? {});
    proc = start(
      'node',
      [
        WRANGLER,
        'dev',
        script,
        '--no-bundle',
        '--config',
        config,
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--local',
        '--persist-to',
        join(dir, 'state'),
        '--env-file',
        envFile,
        '--inspector-port',
        String(await freePort()),
        '--log-level',
        'warn',
      ],
      { cwd: ROOT, env: QUIET },
    );
    await waitFor(async () => (await fetch(`${url}${o.readyPath ?? '/healthz'}`)).status > 0, {
      what: `workerd on ${port}`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  } catch (err) {
    const output = proc?.output() ?? '';
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { url, port, proc, stop };
}
