/**
 * `npm run stress` as a process, with tiny libx264 streams (test-180p): staggered starts are spaced by the
 * interval (read from the report's recorded start times), --all-at-once starts them together, Ctrl-C and the
 * end leave no ffmpeg behind, a stream that never gets its input is a start failure (exit 1), and through a
 * real origin node's operator API the node's own start queue spaces the channels.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freeUdpPort, waitFor } from '../helpers/net.ts';
import { type OriginNode, removeDataDir, startOriginNode, TEST_API_KEY } from '../helpers/origin.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const outDirs: string[] = [];

// biome-ignore lint/suspicious/noExplicitAny: the report's JSON, read loosely
type Report = any;

function stress(argv: string[], opts: { onSpawn?: (pid: number) => void } = {}) {
  const out = join(tmpdir(), `ops-stress-${process.pid}-${outDirs.length}`);
  outDirs.push(out);
  const child = spawn(process.execPath, ['origin/cli/stress.ts', '--out', out, '--json', ...argv], {
    cwd: ROOT,
  });
  if (child.pid) opts.onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; report: Report; stderr: string }>((resolve, reject) => {
    child.on('close', async (code) => {
      try {
        const report = code === 2 ? null : JSON.parse(stdout);
        resolve({ code, report, stderr });
      } catch (err) {
        reject(new Error(`stress printed no report (exit ${code}): ${stderr}\n${String(err)}`));
      }
    });
  });
  return { child, out, done };
}

/** ffmpeg processes whose command line mentions `needle` (a run's output directory or input port). */
async function ffmpegsMentioning(needle: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args=']);
  return stdout.split('\n').filter((l) => l.startsWith('ffmpeg') && l.includes(needle));
}

const TINY = ['--profile', 'test-180p', '--encoder', 'libx264'];
const starts = (r: Report): number[] =>
  r.streams.map((s: Report) => Date.parse(s.startedAt)).sort((a: number, b: number) => a - b);

let node: OriginNode | undefined;
afterAll(async () => {
  await node?.stop();
  if (node) await removeDataDir(node.dataDir);
  await Promise.all(outDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('stress: ffmpeg processes on this host', () => {
  it('starts 3 streams 2 s apart, measures them and writes the report', async () => {
    const { out, done } = stress(['--streams', '3', '--interval', '2', '--seconds', '3', ...TINY]);
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'report.json'), 'utf8'))).toEqual(report);

    const t = starts(report);
    expect(t).toHaveLength(3);
    for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBeGreaterThanOrEqual(2000);
    expect(report.summary.startGapS.min).toBeGreaterThanOrEqual(2);
    expect(report.options).toMatchObject({
      via: 'ffmpeg',
      streams: 3,
      intervalS: 2,
      allAtOnce: false,
      profile: 'test-180p',
      encoder: 'libx264',
    });
    expect(report.summary).toMatchObject({ streams: 3, started: 3, startFailures: 0, gpu: null });
    expect(report.host.gpu).toBe(false);
    for (const s of report.streams) {
      expect(s).toMatchObject({
        status: expect.stringMatching(/^(ok|lagging)$/),
        failure: null,
        encoder: 'libx264',
      });
      expect(s.fps).toBeGreaterThan(0);
      expect(s.speed).toBeGreaterThan(0);
      expect(s.segments).toBeGreaterThan(0);
      expect(s.cpuMeanCores).toBeGreaterThan(0);
      expect(s.samples.length).toBeGreaterThan(0);
      const log = await readFile(s.log, 'utf8');
      // the origin's own command line: same encoder and profile settings
      expect(log).toMatch(/^--- .* ffmpeg .*-c:v libx264 -preset ultrafast .*-b:v 200k .*-f segment /);
      expect(log).toMatch(/ended: .*\(stopped by stress\)\n$/);
    }
    expect(report.summary.hostCpu.peak).toBeGreaterThan(0);
    expect(await ffmpegsMentioning(out)).toEqual([]);
  });

  it('--all-at-once starts them together (the anti-pattern, for comparison)', async () => {
    const { out, done } = stress([
      '--streams',
      '3',
      '--interval',
      '2',
      '--all-at-once',
      '--seconds',
      '2',
      ...TINY,
    ]);
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(report.options).toMatchObject({ allAtOnce: true, intervalS: 0 });
    const t = starts(report);
    // released in one pass of the queue: far closer together than the interval that was ignored
    expect(t.at(-1)! - t[0]!).toBeLessThan(2000);
    expect(report.summary.startFailures).toBe(0);
    expect(await ffmpegsMentioning(out)).toEqual([]);
  });

  it('Ctrl-C stops every process it started, still writes the report, and exits 130', async () => {
    let pid = 0;
    const { out, done } = stress(['--streams', '2', '--interval', '1', '--seconds', '120', ...TINY], {
      onSpawn: (p) => {
        pid = p;
      },
    });
    await waitFor(async () => (await ffmpegsMentioning(out)).length === 2, {
      timeoutMs: 30_000,
      what: 'both streams',
    });
    process.kill(pid, 'SIGINT');
    const { code, report } = await done;
    expect(code).toBe(130);
    expect(report.interrupted).toBe(true);
    expect(report.streams.every((s: Report) => s.failure === null)).toBe(true);
    expect(await ffmpegsMentioning(out)).toEqual([]);
  });

  it('a stream that never gets its input is a start failure, and the exit status says so', async () => {
    const silent = await freeUdpPort();
    const { done } = stress([
      '--streams',
      '1',
      '--seconds',
      '1',
      '--start-timeout',
      '3',
      '--input',
      `udp://127.0.0.1:${silent}`,
      ...TINY,
    ]);
    const { code, report } = await done;
    expect(code).toBe(1);
    expect(report.streams[0]).toMatchObject({
      status: 'failed',
      failure: 'no frame within 3 s of its start',
    });
    expect(report.summary.startFailures).toBe(1);
    expect(await ffmpegsMentioning(`127.0.0.1:${silent}`)).toEqual([]);
  });

  it('exits 2 on a bad flag, naming it, and starts nothing', async () => {
    const { done } = stress(['--streams', 'lots']);
    const { code, stderr } = await done;
    expect(code).toBe(2);
    expect(stderr).toContain('error: --streams: "lots" is not an integer');
  });
});

describe('stress: channels through a node’s operator API', () => {
  it('posts every channel at once; the node’s own start queue spaces them; all are deleted at the end', async () => {
    node = await startOriginNode({ env: { START_INTERVAL: '1.5', CPU_CAPACITY: '2' } });
    const { done } = stress([
      ...['--via', 'api', '--node', node.url, '--key', TEST_API_KEY],
      ...['--streams', '2', '--all-at-once', '--seconds', '3', '--profile', 'test-180p'],
    ]);
    const { code, report } = await done;
    expect(code).toBe(0);
    const launched = report.streams.map((s: Report) => Date.parse(s.launchedAt));
    expect(Math.max(...launched) - Math.min(...launched)).toBeLessThan(1500);
    const t = starts(report);
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(1500);
    for (const s of report.streams) {
      expect(s).toMatchObject({ failure: null, encoder: 'libx264' });
      expect(s.segments).toBeGreaterThan(0);
      expect(s.cpuMeanCores).toBeGreaterThan(0); // the node is local: its ffmpeg is measured in /proc
    }
    const left = (await (await node.api('/v1/channels')).json()) as { channels: unknown[] };
    expect(left.channels).toEqual([]);
  });
});
