/**
 * `npm run bench` (`-- --quick` for a short run, `-- --profile` to profile the gateways): starts every
 * subject and baseline on loopback as separate processes, drives each with the same load generator (wrk,
 * fixed duration, connections and warm-up), prints one table and writes bench/results/<timestamp>.json.
 * See docs/benchmark.md for what each row means and the latest numbers.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLine, describeMachine, loadNow } from './lib/machine.ts';
import { formatProfile, summarizeProfile } from './lib/profile.ts';
import { formatTable, type Row, writeResults } from './lib/report.ts';
import { parseSettings } from './lib/settings.ts';
import { type Stack, startStack } from './lib/stack.ts';
import { preflight } from './rows/checks.ts';
import { edgeRuntimeRows } from './rows/edge-runtimes.ts';
import { failoverProbe } from './rows/failover.ts';
import { redisMemoryRow, storeCommandRows } from './rows/sessions.ts';
import { soakRow } from './rows/soak.ts';
import { throughputRows } from './rows/throughput.ts';

const settings = parseSettings(process.argv.slice(2));
const startedAt = new Date();
const machine = await describeMachine();
const log = (msg: string) =>
  console.error(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s] ${msg}`);
if (machine.loadAtStart > machine.cpus / 2)
  log(`load average is ${machine.loadAtStart.toFixed(2)} on ${machine.cpus} cores: numbers will be noisy`);

// profiles are large and not results: they go to the temporary directory, named in the output
const profileDir = settings.profile
  ? join(tmpdir(), 'edge-gateway-bench-profiles', startedAt.toISOString().replace(/[:.]/g, '-'))
  : undefined;
if (profileDir) await mkdir(profileDir, { recursive: true });

log('starting subjects');
const stack = await startStack(profileDir ? { profileDir } : {});
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= stack.stop();
  return stopping;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    log(`${sig}: stopping subjects`);
    void stop().then(() => process.exit(130));
  });

let rows: Row[] = [];
const raw: Record<string, unknown> = {};
try {
  rows = await measure(stack);
} finally {
  await stop();
}
let edgeOutput = '';
if (settings.edge) {
  log('edge runtimes (bench/edge.ts)');
  const edge = await edgeRuntimeRows({ seconds: settings.seconds, rounds: settings.rounds });
  rows.push(...edge.rows);
  edgeOutput = edge.output;
  raw.edge = edge.output;
}
const loadAtEnd = loadNow();
const table = formatTable(rows);
const machineLine = describeLine(machine, loadAtEnd);
if (edgeOutput) console.log(`\nbench/edge.ts:\n${edgeOutput.trim()}`);
console.log(`\n${table}\n\nmachine: ${machineLine}`);
const file = await writeResults({ startedAt, settings, machine: { ...machine, loadAtEnd }, rows, raw });
log(`results: ${file}`);
if (profileDir) {
  for (const name of await readdir(profileDir))
    console.log(
      `\n${formatProfile(join(profileDir, name), await summarizeProfile(join(profileDir, name), 25))}`,
    );
}

async function measure(s: Stack): Promise<Row[]> {
  await preflight(s);
  const failover = await failoverProbe(s);
  await failover.sample();
  log('throughput: 64 KB, 1 KB, 2 MB cached, 2 MB proxy miss');
  const tput = await throughputRows(s, settings, failover.sample);
  raw.throughput = tput.raw;
  log('store commands per session: player pattern and burst');
  const store = await storeCommandRows(s, settings);
  log('failover');
  const fail = await failover.rows(settings.quick ? 5 : 20);
  log(`Redis memory per session (${settings.sessionsForMemory} sessions)`);
  const memory = await redisMemoryRow(settings.sessionsForMemory);
  log(`soak (${settings.soak.seconds} s)`);
  const soak = await soakRow(s, settings.soak);
  return inTableOrder([...tput.rows, ...store, memory, ...fail, soak]);
}

/** Rows in the order of the benchmark issue's table, whatever order they were measured in. */
function inTableOrder(rows: Row[]): Row[] {
  const order = ['1', '2', '3a', '3b', '3c', '3d', '3e', '4a', '4b', '5', '6', '7', '8a', '8b', '8c', '9'];
  const rank = (r: Row) => (order.includes(r.id) ? order.indexOf(r.id) : order.length);
  return [...rows].sort((a, b) => rank(a) - rank(b));
}
