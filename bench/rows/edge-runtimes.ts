/**
 * Rows E1–E3 from the edge-runtimes benchmark (bench/edge.ts, owned with the edge issue): the same
 * authenticated-segment load against nginx static, bare Hono, the Node gateway, a bare Worker, the gateway
 * Worker on workerd and the nginx edge in front of the gateway. That script runs as its own process (it
 * is a program, not a module) with wrk; its table is kept verbatim and its summary ratios become rows.
 */
import { fileURLToPath } from 'node:url';
import { fmt, type Row } from '../lib/report.ts';
import { runCommand } from '../lib/run.ts';

const SCRIPT = fileURLToPath(new URL('../edge.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Names in its summary line that its table spells differently. */
const TABLE_NAMES: Record<string, string> = { Worker: 'Worker (workerd)' };

export async function edgeRuntimeRows(o: {
  seconds: number;
  rounds: number;
}): Promise<{ rows: Row[]; output: string }> {
  const args = [SCRIPT, '--load', 'wrk', '--seconds', String(o.seconds), '--rounds', String(o.rounds)];
  let output: string;
  try {
    output = await runCommand(process.execPath, args, { cwd: REPO, name: 'bench/edge.ts' });
  } catch (err) {
    const why = (err as Error).message.split('\n').slice(-3).join(' ').slice(0, 300);
    return {
      rows: [
        {
          id: 'E',
          measure: 'edge runtimes (bench/edge.ts)',
          value: 'not run',
          baseline: '—',
          target: '—',
          met: undefined,
          note: why,
        },
      ],
      output: (err as Error).message,
    };
  }
  const ratio = (label: string) => Number(new RegExp(`${label} = ([0-9.]+)`).exec(output)?.[1] ?? Number.NaN);
  const reqs = (target: string) => {
    const name = TABLE_NAMES[target] ?? target;
    const n = new RegExp(`^${name.replace(/[()]/g, '\\$&')}\\s+(\\d+)`, 'm').exec(output)?.[1];
    return n ? fmt.reqs(Number(n)) : '?';
  };
  const row = (
    id: string,
    measure: string,
    subject: string,
    baseline: string,
    target: string,
    min?: number,
  ): Row => {
    const r = ratio(`${subject} / ${baseline}`);
    return {
      id,
      measure: `${measure} (req/s)`,
      value: reqs(subject),
      baseline: `${baseline} ${reqs(baseline)}`,
      ratio: r,
      target,
      met: min === undefined ? undefined : r >= min,
    };
  };
  return {
    rows: [
      row(
        'E1',
        'nginx edge + gateway, auth and proxy cache hits, 16 KB',
        'nginx edge',
        'nginx static',
        'approach 1×',
      ),
      row('E2', 'Node gateway, one viewer, 16 KB', 'Node gateway', 'bare Hono', '≥ 0.85×', 0.85),
      row('E3', 'gateway Worker on local workerd, 16 KB', 'Worker', 'bare Worker', '—'),
    ],
    output,
  };
}
