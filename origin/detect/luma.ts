/**
 * What the detector reads from video: ffmpeg decodes to grey frames at a small analysis size (area
 * averaging, so any recording resolution lands on the same grid and the low-frequency mark keeps its
 * shape), and each segment's frames are averaged into one picture. The mark is constant over a segment, so
 * averaging keeps all of it while moving content and coding noise average down.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { channelPattern, DRAW_SCALE, patternSource } from '../watermark-filter.ts';

export const ANALYSIS = { width: 64, height: 36 } as const;
export const ANALYSIS_PIXELS = ANALYSIS.width * ANALYSIS.height;

const TO_ANALYSIS = `scale=${ANALYSIS.width}:${ANALYSIS.height}:flags=area,format=gray`;

/** Sum of a segment's frames (divide by `frames` for the mean). */
export interface FrameSum {
  sum: Float64Array;
  frames: number;
}

/** Raw grey frames from ffmpeg's stdout, one callback per complete frame. */
function eachFrame(stdout: Readable, onFrame: (frame: Uint8Array, index: number) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  stdout.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (pending.length - at >= ANALYSIS_PIXELS) {
      onFrame(pending.subarray(at, at + ANALYSIS_PIXELS), index++);
      at += ANALYSIS_PIXELS;
    }
    pending = pending.subarray(at);
  });
}

function add(into: FrameSum, frame: Uint8Array): void {
  for (let i = 0; i < ANALYSIS_PIXELS; i++) into.sum[i]! += frame[i]!;
  into.frames++;
}

function decode(
  args: string[],
  onFrame: (frame: Uint8Array, index: number) => void,
  onLog?: (line: string) => void,
) {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  eachFrame(child.stdout, onFrame);
  let tail = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    const lines = (tail + d).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) onLog?.(line);
  });
  return new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    // a damaged or truncated file still yields the frames before the damage; the exit code is not the verdict
    child.once('close', () => resolve());
  });
}

/** All frames of one segment file, summed; no frames at all (not video, empty, unreadable) gives undefined. */
export async function segmentSum(file: string): Promise<FrameSum | undefined> {
  const acc: FrameSum = { sum: new Float64Array(ANALYSIS_PIXELS), frames: 0 };
  await decode(['-v', 'error', '-i', file, '-map', '0:v:0', '-vf', TO_ANALYSIS, '-f', 'rawvideo', '-'], (f) =>
    add(acc, f),
  );
  return acc.frames > 0 ? acc : undefined;
}

/**
 * A continuous recording cut into segments of `segmentSeconds` from its first frame (an HLS recording
 * starts on a segment boundary): frame times come from `showinfo`, paired with the frames by their order.
 */
export async function recordingSums(file: string, segmentSeconds: number): Promise<Map<number, FrameSum>> {
  const times: number[] = [];
  const frames: Uint8Array[] = [];
  const sums = new Map<number, FrameSum>();
  let first: number | undefined;
  const drain = () => {
    while (times.length && frames.length) {
      const t = times.shift()!;
      const frame = frames.shift()!;
      first ??= t;
      const index = Math.floor((t - first) / segmentSeconds + 1e-6);
      let acc = sums.get(index);
      if (!acc) {
        acc = { sum: new Float64Array(ANALYSIS_PIXELS), frames: 0 };
        sums.set(index, acc);
      }
      add(acc, frame);
    }
  };
  await decode(
    [
      ...['-v', 'info', '-i', file, '-map', '0:v:0', '-vf', `${TO_ANALYSIS},showinfo`],
      ...['-fps_mode', 'passthrough', '-f', 'rawvideo', '-'],
    ],
    (frame) => {
      frames.push(Uint8Array.from(frame));
      drain();
    },
    (line) => {
      const t = /\bpts_time:\s*(-?[\d.]+)/.exec(line)?.[1];
      if (t === undefined || !line.includes('showinfo')) return;
      times.push(Number(t));
      drain();
    },
  );
  return sums;
}

/**
 * The channel's relief as the origin draws it (before rounding), at analysis size, zero mean, in units of
 * its peak: a correlation with it reads as the mark's amplitude in luma levels. The relief is a bicubic
 * upscale of a coarse grid, so the size it is drawn at before area averaging hardly matters.
 */
export async function template(secret: string, channel: string): Promise<Float64Array> {
  const source = patternSource(await channelPattern(secret, channel), 320, 180);
  const frame = new Float64Array(ANALYSIS_PIXELS);
  let got = false;
  await decode(
    [
      ...['-v', 'error', '-f', 'lavfi', '-i', source],
      ...['-vf', TO_ANALYSIS, '-frames:v', '1', '-f', 'rawvideo', '-'],
    ],
    (f) => {
      f.forEach((v, i) => {
        frame[i] = v;
      });
      got = true;
    },
  );
  if (!got) throw new Error('ffmpeg could not draw the watermark pattern');
  const mean = frame.reduce((a, v) => a + v, 0) / ANALYSIS_PIXELS;
  return frame.map((v) => (v - mean) / DRAW_SCALE);
}
