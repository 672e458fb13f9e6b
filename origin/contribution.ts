/**
 * Contribution sender: one ffmpeg that makes a test feed (moving pattern with a UTC clock, and a tone),
 * stamps its PTS from UTC (PTS = UTC × 90 kHz mod 2^33, SPEC §7; the encoder keeps frames on its 1/fps grid, so
 * a stamp is UTC to within a frame) and copies the one encode to a UDP port per origin node with the tee
 * muxer, so every node receives identical timestamps.
 *
 *   node origin/contribution.ts --udp 127.0.0.1:5000,127.0.0.1:5001 [--size 320x180] [--fps 15]
 *     [--bitrate 300k] [--seconds-before-wrap 30]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { feedSecondsOfUtc, PTS_WRAP_SECONDS } from './timeline.ts';

export interface ContributionOptions {
  /** `host:port` of each node's UDP input */
  targets: string[];
  width?: number;
  height?: number;
  fps?: number;
  videoBitrate?: string;
  /**
   * Milliseconds added to the sender's clock. Tests use it to start the feed just below a PTS wrap; nodes
   * still unwrap with their own clock, which only has to be within half an epoch (13 h) of the sender's.
   */
  clockOffsetMs?: number;
  nowMs?: number;
  ffmpeg?: string;
}

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/** The clock offset that makes a feed started now begin `seconds` before the nearest PTS wrap. */
export function clockOffsetBeforeWrap(seconds: number, nowMs = Date.now()): number {
  const wrapMs = PTS_WRAP_SECONDS * 1000;
  const nearestWrap = Math.round(nowMs / wrapMs) * wrapMs;
  return nearestWrap - seconds * 1000 - nowMs;
}

const TARGET_RE = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function contributionArgs(opts: ContributionOptions): string[] {
  if (opts.targets.length === 0) throw new Error('at least one UDP target is needed');
  for (const t of opts.targets) if (!TARGET_RE.test(t)) throw new Error(`bad UDP target "${t}" (host:port)`);
  const w = opts.width ?? 320;
  const h = opts.height ?? 180;
  const fps = opts.fps ?? 15;
  const utcMs = (opts.nowMs ?? Date.now()) + (opts.clockOffsetMs ?? 0);
  const clock = `%{pts\\:gmtime\\:${Math.floor(utcMs / 1000)}\\:%H\\\\\\:%M\\\\\\:%S} UTC`;
  const size = Math.max(12, Math.round(h / 10));
  const draw = existsSync(FONT)
    ? [
        '-vf',
        `drawtext=fontfile=${FONT}:text='${clock}':x=8:y=h-th-8:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6`,
      ]
    : [];
  const slaves = opts.targets
    .map((t) => `[f=mpegts:mpegts_copyts=1:onfail=ignore]udp://${t}?pkt_size=1316`)
    .join('|');
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${w}x${h}:rate=${fps}`,
    '-re',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    ...draw,
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(fps),
    '-b:v',
    opts.videoBitrate ?? '300k',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    // PTS = UTC mod 2^33 at 90 kHz; mpegts_copyts keeps the muxer from adding its own start delay
    '-output_ts_offset',
    feedSecondsOfUtc(utcMs).toFixed(6),
    '-f',
    'tee',
    slaves,
  ];
}

export function startContribution(opts: ContributionOptions): ChildProcess {
  return spawn(opts.ffmpeg ?? 'ffmpeg', contributionArgs(opts), { stdio: ['ignore', 'inherit', 'inherit'] });
}

function main(): void {
  const { values } = parseArgs({
    options: {
      udp: { type: 'string' },
      size: { type: 'string', default: '320x180' },
      fps: { type: 'string', default: '15' },
      bitrate: { type: 'string', default: '300k' },
      'seconds-before-wrap': { type: 'string' },
    },
  });
  const size = /^(\d+)x(\d+)$/.exec(values.size);
  const fps = Number(values.fps);
  if (!values.udp || !size || !(fps > 0 && fps <= 120)) {
    console.error('usage: node origin/contribution.ts --udp host:port[,host:port] [--size WxH] [--fps N]');
    process.exit(2);
  }
  const beforeWrap = values['seconds-before-wrap'];
  const child = startContribution({
    targets: values.udp.split(','),
    width: Number(size[1]),
    height: Number(size[2]),
    fps,
    videoBitrate: values.bitrate,
    clockOffsetMs: beforeWrap === undefined ? 0 : clockOffsetBeforeWrap(Number(beforeWrap)),
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill('SIGTERM'));
  child.on('exit', (code) => process.exit(code ?? 0));
}

if (import.meta.main) main();
