/**
 * `npm run doctor` on this machine, as a process: it must report what is really here (no GPU on this machine
 * kind, the congestion control and qdisc the kernel really has), and reach a real redis-server and a real
 * origin node, with the exit status an operator's script relies on.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../../origin/cli/doctor-checks.ts';
import { queryGpus } from '../../origin/gpu-metrics.ts';
import { freePort } from '../helpers/net.ts';
import { type OriginNode, removeDataDir, startOriginNode } from '../helpers/origin.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function doctor(...argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['origin/cli/doctor.ts', ...argv], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function doctorJson(...argv: string[]) {
  const r = await doctor('--json', ...argv);
  const report = JSON.parse(r.stdout) as { checks: Check[]; exitCode: number };
  const byName = (name: string) => report.checks.filter((c) => c.name === name);
  return { ...r, report, check: (name: string) => byName(name)[0]!, all: byName };
}

const proc = async (path: string) => (await readFile(path, 'utf8')).trim();

let redis: RedisServer;
let origin: OriginNode;

beforeAll(async () => {
  [redis, origin] = await Promise.all([startRedis(), startOriginNode()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), origin?.stop()]);
  if (origin) await removeDataDir(origin.dataDir);
});

describe('doctor on this machine', () => {
  it('reports no GPU and the real congestion control and qdisc, and passes with warnings only', async () => {
    // this machine kind has no GPU (NOTES.md); the doctor must say so rather than pretend
    expect((await queryGpus()).ok).toBe(false);
    const { code, report, check } = await doctorJson();
    expect(check('gpu')).toMatchObject({ status: 'warn', summary: expect.stringMatching(/^no NVIDIA GPU/) });
    expect(check('encoder').status).toBe('warn');
    expect(check('encoder').summary).toMatch(/^libx264 on the CPU \(NVENC not usable: /);
    expect(check('ffmpeg')).toMatchObject({ status: 'ok', details: { encoders: { libx264: true } } });

    const cc = await proc('/proc/sys/net/ipv4/tcp_congestion_control');
    expect(check('tcp-congestion')).toMatchObject({
      status: cc === 'bbr' ? 'ok' : 'warn',
      details: { current: cc },
    });
    const qdisc = await proc('/proc/sys/net/core/default_qdisc');
    expect(check('qdisc')).toMatchObject({
      status: qdisc === 'fq' ? 'ok' : 'warn',
      details: { current: qdisc },
    });

    const soft = /^Max open files\s+(\S+)/m.exec(await proc('/proc/self/limits'))![1];
    expect(check('open-files').details).toMatchObject({ soft });
    expect(check('redis').status).toBe('skip');
    expect(report.checks.some((c) => c.status === 'fail')).toBe(false);
    expect(code).toBe(0);
    expect(report.exitCode).toBe(0);
  });

  it('prints a readable report with the fix lines', async () => {
    const { code, stdout } = await doctor();
    expect(code).toBe(0);
    expect(stdout).toMatch(/^WARN\s+gpu\s+no NVIDIA GPU/m);
    const qdisc = await proc('/proc/sys/net/core/default_qdisc');
    if (qdisc !== 'fq') expect(stdout).toContain('fix: net.core.default_qdisc = fq');
    expect(stdout).toMatch(/\d+ failed, \d+ warnings, \d+ ok, \d+ skipped/);
  });

  it('reaches a real redis-server and a real origin node', async () => {
    const { code, check } = await doctorJson('--redis', redis.url, '--origin', origin.url);
    expect(check('redis')).toMatchObject({ status: 'ok', summary: expect.stringMatching(/PONG in/) });
    expect(check('origin')).toMatchObject({
      status: 'ok',
      details: { nodeId: origin.nodeId, ready: true, running: 0 },
    });
    expect(check('origin').summary).toContain('encoder libx264 on cpu');
    expect(code).toBe(0);
  });

  it('fails (exit 1) when Redis or an origin is unreachable, naming which', async () => {
    const closed = await freePort();
    const { code, check, all } = await doctorJson(
      ...['--redis', `redis://:pw-not-printed@127.0.0.1:${closed}`],
      ...['--origin', origin.url, '--origin', `http://127.0.0.1:${closed}`],
    );
    expect(check('redis')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/ECONNREFUSED/) });
    expect(JSON.stringify(check('redis'))).not.toContain('pw-not-printed');
    expect(all('origin').map((c) => c.status)).toEqual(['ok', 'fail']);
    expect(code).toBe(1);
  });

  it('fails (exit 1) when the node is set to ENCODER=nvenc and there is no NVENC here', async () => {
    const { code, check } = await doctorJson('--encoder', 'nvenc');
    expect(check('encoder')).toMatchObject({
      status: 'fail',
      summary: /ENCODER=nvenc but NVENC is not usable/,
    });
    expect(check('gpu').status).toBe('fail');
    expect(code).toBe(1);
  });

  it('exits 2 on a bad flag, naming it', async () => {
    const r = await doctor('--redis', 'localhost:6379');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --redis: the scheme must be redis:// or rediss://');
    expect(r.stdout).toBe('');
  });
});
