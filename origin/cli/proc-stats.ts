/**
 * CPU use of processes and of the host from /proc (Linux), for the stress test's per-stream and host CPU
 * figures. Each meter turns cumulative CPU time into cores used since its previous reading.
 */
import { readFile } from 'node:fs/promises';

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every mainstream Linux architecture. */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process (all its threads), in seconds; undefined once it is gone. */
export async function processCpuSeconds(pid: number, procRoot = '/proc'): Promise<number | undefined> {
  const stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // the command name (field 2) may contain spaces and parentheses: count fields after its closing ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / TICKS_PER_SECOND : undefined;
}

/** Busy and total CPU time of the whole host (all cores), in ticks, from the `cpu` line of /proc/stat. */
export async function hostCpuTicks(procRoot = '/proc'): Promise<{ busy: number; total: number } | undefined> {
  const stat = await readFile(`${procRoot}/stat`, 'utf8').catch(() => undefined);
  const line = stat?.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Cores a process used between two readings (1.0 = one core fully busy). */
export class ProcessCpuMeter {
  private last: { at: number; cpu: number } | undefined;
  private readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  async read(nowMs: number): Promise<number | undefined> {
    const cpu = await processCpuSeconds(this.pid);
    if (cpu === undefined) return undefined;
    const prev = this.last;
    this.last = { at: nowMs, cpu };
    if (!prev || nowMs <= prev.at) return undefined;
    return (cpu - prev.cpu) / ((nowMs - prev.at) / 1000);
  }
}

/** Share of all the host's cores that was busy between two readings (0–1). */
export class HostCpuMeter {
  private last: { busy: number; total: number } | undefined;

  async read(): Promise<number | undefined> {
    const now = await hostCpuTicks();
    if (!now) return undefined;
    const prev = this.last;
    this.last = now;
    if (!prev || now.total <= prev.total) return undefined;
    return (now.busy - prev.busy) / (now.total - prev.total);
  }
}
