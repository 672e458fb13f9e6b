/**
 * The node checks behind `npm run doctor`: each reads the real thing (ffmpeg, nvidia-smi, /proc, the
 * filesystem) and says what it found, how bad it is and the exact fix. A check never guesses: what it cannot
 * read is reported as unreadable, not as fine.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findGpuModel, GPU_MODELS } from '../capacity.ts';
import type { EncoderChoice } from '../config.ts';
import { probeEncoder } from '../encoder-probe.ts';
import { queryGpus } from '../gpu-metrics.ts';

const run = promisify(execFile);

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: Status;
  summary: string;
  /** commands or config lines that fix a warning or failure */
  fix?: string[];
  /** what was read, for --json */
  details?: Record<string, unknown>;
}

/** The sysctl file shipped for origin nodes (BBR + fq); the doctor quotes its lines as the fix. */
export const SYSCTL_FILE = fileURLToPath(new URL('../../nginx/sysctl-bbr.conf', import.meta.url));
const SYSCTL_TARGET = '/etc/sysctl.d/90-origin-bbr.conf';

/** The `key = value` line for `key` in the shipped sysctl file. */
export async function shippedSysctlLine(key: string): Promise<string> {
  const text = await readFile(SYSCTL_FILE, 'utf8');
  const line = text.split('\n').find((l) => l.replace(/\s/g, '').startsWith(`${key}=`));
  if (!line) throw new Error(`${SYSCTL_FILE} has no ${key} line`);
  return line.trim();
}

export async function checkFfmpeg(ffmpeg = 'ffmpeg'): Promise<Check> {
  try {
    const first = (await run(ffmpeg, ['-hide_banner', '-version'])).stdout.split('\n')[0] ?? '';
    const version = first.replace(/\s+Copyright.*$/, '').trim();
    const encoders = (await run(ffmpeg, ['-hide_banner', '-encoders'], { maxBuffer: 4 << 20 })).stdout;
    const listed = (name: string) => new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(encoders);
    const found = { libx264: listed('libx264'), h264_nvenc: listed('h264_nvenc') };
    const list = `libx264 ${found.libx264 ? 'listed' : 'MISSING'}, h264_nvenc ${found.h264_nvenc ? 'listed' : 'not built in'}`;
    if (!found.libx264 && !found.h264_nvenc) {
      return {
        name: 'ffmpeg',
        status: 'fail',
        summary: `${version}; no H.264 encoder (${list})`,
        fix: ['apt-get install ffmpeg   # Debian builds carry libx264 and h264_nvenc'],
        details: { version, encoders: found },
      };
    }
    return {
      name: 'ffmpeg',
      status: 'ok',
      summary: `${version}; ${list}`,
      details: { version, encoders: found },
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      name: 'ffmpeg',
      status: 'fail',
      summary: e.code === 'ENOENT' ? `${ffmpeg} not found` : `${ffmpeg} does not run: ${e.message}`,
      fix: ['apt-get install ffmpeg'],
    };
  }
}

/**
 * The origin's own boot probe (encoder-probe.ts): NVENC counts as usable only when a real encode through
 * the production pipeline succeeds. `choice` is the node's ENCODER setting: with `nvenc`, no NVENC is a failure.
 */
