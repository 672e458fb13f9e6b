/**
 * The load generator for every throughput run: Debian's wrk (C, epoll, one thread), the most CPU-frugal
 * client on two shared cores. It runs as a child process, asynchronously, so nothing here ever blocks an
 * event loop; requests cycle through a list (tokens, signed links) via wrk-requests.lua.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './run.ts';

const SCRIPT = fileURLToPath(new URL('./wrk-requests.lua', import.meta.url));

export interface BenchRequest {
  /** path and query */
  path: string;
  headers?: Record<string, string>;
}

export interface LoadSpec {
  /** base URL of the subject */
  url: string;
  /** cycled in order, one per request */
  requests: BenchRequest[];
  connections: number;
  seconds: number;
}

export interface LoadResult {
  requests: number;
  bytes: number;
  seconds: number;
  reqPerSec: number;
  bytesPerSec: number;
  /** socket errors and non-2xx/3xx answers */
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMs: { p50: number; p99: number; max: number };
}

interface WrkSummary {
  requests: number;
  bytes: number;
  durationUs: number;
  errors: LoadResult['errors'];
  latencyUs: { p50: number; p99: number; max: number };
}

export async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  if (spec.requests.length === 0) throw new Error('wrk: no requests to send');
  const dir = await mkdtemp(join(tmpdir(), 'bench-wrk-'));
  const list = join(dir, 'requests.tsv');
  await writeFile(list, spec.requests.map(requestLine).join('\n') + '\n');
  try {
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '10s'];
    const out = await runCommand('wrk', [...args, '-s', SCRIPT, spec.url, '--', list]);
    const line = out.split('\n').find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const s = JSON.parse(line) as WrkSummary;
    const seconds = s.durationUs / 1e6;
    return {
      requests: s.requests,
      bytes: s.bytes,
      seconds,
      reqPerSec: s.requests / seconds,
      bytesPerSec: s.bytes / seconds,
      errors: s.errors,
      latencyMs: { p50: s.latencyUs.p50 / 1000, p99: s.latencyUs.p99 / 1000, max: s.latencyUs.max / 1000 },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function errorCount(r: LoadResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

function requestLine(r: BenchRequest): string {
  const fields = [r.path, ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  for (const f of fields)
    if (/[\t\n]/.test(f)) throw new Error('wrk: request fields cannot hold tabs or newlines');
  return fields.join('\t');
}
