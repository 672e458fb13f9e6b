/**
 * Real nginx for tests: renders nginx/edge.conf (the template that is deployed) with ephemeral ports and
 * a temporary state directory, runs `nginx -p <dir> -c <conf> -g 'daemon off;'` as a child process and
 * stops it. As root, the workers run as `root` (rendered `user`), so the temporary directory needs no
 * permission changes.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';
import { type Proc, start } from './process.ts';

export const EDGE_TEMPLATE = new URL('../../nginx/edge.conf', import.meta.url);

/** Fills `{{name}}` placeholders; every placeholder must have a value, and no value may carry syntax. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  for (const [name, value] of Object.entries(values)) {
    if (/[;{}"'\n\r\\]/.test(value)) throw new Error(`template value ${name} holds nginx syntax characters`);
  }
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

export interface EdgeNginx {
  url: string;
  port: number;
  stateDir: string;
  /** the access log so far */
  accessLog(): Promise<string>;
  /** the error log so far */
  errorLog(): Promise<string>;
  proc: Proc;
  stop(): Promise<void>;
}

export interface EdgeNginxOptions {
  /** origins and gateway as base URLs (http://127.0.0.1:port) */
  originA: string;
  originB: string;
  gateway: string;
  originSecret: string;
}

const hostPort = (url: string) => new URL(url).host;

export async function startEdgeNginx(o: EdgeNginxOptions): Promise<EdgeNginx> {
  const port = await freePort();
  const template = await readFile(EDGE_TEMPLATE, 'utf8');
  const stateDir = await mkdtemp(join(tmpdir(), 'edge-nginx-'));
  const removeState = () => rm(stateDir, { recursive: true, force: true });
  let proc: Proc | undefined;
  const url = `http://127.0.0.1:${port}`;
  try {
    const conf = renderTemplate(template, {
      user: 'root',
      state_dir: stateDir,
      listen: `127.0.0.1:${port}`,
      origin_a: hostPort(o.originA),
      origin_b: hostPort(o.originB),
      gateway: hostPort(o.gateway),
      origin_secret: o.originSecret,
    });
    for (const dir of ['logs', 'tmp', 'cache']) await mkdir(join(stateDir, dir));
    const confPath = join(stateDir, 'edge.conf');
    await writeFile(confPath, conf);
    proc = start('nginx', ['-e', 'stderr', '-p', stateDir, '-c', confPath, '-g', 'daemon off;']);
    // the auth location is internal: nginx itself answers 404 once it listens, without the gateway
    await waitFor(async () => (await fetch(`${url}/_edge/auth`)).status === 404, {
      what: `nginx on ${port}`,
      timeoutMs: 20_000,
    });
  } catch (err) {
    await proc?.stop();
    await removeState();
    throw new Error(`${(err as Error).message}\n${proc?.output() ?? ''}`);
  }
  const running = proc;
  const read = (name: string) => readFile(join(stateDir, 'logs', name), 'utf8').catch(() => '');
  return {
    url,
    port,
    stateDir,
    proc: running,
    accessLog: () => read('access.log'),
    errorLog: () => read('error.log'),
    stop: async () => {
      await running.stop();
      await removeState();
    },
  };
}
