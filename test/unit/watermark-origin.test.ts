/**
 * The origin's half of forensic watermarking: the ffmpeg command line of a watermarked run (one decode, one
 * split, two encodes), the mark itself measured with ffmpeg's psnr filter, pairing of the two csv lists,
 * publication of both variants (same key and IV, a tagged playlist listing `{seq}.ts`), and admission through
 * the operator API (WATERMARK_SECRET required, two encodes charged).
 */
import { execFile } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelArgs, type RunSpec } from '../../origin/ffmpeg-args.ts';
import { PROFILES } from '../../origin/profiles.ts';
import { Publisher } from '../../origin/publisher.ts';
import { channelPattern, markGraph, PATTERN_GRID } from '../../origin/watermark-filter.ts';
import { VariantPairs } from '../../origin/watermark-pairs.ts';
import { deriveChannelKey, parseChannelKeySecrets, sequenceIv } from '../../src/delivery/keys.ts';
import { inProcessOrigin } from '../helpers/origin-app.ts';

const run = promisify(execFile);
const WATERMARK_SECRET = 'watermark-secret-for-tests-0123';
const [KEY_SECRET] = parseChannelKeySecrets(`v1:${'ab'.repeat(32)}`);
const pattern = await channelPattern(WATERMARK_SECRET, 'wm');

