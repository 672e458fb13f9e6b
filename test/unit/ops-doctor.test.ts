import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../origin/cli/args.ts';
import { parseDoctorArgs } from '../../origin/cli/doctor.ts';
import {
  checkCongestionControl,
  checkDisk,
  checkOpenFiles,
  checkQdisc,
  SYSCTL_FILE,
  shippedSysctlLine,
} from '../../origin/cli/doctor-checks.ts';
import { safeUrl } from '../../origin/cli/doctor-remote.ts';

// This machine shows one value of each setting; the other branches read a stand-in /proc.
let proc: string;
const setProc = async (files: Record<string, string>) => {
  await rm(proc, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(proc, path, '..'), { recursive: true });
    await writeFile(join(proc, path), `${text}\n`);
  }
};

beforeAll(async () => {
  proc = await mkdtemp(join(tmpdir(), 'ops-proc-'));
});
afterAll(() => rm(proc, { recursive: true, force: true }));

const limits = (soft: string, hard: string) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             127451               127451               processes ',
    `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
  ].join('\n');

describe('doctor: TCP congestion control and qdisc', () => {
  it('bbr passes; anything else warns with the line from the shipped sysctl file', async () => {
    await setProc({
      'sys/net/ipv4/tcp_congestion_control': 'bbr',
      'sys/net/ipv4/tcp_available_congestion_control': 'reno cubic bbr',
    });
    expect(await checkCongestionControl(proc)).toMatchObject({ status: 'ok', details: { current: 'bbr' } });

    await setProc({
      'sys/net/ipv4/tcp_congestion_control': 'cubic',
      'sys/net/ipv4/tcp_available_congestion_control': 'reno cubic bbr',
    });
    const cubic = await checkCongestionControl(proc);
    expect(cubic.status).toBe('warn');
    expect(cubic.fix).toContain('net.ipv4.tcp_congestion_control = bbr');
    expect(cubic.fix?.join('\n')).toContain('cp nginx/sysctl-bbr.conf /etc/sysctl.d/');
    expect(cubic.fix?.join('\n')).not.toContain('modprobe');
  });

  it('says to load the module when bbr is not even available', async () => {
    await setProc({
      'sys/net/ipv4/tcp_congestion_control': 'cubic',
      'sys/net/ipv4/tcp_available_congestion_control': 'reno cubic',
    });
    expect((await checkCongestionControl(proc)).fix?.[0]).toMatch(/^modprobe tcp_bbr/);
  });

  it('fq passes; another default qdisc warns with the fix', async () => {
    await setProc({ 'sys/net/core/default_qdisc': 'fq' });
    expect(await checkQdisc(proc)).toMatchObject({ status: 'ok', summary: 'fq' });
    await setProc({ 'sys/net/core/default_qdisc': 'fq_codel' });
    const q = await checkQdisc(proc);
    expect(q.status).toBe('warn');
    expect(q.summary).toMatch(/^fq_codel;/);
    expect(q.fix).toContain('net.core.default_qdisc = fq');
  });

  it('an unreadable setting is reported as unreadable, not as fine', async () => {
    await setProc({});
    expect(await checkCongestionControl(proc)).toMatchObject({ status: 'warn', summary: /cannot read/ });
    expect(await checkQdisc(proc)).toMatchObject({ status: 'warn', summary: /cannot read/ });
  });

  it('quotes the shipped file exactly', async () => {
    const text = await readFile(SYSCTL_FILE, 'utf8');
    for (const key of ['net.core.default_qdisc', 'net.ipv4.tcp_congestion_control']) {
      const line = await shippedSysctlLine(key);
      expect(text.split('\n')).toContain(line);
    }
  });
});

describe('doctor: open files and disk', () => {
  it.each([
    ['1048576', '1048576', 'ok'],
    ['20000', '20000', 'warn'],
    ['unlimited', 'unlimited', 'ok'],
    ['256', '4096', 'fail'],
  ])('soft %s / hard %s → %s', async (soft, hard, status) => {
    await setProc({ 'self/limits': limits(soft, hard) });
    const c = await checkOpenFiles(proc);
    expect(c.status).toBe(status);
    expect(c.details).toEqual({ soft, hard });
  });

  it('a hard limit too low to raise with ulimit points at the unit or limits.conf', async () => {
    await setProc({ 'self/limits': limits('20000', '20000') });
    expect((await checkOpenFiles(proc)).fix?.[0]).toMatch(/LimitNOFILE=65536.*hard limit is 20000/);
    await setProc({ 'self/limits': limits('20000', '1048576') });
    expect((await checkOpenFiles(proc)).fix?.[0]).toMatch(/^ulimit -n 65536/);
  });

  it('measures the filesystem DATA_DIR will be created on', async () => {
    await mkdir(proc, { recursive: true });
    const missing = join(proc, 'not', 'yet');
    const c = await checkDisk(missing);
    expect(c.details).toMatchObject({ dataDir: missing, checked: proc, writable: true });
    expect(c.summary).toContain('not created yet');
    expect(c.details?.freeBytes).toBeGreaterThan(0);
  });
});

describe('doctor: flags', () => {
  it('reads DATA_DIR, ENCODER and GPU_MODEL from the environment as the origin does; flags win', () => {
    expect(
      parseDoctorArgs([], { DATA_DIR: '/srv/origin', ENCODER: 'nvenc', GPU_MODEL: 'NVIDIA L4' }),
    ).toEqual({
      json: false,
      origins: [],
      dataDir: '/srv/origin',
      encoder: 'nvenc',
      gpuModel: 'NVIDIA L4',
    });
    const o = parseDoctorArgs(
      [
        '--json',
        '--encoder',
        'libx264',
        '--origin',
        'http://127.0.0.1:9001',
        '--origin',
        'http://127.0.0.1:9002',
      ],
      { ENCODER: 'nvenc' },
    );
    expect(o).toMatchObject({
      json: true,
      encoder: 'libx264',
      origins: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'],
    });
  });

  it.each([
    [['--encoder', 'quicksync'], /--encoder: "quicksync" is not one of/],
    [['--redis', 'localhost:6379'], /--redis: the scheme must be redis:\/\/ or rediss:\/\//],
    [['--redis', 'not a url'], /--redis: "not a url" is not a URL/],
    [['--origin', 'ftp://127.0.0.1'], /--origin: the scheme must be http:\/\/ or https:\/\//],
    [['--origin'], /--origin: needs a value/],
    [['--verbose'], /--verbose: unknown flag/],
  ])('%j', (argv, message) => {
    expect(() => parseDoctorArgs(argv, {})).toThrow(UsageError);
    expect(() => parseDoctorArgs(argv, {})).toThrow(message);
  });

  it('never prints a Redis password', () => {
    expect(safeUrl('redis://:hunter2@cache.internal:6379/0')).toBe('redis://cache.internal:6379/0');
  });
});
