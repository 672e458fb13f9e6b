/**
 * `npm run doctor`: checks a node the way an operator would before putting channels on it — ffmpeg and its
 * encoders (NVENC listed vs usable, by the origin's own probe), the GPU, TCP congestion control and qdisc
 * (BBR + fq, with the lines of nginx/sysctl-bbr.conf as the fix), the open-file limit, disk space for
 * DATA_DIR, and Redis and origin reachability when given. Exit 1 when a check fails; warnings do not fail.
 *
 *   npm run doctor [-- --json] [--redis redis://host:6379] [--origin http://host:9001 ...]
 *     [--data-dir DIR] [--encoder auto|nvenc|libx264] [--gpu-model "NVIDIA L4"]
 */
import { availableParallelism, hostname, release } from 'node:os';
import { resolve } from 'node:path';
import type { EncoderChoice } from '../config.ts';
import { parseFlags, runCli, UsageError, urlFlag } from './args.ts';
import {
  type Check,
  checkCongestionControl,
  checkDisk,
  checkEncoder,
  checkFfmpeg,
  checkGpu,
  checkOpenFiles,
  checkQdisc,
  type Status,
} from './doctor-checks.ts';
import { checkOrigin, checkRedis } from './doctor-remote.ts';

export const DOCTOR_USAGE = `usage: npm run doctor [-- --json] [--redis URL] [--origin URL]... [--data-dir DIR]
  [--encoder auto|nvenc|libx264] [--gpu-model NAME]
DATA_DIR, ENCODER and GPU_MODEL are read from the environment when the flags are absent, as the origin does.
Exit status: 0 all checks pass (warnings allowed), 1 a check failed, 2 bad usage.`;

const FLAGS = {
  json: { type: 'boolean' },
  redis: { type: 'string' },
  origin: { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  encoder: { type: 'string' },
  'gpu-model': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface DoctorOptions {
  json: boolean;
  redis?: string;
  origins: string[];
  dataDir: string;
  encoder: EncoderChoice;
  gpuModel?: string;
}

export function parseDoctorArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): DoctorOptions | 'help' {
  const v = parseFlags(argv, FLAGS);
  if (v.help) return 'help';
  const encoder = v.encoder ?? env.ENCODER ?? 'auto';
  if (!['auto', 'nvenc', 'libx264'].includes(encoder)) {
    throw new UsageError(`--encoder: "${encoder}" is not one of auto, nvenc, libx264`);
  }
  const opts: DoctorOptions = {
    json: v.json ?? false,
    origins: (v.origin ?? []).map((o) => urlFlag('origin', o, ['http:', 'https:'])),
    dataDir: resolve(v['data-dir'] ?? env.DATA_DIR ?? 'data/origin'),
    encoder: encoder as EncoderChoice,
  };
  if (v.redis !== undefined) opts.redis = urlFlag('redis', v.redis, ['redis:', 'rediss:']);
  const gpuModel = v['gpu-model'] ?? env.GPU_MODEL;
  if (gpuModel) opts.gpuModel = gpuModel;
  return opts;
}

export async function runChecks(opts: DoctorOptions): Promise<Check[]> {
  const skipped = (name: string, flag: string): Check => ({
    name,
    status: 'skip',
    summary: `not checked (give ${flag})`,
  });
  return Promise.all([
    checkFfmpeg(),
    checkEncoder(opts.encoder, opts.gpuModel),
    checkGpu(opts.encoder),
    checkCongestionControl(),
    checkQdisc(),
    checkOpenFiles(),
    checkDisk(opts.dataDir),
    opts.redis ? checkRedis(opts.redis) : skipped('redis', '--redis URL'),
    ...(opts.origins.length ? opts.origins.map(checkOrigin) : [skipped('origin', '--origin URL')]),
  ]);
}

const LABEL: Record<Status, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function formatChecks(checks: Check[], host: Record<string, unknown>): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = [`doctor: ${host.hostname} (${host.cpus} CPUs, Linux ${host.kernel}, Node ${host.node})`, ''];
  for (const c of checks) {
    lines.push(`${LABEL[c.status].padEnd(4)}  ${c.name.padEnd(width)}  ${c.summary}`);
    for (const f of c.fix ?? []) lines.push(`${' '.repeat(width + 8)}fix: ${f}`);
  }
  const count = (s: Status) => checks.filter((c) => c.status === s).length;
  lines.push(
    '',
    `${count('fail')} failed, ${count('warn')} warnings, ${count('ok')} ok, ${count('skip')} skipped`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const opts = parseDoctorArgs(process.argv.slice(2), process.env);
  if (opts === 'help') {
    process.stdout.write(`${DOCTOR_USAGE}\n`);
    return 0;
  }
  const host = {
    hostname: hostname(),
    cpus: availableParallelism(),
    kernel: release(),
    node: process.version,
  };
  const checks = await runChecks(opts);
  const exitCode = checks.some((c) => c.status === 'fail') ? 1 : 0;
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ host, checks, exitCode }, null, 2)}\n`
      : `${formatChecks(checks, host)}\n`,
  );
  return exitCode;
}

if (import.meta.main) runCli(DOCTOR_USAGE, main);
