/**
 * The machine a result belongs to: ratios travel between machines better than absolute numbers, but
 * neither means much without the core count and how busy the cores were while the bench ran.
 */
import { execFile } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  nginx: string;
  redis: string;
  wrk: string;
  /** 1-minute load average when the bench started */
  loadAtStart: number;
}

export async function describeMachine(): Promise<Machine> {
  // version banners go to stdout or stderr, and some tools exit non-zero after printing them
  const version = async (cmd: string, args: string[], re: RegExp) => {
    const out = await run(cmd, args).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => (e.stdout ?? '') + (e.stderr ?? ''),
    );
    return re.exec(out)?.[1] ?? 'unknown';
  };
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
    nginx: await version('nginx', ['-v'], /nginx\/(\S+)/),
    redis: await version('redis-server', ['--version'], /v=(\S+)/),
    wrk: await version('wrk', ['-v'], /wrk (\S+)/),
    loadAtStart: loadavg()[0] ?? 0,
  };
}

export function loadNow(): number {
  return loadavg()[0] ?? 0;
}

export function describeLine(m: Machine, loadAtEnd: number): string {
  return (
    `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Linux ${m.kernel}; Node ${m.node}, nginx ${m.nginx}, ` +
    `redis ${m.redis}, wrk ${m.wrk}; load average ${m.loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`
  );
}
