/**
 * Encoder probe at boot (SPEC §7). NVENC is used only when this ffmpeg lists `h264_nvenc` AND a real tiny
 * encode through the production pipeline (`-hwaccel cuda -hwaccel_output_format cuda`, `scale_cuda`,
 * `h264_nvenc`) succeeds; otherwise libx264 with the same GOP and segment settings, and the reason is kept
 * so the API and logs say why. NVENC is never assumed.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findGpuModel, GPU_MODELS } from './capacity.ts';
import type { EncoderChoice } from './config.ts';
import type { Encoder } from './ffmpeg-args.ts';

const run = promisify(execFile);

export interface ProbeResult {
  encoder: Encoder;
  ffmpegVersion: string;
  nvenc: { usable: boolean; reason: string };
  /** capacity table row (GPU_MODEL, else what nvidia-smi reports) when NVENC is used */
  gpuModel: string | undefined;
}

interface Failure {
  ok: false;
  why: string;
}
type Outcome = { ok: true; out: string } | Failure;

async function tryRun(cmd: string, args: string[], timeoutMs = 20_000): Promise<Outcome> {
  try {
    const { stdout } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 });
    return { ok: true, out: stdout };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') return { ok: false, why: `${cmd} not found` };
    if (e.killed) return { ok: false, why: `${cmd} timed out` };
    // drop ffmpeg's "[h264 @ 0x55…]" context prefixes: they carry addresses, not information
    const lines = (e.stderr ?? '')
      .replace(/\[[^\]]* @ 0x[0-9a-f]+\] /g, '')
      .trim()
      .split('\n')
      .filter(Boolean);
    return { ok: false, why: lines.slice(-2).join(' / ') || e.message };
  }
}

/** Runs the production NVENC pipeline on a one-second clip. */
async function nvencEncodes(ffmpeg: string, dir: string): Promise<Outcome> {
  await mkdir(dir, { recursive: true });
  const clip = join(dir, 'probe-input.ts');
  try {
    const made = await tryRun(ffmpeg, [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15'],
      ...['-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip],
    ]);
    if (!made.ok) return { ok: false, why: `could not make the probe clip: ${made.why}` };
    return await tryRun(ffmpeg, [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-hwaccel',
        'cuda',
        '-hwaccel_output_format',
        'cuda',
        '-i',
        clip,
      ],
      ...[
        '-vf',
        'scale_cuda=256:144',
        '-c:v',
        'h264_nvenc',
        '-preset',
        'p5',
        '-frames:v',
        '5',
        '-f',
        'null',
        '-',
      ],
    ]);
  } finally {
    await rm(clip, { force: true });
  }
}

export async function probeEncoder(opts: {
  choice: EncoderChoice;
  gpuModel: string | undefined;
  /** scratch directory for the probe clip */
  workDir: string;
  ffmpeg?: string;
}): Promise<ProbeResult> {
  const ffmpeg = opts.ffmpeg ?? 'ffmpeg';
  const version = await tryRun(ffmpeg, ['-hide_banner', '-version']);
  if (!version.ok) throw new Error(`ffmpeg is not usable: ${version.why}`);
  const ffmpegVersion = version.out.split('\n')[0]?.trim() ?? 'unknown';
  const cpu = (reason: string): ProbeResult => ({
    encoder: 'libx264',
    ffmpegVersion,
    nvenc: { usable: false, reason },
    gpuModel: undefined,
  });
  if (opts.choice === 'libx264') return cpu('not probed: ENCODER=libx264');

  const reasons: string[] = [];
  const encoders = await tryRun(ffmpeg, ['-hide_banner', '-encoders']);
  const listed = encoders.ok && /\sh264_nvenc\s/.test(encoders.out);
  if (!listed) reasons.push('h264_nvenc is not in this ffmpeg build');
  const smi = await tryRun('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
  if (!smi.ok) reasons.push(`no GPU visible (${smi.why})`);
  const encode = listed ? await nvencEncodes(ffmpeg, opts.workDir) : undefined;
  if (encode && !encode.ok) reasons.push(`test encode failed: ${encode.why}`);

  if (!encode?.ok) {
    const reason = reasons.join('; ');
    if (opts.choice === 'nvenc') throw new Error(`ENCODER=nvenc but NVENC is not usable: ${reason}`);
    return cpu(reason);
  }
  const reported = smi.ok ? smi.out.split('\n')[0]?.trim() : undefined;
  const gpuModel = opts.gpuModel ?? (reported ? findGpuModel(reported)?.model : undefined);
  if (!gpuModel) {
    throw new Error(
      `NVENC works on "${reported ?? 'an unknown GPU'}" but there are no capacity figures for it: set GPU_MODEL to one of ${Object.keys(GPU_MODELS).join(', ')}`,
    );
  }
  return {
    encoder: 'nvenc',
    ffmpegVersion,
    nvenc: { usable: true, reason: 'test encode succeeded' },
    gpuModel,
  };
}
