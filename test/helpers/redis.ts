/**
 * Real redis-server processes for tests, on ephemeral loopback ports, persisting nothing: a single node
 * that can be SIGKILLed (or SIGSTOPped) and restarted on the same port, and a 3-master Redis Cluster
 * formed with `redis-cli --cluster create` (NOTES.md).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './net.ts';
import { type Proc, start } from './process.ts';

const run = promisify(execFile);

/** redis-cli against a loopback port; resolves to its trimmed stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 15_000,
  });
  return stdout.trim();
}

export interface RedisServer {
  port: number;
  url: string;
  cli(...args: string[]): Promise<string>;
  /** SIGKILL: the data is gone (nothing is persisted) */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing, like a hung node */
  pause(): void;
  resume(): void;
  /** starts a fresh, empty server on the same port */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function spawnRedis(port: number, dir: string, extra: string[] = []): Proc {
  return start(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { cwd: dir },
  );
}

async function untilPong(port: number, proc: Proc): Promise<void> {
  await waitFor(
    async () => {
      if (proc.exited()) throw new Error(`redis-server on ${port} exited: ${proc.output().slice(-500)}`);
      return (await redisCli(port, 'ping')) === 'PONG';
    },
    { timeoutMs: 30_000, what: `redis-server on port ${port}` },
  );
}

export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-'));
  const port = await freePort();
  let proc = spawnRedis(port, dir);
  await untilPong(port, proc);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cli: (...args) => redisCli(port, ...args),
    kill: () => proc.kill('SIGKILL'),
    pause: () => {
      proc.child.kill('SIGSTOP');
    },
    resume: () => {
      proc.child.kill('SIGCONT');
    },
    restart: async () => {
      await proc.kill('SIGKILL');
      // the port was ours a moment ago; another process could take it, so retry briefly
      await waitFor(
        async () => {
          proc = spawnRedis(port, dir);
          await untilPong(port, proc);
          return true;
        },
        { timeoutMs: 30_000, what: `redis-server restarted on ${port}` },
      );
    },
    stop: async () => {
      proc.child.kill('SIGCONT');
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** `127.0.0.1:port` of each master */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
      dirs.push(dir);
      const port = await freePort();
      ports.push(port);
      const proc = spawnRedis(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
      procs.push(proc);
      await untilPong(port, proc);
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 60_000,
    });
    await waitFor(
      async () => {
        for (const p of ports)
          if (!(await redisCli(p, 'cluster', 'info')).includes('cluster_state:ok')) return false;
        return true;
      },
      { timeoutMs: 60_000, what: 'cluster_state:ok on every node' },
    );
    return { nodes, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
