/**
 * The machine's processes from /proc (Linux), to prove that nothing a stopped stack started outlives it:
 * a process is identified by pid and start time (a pid can be reused), and its process group catches
 * grandchildren that were orphaned and re-parented.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** clock ticks since boot: with the pid, identifies the process even if the pid is reused */
  startTime: string;
  state: string;
  args: string[];
}

/** Every process on the machine, read from /proc (Linux). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the command name is in parentheses and may contain anything: fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({
        pid: Number(name),
        state: fields[0] ?? '',
        ppid: Number(fields[1]),
        pgid: Number(fields[2]),
        startTime: fields[19] ?? '',
        args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      // it exited while we looked
    }
  }
  return out;
}

/** `root` and all its descendants, as they are now. */
export function processTree(root: number): ProcessInfo[] {
  const all = listProcesses();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i]?.pid;
    tree.push(...all.filter((p) => p.ppid === parent));
  }
  return tree;
}

/** Those of `procs` (same pid and start time) still running, plus anything left in their process groups. */
export function survivors(procs: ProcessInfo[]): ProcessInfo[] {
  const ids = new Set(procs.map((p) => `${p.pid}/${p.startTime}`));
  const groups = new Set(procs.map((p) => p.pgid));
  return listProcesses().filter(
    (p) => p.state !== 'Z' && (ids.has(`${p.pid}/${p.startTime}`) || groups.has(p.pgid)),
  );
}
