/**
 * CPU time a subject spent (user + system, from /proc), its worker processes included (nginx's workers
 * are children of its master). Throughput on two shared cores moves with the neighbours' load; CPU time per
 * request moves much less, so it is kept beside every round to tell a slow subject from a starved one.
 */
import { readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

export async function cpuSeconds(pid: number): Promise<number> {
  let ticks = 0;
  for (const p of [pid, ...(await children(pid))]) ticks += await processTicks(p);
  return ticks / TICKS_PER_SECOND;
}

async function processTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // the command name (field 2) may hold spaces: fields are counted after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

async function children(pid: number): Promise<number[]> {
  const list = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return list.split(' ').filter(Boolean).map(Number);
}
