/**
 * Load generators for the benchmarks, behind one function: autocannon (npm, runs in this process,
 * asynchronously) or wrk (Debian, C, its own threads: it saturates a fast server such as nginx with less
 * client overhead on a small machine). Either way a run that saw one failed request throws: a benchmark
 * of errors is not a benchmark.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

export type LoadTool = 'autocannon' | 'wrk';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

export interface Measured {
  rps: number;
  /** response bytes per second, in MB */
  mbps: number;
  p50ms: number;
  p99ms: number;
}

interface AutocannonResult {
  requests: { average: number };
  throughput: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const exec = promisify(execFile);

export async function runLoad(tool: LoadTool, spec: LoadSpec): Promise<Measured> {
  return tool === 'wrk' ? wrk(spec) : viaAutocannon(spec);
}

async function viaAutocannon(spec: LoadSpec): Promise<Measured> {
  const r = await autocannon({
    url: spec.url,
    headers: spec.headers,
    connections: spec.connections,
    duration: spec.seconds,
  });
  if (r.non2xx || r.errors || r.timeouts)
    throw new Error(
      `${spec.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts under load`,
    );
  return {
    rps: r.requests.average,
    mbps: r.throughput.average / 1e6,
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
  };
}

async function wrk(spec: LoadSpec): Promise<Measured> {
  const headers = Object.entries(spec.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = ['-t2', `-c${spec.connections}`, `-d${spec.seconds}s`, '--latency', ...headers, spec.url];
  const { stdout } = await exec('wrk', args, { maxBuffer: 1 << 20 });
  const failed = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  const socket = /Socket errors: (.*)/.exec(stdout)?.[1];
  if (failed || socket)
    throw new Error(`${spec.url}: ${failed ?? 0} non-2xx, socket errors: ${socket ?? 'none'}`);
  const number = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  return {
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    mbps: megabytes(/Transfer\/sec:\s+([\d.]+\w+)/.exec(stdout)?.[1]),
    p50ms: milliseconds(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1]),
    p99ms: milliseconds(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1]),
  };
}

/** wrk prints sizes as 12.34MB / 567.89KB / 1.2GB. */
function megabytes(text: string | undefined): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  const scale = { B: 1 / 1e6, KB: 1024 / 1e6, MB: (1024 * 1024) / 1e6, GB: (1024 * 1024 * 1024) / 1e6 }[
    m[2]!
  ]!;
  return Number(m[1]) * scale;
}

/** wrk prints durations as 812.00us / 1.23ms / 2.01s. */
function milliseconds(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]!]!;
}
