/**
 * Measures what the forensic mark costs on this machine, for one profile, with the origin's own filter graph
 * and encoder settings (faster than real time, on a deterministic test picture or a file):
 * - visibility: PSNR between variants A and B before encoding (the mark itself) and after encoding (what
 *   a viewer can compare, codec noise included), and each encode against the source next to a plain encode;
 * - cost: CPU seconds (user + system, ffmpeg `-benchmark`) of the A/B encode against a plain encode.
 *
 *   node origin/watermark-measure.ts [--profile test-180p] [--seconds 60] [--input file] [--encoder libx264]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { Encoder } from './ffmpeg-args.ts';
import { encoderArgs } from './ffmpeg-args.ts';
import { findProfile, type Profile } from './profiles.ts';
import { channelPattern, markGraph } from './watermark-filter.ts';

const run = promisify(execFile);

export interface MarkMeasurement {
  profile: string;
  seconds: number;
  /** PSNR per plane and over all planes between A and B before encoding */
  markPsnr: Psnr;
  /** the same between the encoded variants (chroma carries no mark: its figure is the codec's divergence) */
  encodedPsnr: Psnr;
  /** luma PSNR of each encode against the source */
  vsSource: { plain: number; a: number; b: number };
  /** CPU seconds per second of video */
  cpu: { plain: number; ab: number };
}

export interface Psnr {
  y: number;
  u: number;
  v: number;
  average: number;
}

function psnrOf(stderr: string): Psnr {
  const m = /PSNR y:([\d.]+|inf) u:([\d.]+|inf) v:([\d.]+|inf) average:([\d.]+|inf)/.exec(stderr);
  if (!m) throw new Error(`no PSNR in ffmpeg output: ${stderr.slice(-300)}`);
  const n = (v: string | undefined) => (v === 'inf' ? Number.POSITIVE_INFINITY : Number(v));
  return { y: n(m[1]), u: n(m[2]), v: n(m[3]), average: n(m[4]) };
}

function cpuOf(stderr: string): number {
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
  if (!m) throw new Error(`no -benchmark line in ffmpeg output: ${stderr.slice(-300)}`);
  return Number(m[1]) + Number(m[2]);
}

async function ffmpeg(args: string[]): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-y', ...args], { maxBuffer: 1 << 26 });
  return stderr;
}

export async function measureMark(opts: {
  profile: Profile;
  seconds: number;
  encoder: Encoder;
  input?: string;
}): Promise<MarkMeasurement> {
  const p = opts.profile;
  const dir = await mkdtemp(join(tmpdir(), 'watermark-measure-'));
  const source = opts.input
    ? ['-t', String(opts.seconds), '-i', opts.input]
    : ['-f', 'lavfi', '-i', `testsrc2=size=${p.width}x${p.height}:rate=${p.fps}:duration=${opts.seconds}`];
  const chain = `scale=${p.width}:${p.height},format=yuv420p`;
  const graph = markGraph(
    chain,
    await channelPattern('watermark-measure-secret', 'measure'),
    p.width,
    p.height,
  );
  const enc = encoderArgs({ profile: p, encoder: opts.encoder });
  const out = (name: string) => ['-an', ...enc, '-f', 'mpegts', join(dir, name)];
  try {
    const plainCpu = cpuOf(await ffmpeg(['-benchmark', ...source, '-vf', chain, ...out('plain.ts')]));
    const abCpu = cpuOf(
      await ffmpeg([
        '-benchmark',
        ...source,
        '-filter_complex',
        graph,
        '-map',
        '[va]',
        ...out('a.ts'),
        '-map',
        '[vb]',
        ...out('b.ts'),
      ]),
    );
    const markPsnr = psnrOf(
      await ffmpeg([...source, '-filter_complex', `${graph};[va][vb]psnr`, '-f', 'null', '-']),
    );
    const pair = (x: string, y: string[]) =>
      ffmpeg(['-i', join(dir, x), ...y, '-lavfi', `[0:v][1:v]psnr`, '-f', 'null', '-']).then(psnrOf);
    const encodedPsnr = await pair('a.ts', ['-i', join(dir, 'b.ts')]);
    const vsSource = {
      plain: (await pair('plain.ts', source)).y,
      a: (await pair('a.ts', source)).y,
      b: (await pair('b.ts', source)).y,
    };
    return {
      profile: p.id,
      seconds: opts.seconds,
      markPsnr,
      encodedPsnr,
      vsSource,
      cpu: { plain: plainCpu / opts.seconds, ab: abCpu / opts.seconds },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'test-180p' },
      seconds: { type: 'string', default: '60' },
      input: { type: 'string' },
      encoder: { type: 'string', default: 'libx264' },
    },
  });
  const profile = findProfile(values.profile);
  const seconds = Number(values.seconds);
  if (!profile || !(seconds > 0) || (values.encoder !== 'libx264' && values.encoder !== 'nvenc')) {
    console.error(
      'usage: node origin/watermark-measure.ts [--profile ID] [--seconds N] [--input file] [--encoder libx264|nvenc]',
    );
    process.exit(2);
  }
  const m = await measureMark({
    profile,
    seconds,
    encoder: values.encoder,
    ...(values.input ? { input: values.input } : {}),
  });
  const db = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} dB` : 'inf');
  console.log(`profile ${m.profile}, ${m.seconds} s of ${values.input ?? 'testsrc2'}, ${values.encoder}`);
  const planes = (p: Psnr) => `Y ${db(p.y)}, U ${db(p.u)}, V ${db(p.v)}, all planes ${db(p.average)}`;
  console.log(`PSNR A vs B, the mark alone (before encoding): ${planes(m.markPsnr)}`);
  console.log(`PSNR A vs B, encoded variants:                 ${planes(m.encodedPsnr)}`);
  console.log(
    `PSNR Y vs source: plain encode ${db(m.vsSource.plain)}, variant A ${db(m.vsSource.a)}, variant B ${db(m.vsSource.b)}`,
  );
  console.log(
    `CPU per second of video: plain ${m.cpu.plain.toFixed(3)} s, A/B ${m.cpu.ab.toFixed(3)} s (×${(m.cpu.ab / m.cpu.plain).toFixed(2)})`,
  );
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(`watermark-measure failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