export async function checkEncoder(choice: EncoderChoice, gpuModel: string | undefined): Promise<Check> {
  const workDir = await mkdtemp(join(tmpdir(), 'doctor-probe-'));
  try {
    const probe = await probeEncoder({ choice, gpuModel, workDir });
    const details = { encoder: probe.encoder, nvenc: probe.nvenc, gpuModel: probe.gpuModel ?? null };
    if (probe.encoder === 'nvenc') {
      return {
        name: 'encoder',
        status: 'ok',
        summary: `h264_nvenc usable (${probe.nvenc.reason}); capacity row: ${probe.gpuModel}`,
        details,
      };
    }
    const why = `NVENC not usable: ${probe.nvenc.reason}`;
    return {
      name: 'encoder',
      status: choice === 'libx264' ? 'ok' : 'warn',
      summary: `libx264 on the CPU (${why})`,
      details,
    };
  } catch (err) {
    // probeEncoder throws when ENCODER=nvenc cannot be honoured, or NVENC works on a GPU without figures
    return { name: 'encoder', status: 'fail', summary: (err as Error).message };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export async function checkGpu(choice: EncoderChoice, nvidiaSmi?: string): Promise<Check> {
  const q = await queryGpus(nvidiaSmi === undefined ? {} : { nvidiaSmi });
  if (!q.ok) {
    return {
      name: 'gpu',
      status: choice === 'nvenc' ? 'fail' : 'warn',
      summary: `no NVIDIA GPU: ${q.reason}; ${choice === 'nvenc' ? 'ENCODER=nvenc cannot start' : 'channels encode on the CPU with libx264'}`,
      details: { gpus: [] },
    };
  }
  const unknown = q.gpus.filter((g) => !findGpuModel(g.name));
  const names = q.gpus.map((g) => `${g.index}: ${g.name} (driver ${g.driver})`).join(', ');
  return {
    name: 'gpu',
    status: unknown.length ? 'warn' : 'ok',
    summary: unknown.length
      ? `${names}; no capacity figures for ${unknown.map((g) => g.name).join(', ')}`
      : names,
    ...(unknown.length
      ? {
          fix: [
            `GPU_MODEL=<one of: ${Object.keys(GPU_MODELS).join(', ')}>, or add a measured row to origin/capacity.ts`,
          ],
        }
      : {}),
    details: { gpus: q.gpus },
  };
}

async function readProc(procRoot: string, path: string): Promise<string | undefined> {
  return readFile(join(procRoot, path), 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
}

export async function checkCongestionControl(procRoot = '/proc'): Promise<Check> {
  const current = await readProc(procRoot, 'sys/net/ipv4/tcp_congestion_control');
  const available = (await readProc(procRoot, 'sys/net/ipv4/tcp_available_congestion_control')) ?? '';
  if (current === undefined) {
    return { name: 'tcp-congestion', status: 'warn', summary: 'cannot read net.ipv4.tcp_congestion_control' };
  }
  const details = { current, available: available.split(/\s+/).filter(Boolean) };
  if (current === 'bbr') {
    return { name: 'tcp-congestion', status: 'ok', summary: `bbr (available: ${available})`, details };
  }
  const fix = [
    ...(details.available.includes('bbr')
      ? []
      : ['modprobe tcp_bbr && echo tcp_bbr > /etc/modules-load.d/bbr.conf']),
    await shippedSysctlLine('net.ipv4.tcp_congestion_control'),
    `(all of it: cp nginx/sysctl-bbr.conf ${SYSCTL_TARGET} && sysctl --system)`,
  ];
  return {
    name: 'tcp-congestion',
    status: 'warn',
    summary: `${current}; BBR keeps segment throughput up on lossy paths (available: ${available || 'unknown'})`,
    fix,
    details,
  };
}

export async function checkQdisc(procRoot = '/proc'): Promise<Check> {
  const current = await readProc(procRoot, 'sys/net/core/default_qdisc');
  if (current === undefined) {
    return { name: 'qdisc', status: 'warn', summary: 'cannot read net.core.default_qdisc' };
  }
  if (current === 'fq') return { name: 'qdisc', status: 'ok', summary: 'fq', details: { current } };
  return {
    name: 'qdisc',
    status: 'warn',
    summary: `${current}; BBR paces best on fq`,
    fix: [
      await shippedSysctlLine('net.core.default_qdisc'),
      `(all of it: cp nginx/sysctl-bbr.conf ${SYSCTL_TARGET} && sysctl --system)`,
      'default_qdisc applies to interfaces brought up later; for a running NIC: tc qdisc replace dev <nic> root fq',
    ],
    details: { current },
  };
}

/** Below this an origin cannot hold its channels' files and connections; below the second it is tight. */
const NOFILE_FAIL = 1024;
const NOFILE_WARN = 65_536;

export async function checkOpenFiles(procRoot = '/proc'): Promise<Check> {
  const limits = await readProc(procRoot, 'self/limits');
  const m = limits && /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return { name: 'open-files', status: 'warn', summary: 'cannot read the open-file limit' };
  const soft = m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  const details = { soft: m[1], hard: m[2] };
  const summary = `soft ${m[1]}, hard ${m[2]} (this shell's limit; under systemd the unit's LimitNOFILE counts)`;
  const hard = m[2] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[2]);
  const fix = [
    hard >= NOFILE_WARN
      ? `ulimit -n ${NOFILE_WARN}   # or LimitNOFILE=${NOFILE_WARN} in the systemd unit`
      : `LimitNOFILE=${NOFILE_WARN} in the systemd unit, or "* - nofile ${NOFILE_WARN}" in /etc/security/limits.conf (the hard limit is ${m[2]})`,
  ];
  if (soft < NOFILE_FAIL) return { name: 'open-files', status: 'fail', summary, fix, details };
  if (soft < NOFILE_WARN) return { name: 'open-files', status: 'warn', summary, fix, details };
  return { name: 'open-files', status: 'ok', summary, details };
}

const GIB = 1024 ** 3;
const DISK_FAIL_BYTES = 1 * GIB;
const DISK_WARN_BYTES = 10 * GIB;

/** Free space and writability where segments will be written (the nearest existing parent of DATA_DIR). */
export async function checkDisk(dataDir: string): Promise<Check> {
  let dir = dataDir;
  while (
    !(await access(dir).then(
      () => true,
      () => false,
    ))
  ) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const writable = await access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const total = fs.blocks * fs.bsize;
  const gib = (n: number) => `${(n / GIB).toFixed(1)} GiB`;
  const where = dir === dataDir ? dataDir : `${dataDir} (not created yet; ${dir})`;
  const details = { dataDir, checked: dir, freeBytes: free, totalBytes: total, writable };
  const summary = `${where}: ${gib(free)} free of ${gib(total)}${writable ? '' : ', NOT writable'}`;
  if (!writable || free < DISK_FAIL_BYTES) {
    return {
      name: 'disk',
      status: 'fail',
      summary,
      fix: [writable ? 'free space or point DATA_DIR elsewhere' : `chown the directory to the origin's user`],
      details,
    };
  }
  if (free < DISK_WARN_BYTES) return { name: 'disk', status: 'warn', summary, details };
  return { name: 'disk', status: 'ok', summary, details };
}
