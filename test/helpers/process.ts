import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Proc {
  child: ChildProcess;
  /** everything written to stdout and stderr so far (bounded to the last 256 KB) */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited(): boolean;
}

const NODE = process.execPath;

/** Starts a process whose output is kept for diagnostics; it never outlives the test run. */
export function start(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Proc {
  const child = spawn(cmd === 'node' ? NODE : cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  const keep = (d: Buffer) => {
    buf += d.toString();
    if (buf.length > 262_144) buf = buf.slice(-262_144);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let gone = false;
  const exit = once(child, 'exit').then(() => {
    gone = true;
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (!gone) child.kill(sig);
  };
  live.add(child);
  exit.then(() => live.delete(child));
  return {
    child,
    output: () => buf,
    exited: () => gone,
    kill: async (sig = 'SIGKILL') => {
      await signal(sig);
      await exit;
    },
    stop: async (graceMs = 5_000) => {
      if (gone) return;
      await signal('SIGTERM');
      const t = setTimeout(() => void signal('SIGKILL'), graceMs);
      await exit;
      clearTimeout(t);
    },
  };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
