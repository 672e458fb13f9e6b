/**
 * Forensic watermarking end to end, all real: one contribution feed, two origin nodes encoding the
 * watermarked channel `wm` (A/B variants, AES-128) and a plain channel beside it, the gateway in front.
 * Account X records ~95 segments through the gateway with ffmpeg while account Y plays; the detector names X
 * from the recording alone (and the secret), and again after the recording is re-encoded at half the bitrate
 * and a lower resolution. Bad input gives "no watermark found", never a name.
 *
 * Measurements are printed as `[measure]` lines: detection scores, and the CPU of a watermarked channel's
 * ffmpeg next to a plain one's over the same window.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VariantChooser } from '../../src/delivery/watermark-variants.ts';
import {
  type GatewayProcess,
  gatewayEnv,
  mintFor,
  signingKey,
  startGatewayProcess,
} from '../helpers/gateway-process.ts';
import type { TestKey } from '../helpers/keys.ts';
import {
  channelState,
  decryptSegment,
  type Feed,
  fetchPlaylist,
  killOrphans,
  makeDataDir,
  type OriginNode,
  playlistSegments,
  probeSegment,
  removeDataDir,
  startFeed,
  startOriginNode,
  TEST_KEY_SECRET,
  waitForSegments,
} from '../helpers/origin.ts';

const run = promisify(execFile);
const CHANNEL = 'wm';
const WATERMARK_SECRET = 'integration-watermark-secret-0123';
const ORIGIN_SECRET = 'origin-secret-for-watermark-test';
const RECORD_SECONDS = 95;
const [X, Y] = ['viewer-x@example.test', 'viewer-y@example.test'];
const CANDIDATES = [X, Y, 'viewer-z@example.test'];

let feed: Feed;
let nodes: OriginNode[] = [];
let gateway: GatewayProcess;
let key: TestKey;
let scratch: string;
let recording: Promise<{ file: string; cpu: { marked: number; plain: number } }>;

const playlistUrl = (token: string) =>
  `${gateway.url}/live/${CHANNEL}/index.m3u8?token=${encodeURIComponent(token)}`;
const tokenFor = (sub: string) => mintFor(key, { sub, sid: `sid-${sub}`, ch: [CHANNEL] }, 300);

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The detector as an operator runs it; exit code and stdout. */
async function detect(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['origin/detect.ts', ...args], {
      env: { ...process.env, WM_TEST_SECRET: WATERMARK_SECRET },
      timeout: 120_000,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

const detectJson = async (file: string, extra: string[] = []) => {
  const r = await detect([file, '--channel', CHANNEL, '--secret-env', 'WM_TEST_SECRET', '--json', ...extra]);
  return { ...r, json: JSON.parse(r.out) };
};

/** X records the channel through the gateway with ffmpeg, the playlist saved as it starts. */
async function recordAsX(): Promise<{ file: string; cpu: { marked: number; plain: number } }> {
  const url = playlistUrl(await tokenFor(X));
  const file = join(scratch, 'rec.ts');
  await writeFile(join(scratch, 'rec.m3u8'), await (await fetch(url)).text());
  const pids = {
    marked: (await channelState(nodes[0]!, CHANNEL)).pid as number,
    plain: (await channelState(nodes[0]!, 'plain')).pid as number,
  };
  const before = { marked: await cpuSeconds(pids.marked), plain: await cpuSeconds(pids.plain) };
  await run(
    'ffmpeg',
    ['-v', 'error', '-i', url, '-map', '0', '-c', 'copy', '-t', String(RECORD_SECONDS), '-f', 'mpegts', file],
    {
      timeout: (RECORD_SECONDS + 60) * 1000,
    },
  );
  return {
    file,
    cpu: {
      marked: ((await cpuSeconds(pids.marked)) - before.marked) / RECORD_SECONDS,
      plain: ((await cpuSeconds(pids.plain)) - before.plain) / RECORD_SECONDS,
    },
  };
}

beforeAll(async () => {
  scratch = await makeDataDir('watermark-stack-');
  // one feed port per channel: wm on each node, and the plain channel on node a
  feed = await startFeed({ count: 3 });
  nodes = await Promise.all(
    ['a', 'b'].map((id) =>
      startOriginNode({ nodeId: id, env: { WATERMARK_SECRET, ORIGIN_SECRET, START_INTERVAL: '0' } }),
    ),
  );
  for (const [i, node] of nodes.entries()) {
    for (const ch of [
      { id: CHANNEL, watermark: true, port: feed.ports[i] },
      ...(i === 0 ? [{ id: 'plain', watermark: false, port: feed.ports[2] }] : []),
    ]) {
      const res = await node.api('/v1/channels', {
        method: 'POST',
        body: JSON.stringify({
          id: ch.id,
          input: `udp://127.0.0.1:${ch.port}`,
          profile: 'test-180p',
          encrypt: true,
          watermark: ch.watermark,
        }),
      });
      expect(res.status).toBe(202);
    }
  }
  key = await signingKey();
  gateway = await startGatewayProcess(
    gatewayEnv(key, {
      ORIGINS: nodes.map((n) => n.url).join(','),
      ORIGIN_SECRET,
      CHANNEL_KEY_SECRET: TEST_KEY_SECRET,
      WATERMARK_SECRET,
    }),
  );
  for (const node of nodes) {
    await waitForSegments(
      { url: node.url, headers: { 'x-origin-secret': ORIGIN_SECRET } },
      CHANNEL,
      4,
      90_000,
    );
  }
  await waitForSegments(
    { url: nodes[0]!.url, headers: { 'x-origin-secret': ORIGIN_SECRET } },
    'plain',
    2,
    60_000,
  );
  recording = recordAsX();
  recording.catch(() => {});
}, 180_000);

afterAll(async () => {
  await gateway?.proc.stop();
  await Promise.all([...nodes.map((n) => n.stop()), feed?.stop()]);
  for (const node of nodes) {
    await killOrphans(node.dataDir);
    await removeDataDir(node.dataDir);
  }
  if (scratch) await removeDataDir(scratch);
});

describe('origins', () => {
  it('publish both variants of every number on both nodes, with the same timing', async () => {
    const sources = nodes.map((n) => ({ url: n.url, headers: { 'x-origin-secret': ORIGIN_SECRET } }));
    const listed = await Promise.all(
      sources.map(async (src) => playlistSegments((await fetchPlaylist(src, CHANNEL))!)),
    );
    const [onA, onB] = listed.map((l) => new Set(l.filter((s) => !s.gap).map((s) => s.seq)));
    const common = [...onA!].filter((seq) => onB!.has(seq)).slice(-3);
    expect(common.length).toBeGreaterThan(0);
    for (const seq of common) {
      const timing = [];
      for (const src of sources) {
        for (const v of ['a', 'b']) {
          const res = await fetch(`${src.url}/live/${CHANNEL}/${seq}.${v}.ts`, { headers: src.headers });
          expect(res.status).toBe(200);
          const clear = await decryptSegment(new Uint8Array(await res.arrayBuffer()), CHANNEL, seq);
          const t = await probeSegment(clear, scratch);
          timing.push([t.firstVideoPts, t.firstAudioPts, t.videoFrames]);
        }
      }
      expect(new Set(timing.map((t) => t.join())).size).toBe(1);
    }
  });
});

describe('while X records, Y watches the same watermarked channel', () => {
  it('plays 20 s through the gateway as a player would: valid, decodable, no error', async () => {
    const { stderr } = await run(
      'ffmpeg',
      ['-v', 'error', '-i', playlistUrl(await tokenFor(Y)), '-t', '20', '-f', 'null', '-'],
      {
        timeout: 90_000,
      },
    );
    expect(stderr).toBe('');
  }, 120_000);

  it('gives X and Y different variant sequences, exactly the ones their codes select', async () => {
    const chooser = new VariantChooser({ secret: WATERMARK_SECRET });
    const tokens = { x: await tokenFor(X), y: await tokenFor(Y) };
    const text = await (await fetch(playlistUrl(tokens.x))).text();
    expect(text).toMatch(/^#EXT-X-EDGE-WATERMARK:AB$/m);
    const seqs = playlistSegments(text.replace(/\?token=[^\n]*/g, '')).map((s) => s.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(4);
    let differing = 0;
    for (const seq of seqs) {
      const get = async (token: string) => {
        const res = await fetch(`${gateway.url}/live/${CHANNEL}/${seq}.ts`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-control')).toMatch(/^private, /);
        return Buffer.from(await res.arrayBuffer());
      };
      const same = (await get(tokens.x)).equals(await get(tokens.y));
      const expected = (await chooser.variant(X, CHANNEL, seq)) === (await chooser.variant(Y, CHANNEL, seq));
      expect(same).toBe(expected);
      if (!same) differing++;
    }
    console.log(`[measure] X and Y differ on ${differing} of ${seqs.length} segments in the live window`);
  });
});

describe('the detector', () => {
  it(
    'names X from its ffmpeg recording through the gateway (≥ 64 segments, continuous timestamps)',
    async () => {
      const { file, cpu } = await recording;
      const { stdout } = await run('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-show_entries',
        'packet=pts',
        '-of',
        'csv=p=0',
        file,
      ]);
      // one `pts,` line per packet (blank lines for side data)
      const pts = [...stdout.matchAll(/^(\d+),?$/gm)].map((m) => Number(m[1]));
      expect(pts.length).toBeGreaterThan(64 * 15 * 0.9);
      const steps = pts.slice(1).map((p, i) => p - pts[i]!);
      expect(Math.min(...steps)).toBeGreaterThan(0);
      expect(Math.max(...steps)).toBeLessThanOrEqual(1.5 * (90_000 / 15));

      const r = await detectJson(file, ['--candidates', CANDIDATES.join(',')]);
      expect(r.code).toBe(0);
      expect(r.json.account).toBe(X);
      expect(r.json.judged).toBeGreaterThanOrEqual(64);
      expect(r.json.named.log10Chance).toBeLessThan(-6);
      console.log(
        `[measure] clean recording: ${r.json.named.agree}/${r.json.named.of} code positions agree, chance ≤ ${r.json.named.chance}; code ${r.json.code ?? 'not recovered'}`,
      );
      console.log(
        `[measure] CPU per channel (test-180p, libx264 ultrafast): watermarked ${(cpu.marked * 100).toFixed(1)} % of a core, plain ${(cpu.plain * 100).toFixed(1)} % (×${(cpu.marked / cpu.plain).toFixed(2)})`,
      );
    },
    (RECORD_SECONDS + 90) * 1000,
  );

  it('still names X after the recording is re-encoded at half the bitrate and 256x144', async () => {
    const { file } = await recording;
    const attacked = join(scratch, 'attacked.ts');
    await run('ffmpeg', [
      ...['-v', 'error', '-i', file, '-vf', 'scale=256:144', '-c:v', 'libx264', '-preset', 'veryfast'],
      ...['-b:v', '100k', '-maxrate', '100k', '-bufsize', '100k', '-c:a', 'copy', '-f', 'mpegts', attacked],
    ]);
    const r = await detectJson(attacked, [
      '--playlist',
      join(scratch, 'rec.m3u8'),
      '--candidates',
      CANDIDATES.join(','),
    ]);
    expect(r.json.account).toBe(X);
    console.log(
      `[measure] after re-encode (256x144, 100 kbps): ${r.json.named.agree}/${r.json.named.of} code positions agree, chance ≤ ${r.json.named.chance}`,
    );
  }, 120_000);

  it('says "no watermark found", never a name, for bad input', async () => {
    const { file } = await recording;
    const bad = join(scratch, 'bad');
    await mkdir(join(bad, 'empty'), { recursive: true });
    const playlist = join(scratch, 'rec.m3u8');
    // the first ~8 segments of the recording only
    await writeFile(join(bad, 'truncated.ts'), (await readFile(file)).subarray(0, 300_000));
    await writeFile(
      join(bad, 'garbage.ts'),
      Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 131) & 0xff)),
    );
    // an unrelated, unmarked video of the same kind and length
    await run('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15', '-t', '90'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-f', 'mpegts', join(bad, 'unrelated.ts')],
    ]);
    const cases = [
      join(bad, 'empty'),
      ...['truncated.ts', 'garbage.ts', 'unrelated.ts'].map((n) => join(bad, n)),
    ];
    for (const input of cases) {
      const r = await detect([
        input,
        '--channel',
        CHANNEL,
        '--secret-env',
        'WM_TEST_SECRET',
        '--playlist',
        playlist,
        '--candidates',
        CANDIDATES.join(','),
      ]);
      expect({ input, code: r.code }).toEqual({ input, code: 1 });
      expect(r.out).toMatch(/^no watermark found: /m);
      expect(r.out).not.toMatch(/^account /m);
    }
    // the real recording, judged as another channel's: the pattern and masks are keyed by the channel
    const other = await detect([
      file,
      '--channel',
      'other',
      '--secret-env',
      'WM_TEST_SECRET',
      '--playlist',
      playlist,
      '--candidates',
      CANDIDATES.join(','),
    ]);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/^no watermark found: /m);
  }, 180_000);

  it('refuses unusable invocations with exit 2 and a message', async () => {
    const { file } = await recording;
    const noPlaylist = await detect([
      file,
      '--channel',
      CHANNEL,
      '--secret-env',
      'WM_TEST_SECRET',
      '--playlist',
      join(scratch, 'missing.m3u8'),
    ]);
    expect(noPlaylist.code).toBe(2);
    expect(noPlaylist.err).toMatch(/needs the media playlist/);
    const noSecret = await detect([file, '--channel', CHANNEL, '--secret-env', 'NOT_SET_ANYWHERE']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.err).toMatch(/NOT_SET_ANYWHERE is unset/);
  });
});