const spec: RunSpec = {
  input: 'udp://127.0.0.1:5000',
  profile: PROFILES['test-180p']!,
  encoder: 'libx264',
  nowMs: Date.UTC(2026, 0, 1),
  workDir: '/data/work/wm',
  runId: 'r3',
  watermark: pattern,
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'watermark-origin-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const argAfter = (args: string[], flag: string, nth = 0) => args.filter((_, i) => args[i - 1] === flag)[nth];

describe('a watermarked run: one decode, one split, two encodes', () => {
  it('maps the two marked streams to two segment muxers with their own csv lists', () => {
    const args = channelArgs(spec);
    expect(args).not.toContain('-vf');
    const graph = argAfter(args, '-filter_complex')!;
    expect(graph).toMatch(/^\[0:v:0\]select='.*',scale=320:180,format=yuv420p,split=2/);
    expect(graph).toContain('blend=all_mode=grainmerge[va]');
    expect(graph).toContain('blend=all_mode=grainextract[vb]');
    expect([argAfter(args, '-map', 0), argAfter(args, '-map', 2)]).toEqual(['[va]', '[vb]']);
    expect([argAfter(args, '-segment_list', 0), argAfter(args, '-segment_list', 1)]).toEqual([
      'pipe:3',
      'pipe:4',
    ]);
    expect(args.filter((a) => a.endsWith('%06d.ts'))).toEqual([
      '/data/work/wm/r3-a-%06d.ts',
      '/data/work/wm/r3-b-%06d.ts',
    ]);
    // both encodes keep the alignment recipe
    expect(args.filter((a) => a === '-force_key_frames')).toHaveLength(2);
    expect(args.filter((a) => a === 'passthrough')).toHaveLength(2);
  });

  it('NVENC brings the scaled frames to system memory for the mark', () => {
    const graph = argAfter(channelArgs({ ...spec, encoder: 'nvenc' }), '-filter_complex')!;
    expect(graph).toMatch(/scale_cuda=320:180,hwdownload,format=nv12,format=yuv420p,split=2/);
  });

  it('an unwatermarked run is unchanged: -vf, one output, one list', () => {
    const { watermark: _, ...plain } = spec;
    const args = channelArgs(plain);
    expect(args).not.toContain('-filter_complex');
    expect(args.filter((a) => a === '-segment_list')).toHaveLength(1);
    expect(args.at(-1)).toBe('/data/work/wm/r3-%06d.ts');
  });

  it('the pattern is keyed per channel', async () => {
    expect(pattern.cells).toHaveLength(PATTERN_GRID.columns * PATTERN_GRID.rows);
    const other = await channelPattern(WATERMARK_SECRET, 'news');
    expect(other.cells.filter((c, i) => c !== pattern.cells[i]).length).toBeGreaterThan(200);
  });

  it('variants A and B differ by at most 2 luma levels, chroma untouched: PSNR(A, B) ≥ 45 dB', async () => {
    // the origin's own graph on a test picture, compared frame by frame before any encoding
    const compare = async (tail: string) => {
      const graph = `${markGraph('scale=320:180,format=yuv420p', pattern, 320, 180)};[va][vb]${tail},nullsink`;
      const { stdout } = await run('ffmpeg', [
        ...['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15:duration=1'],
        ...['-filter_complex', graph, '-f', 'null', '-'],
      ]);
      return stdout;
    };
    const psnr = (await compare('psnr=stats_file=-')).trim().split('\n');
    expect(psnr).toHaveLength(15);
    for (const line of psnr) {
      expect(Number(/psnr_y:([\d.]+)/.exec(line)?.[1])).toBeGreaterThanOrEqual(45);
      expect(line).toMatch(/psnr_u:inf psnr_v:inf/);
    }
    const diff = await compare(
      'blend=all_mode=difference,signalstats,metadata=print:key=lavfi.signalstats.YMAX:file=-',
    );
    const peaks = [...diff.matchAll(/YMAX=(\d+)/g)].map((m) => Number(m[1]));
    expect(peaks).toHaveLength(15);
    expect(Math.max(...peaks)).toBe(2);
  });
});

describe('pairing the variants’ csv rows', () => {
  const row = (file: string, start: number, end: number) => ({ file, start, end });

  it('pairs rows of one interval, whichever variant comes first', () => {
    const pairs = new VariantPairs();
    expect(pairs.add('b', 7, row('r1-b-000007.ts', 10, 11)).kind).toBe('waiting');
    const done = pairs.add('a', 7, row('r1-a-000007.ts', 10, 11));
    expect(done).toEqual({
      kind: 'pair',
      a: row('r1-a-000007.ts', 10, 11),
      b: row('r1-b-000007.ts', 10, 11),
    });
  });

  it('reports twins cut at different times', () => {
    const pairs = new VariantPairs();
    pairs.add('a', 1, row('r1-a-000001.ts', 10, 11));
    expect(pairs.add('b', 1, row('r1-b-000001.ts', 10, 11.5)).kind).toBe('mismatch');
  });
});

describe('publishing a watermarked channel', () => {
  async function file(name: string, bytes: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }

  it('publishes {seq}.a.ts and {seq}.b.ts with the same key and IV, and lists {seq}.ts in a tagged playlist', async () => {
    const liveDir = join(dir, 'live', 'wm');
    const pub = new Publisher({
      channel: 'wm',
      liveDir,
      segmentSeconds: 1,
      listSize: 3,
      watermark: true,
      encryption: { secret: KEY_SECRET!, keyPeriod: 150 },
    });
    await pub.restore();
    const clear = { a: Buffer.alloc(188 * 3, 0x47), b: Buffer.alloc(188 * 3, 0x48) };
    await pub.publish({
      seq: 301,
      utcStart: 301,
      duration: 1,
      variants: { a: await file('r1-a-000001.ts', clear.a), b: await file('r1-b-000001.ts', clear.b) },
    });
    const key = await deriveChannelKey(KEY_SECRET!, 'wm', 2);
    for (const v of ['a', 'b'] as const) {
      const decipher = createDecipheriv('aes-128-cbc', key, sequenceIv(301));
      const stored = await readFile(join(liveDir, `301.${v}.ts`));
      expect(Buffer.concat([decipher.update(stored), decipher.final()])).toEqual(clear[v]);
    }
    const playlist = await readFile(join(liveDir, 'index.m3u8'), 'utf8');
    expect(playlist).toMatch(/^#EXT-X-EDGE-WATERMARK:AB$/m);
    expect(playlist).toMatch(/^301\.ts$/m);
    expect(await readdir(liveDir)).not.toContain('301.ts');
  });

  it('expires both variants, and a restart keeps only complete pairs', async () => {
    const liveDir = join(dir, 'live', 'wm');
    const opts = { channel: 'wm', liveDir, segmentSeconds: 1, listSize: 2, watermark: true };
    const pub = new Publisher(opts);
    await pub.restore();
    for (let seq = 100; seq < 110; seq++) {
      await pub.publish({
        seq,
        utcStart: seq,
        duration: 1,
        variants: {
          a: await file(`a-${seq}.ts`, Buffer.from(`a${seq}`)),
          b: await file(`b-${seq}.ts`, Buffer.from(`b${seq}`)),
        },
      });
    }
    const names = (await readdir(liveDir)).filter((n) => n.endsWith('.ts')).sort();
    expect(names).toEqual([103, 104, 105, 106, 107, 108, 109].flatMap((s) => [`${s}.a.ts`, `${s}.b.ts`]));
    await rm(join(liveDir, '109.b.ts'));
    await writeFile(join(liveDir, '200.a.ts'), 'stray');
    const again = new Publisher(opts);
    await again.restore();
    const kept = (await readdir(liveDir)).filter((n) => n.endsWith('.ts')).sort();
    // the playlist listed 108 and 109; 109 lost a variant, so only 108 is still served
    expect(kept).toEqual(['108.a.ts', '108.b.ts']);
    expect(again.lastSequence).toBe(109);
  });
});

describe('operator API: watermarked channels', () => {
  function build(env: Record<string, string>) {
    const { app } = inProcessOrigin({
      OPERATOR_API_KEY: 'operator-key-0123456789',
      DATA_DIR: dir,
      CPU_CAPACITY: '0.125',
      ...env,
    });
    return (path: string, body?: unknown) =>
      app.request(path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: 'Bearer operator-key-0123456789', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
  }
  const channel = (id: string) => ({
    id,
    input: 'udp://127.0.0.1:5000',
    profile: 'test-180p',
    watermark: true,
  });

  it('needs WATERMARK_SECRET on the node', async () => {
    const res = await build({})('/v1/channels', channel('wm'));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request', field: 'watermark' });
  });

  it('charges two encodes: one watermarked test-180p channel fits where two plain ones would', async () => {
    const api = build({ WATERMARK_SECRET });
    const first = await api('/v1/channels', channel('wm1'));
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ id: 'wm1', watermark: true });
    const second = await api('/v1/channels', channel('wm2'));
    expect(second.status).toBe(409);
    expect((await second.json()).capacity).toMatchObject({ used: 0.8, requested: 0.8 });
    const capacity = await (await api('/v1/capacity')).json();
    expect(capacity.profiles['test-180p']).toMatchObject({ maxChannels: 2, maxWatermarkedChannels: 1 });
  });
});
