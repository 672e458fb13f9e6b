/**
 * The ffmpeg command line of one channel run: the SPEC §7 alignment recipe (`-copyts`, select/aselect from the
 * first boundary, `-fps_mode passthrough`, forced keyframes, no scene cuts, segment muxer cutting at every
 * keyframe with a csv list), on the epoch-locked timeline of timeline.ts, with two changes that keep nodes
 * aligned where the recipe's `gte(t,n_forced*D)` does not: the encoder counts `t` from its first frame, which
 * is the feed's first decodable keyframe when a node joins mid-GOP — so the first frame is snapped back onto
 * its boundary (setpts) — and keyframes go on the first frame of each interval rather than catching up
 * `n_forced` after a hole in the feed. Both encoders share GOP and segment settings; only decode/scale/encode
 * differ (the seed's hybrid NVENC pipeline, or libx264 on the CPU). A watermarked channel encodes twice from one
 * filter graph (watermark-filter.ts): variant A to `{runId}-a-%06d.ts` with its csv list on fd 3, variant B to
 * `{runId}-b-%06d.ts` with its list on fd 4; the NVENC pipeline brings its frames to system memory for the mark.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_WHITELIST } from './channel-request.ts';
import type { Profile } from './profiles.ts';
import {
  boundarySelectExpr,
  keyframeExpr,
  PTS_WRAP_ARG,
  snapFirstFrameExpr,
  type TimelineMap,
} from './timeline.ts';
import { markGraph, VARIANT_LABELS, type WatermarkPattern } from './watermark-filter.ts';

export type Encoder = 'nvenc' | 'libx264';

export interface RunSpec {
  input: string;
  profile: Profile;
  encoder: Encoder;
  /** node clock at spawn (ms): picks the PTS epoch, or the shift of a file input */
  nowMs: number;
  /** where ffmpeg writes unfinished segments (same filesystem as the served directory) */
  workDir: string;
  /** prefix of this run's segment files */
  runId: string;
  /** present for a watermarked channel: encode variants A and B */
  watermark?: WatermarkPattern;
}

/** fd on which the segment muxer writes its csv list (stdout carries -progress, stderr the log) */
export const SEGMENT_LIST_FD = 3;
/** fd of variant B's csv list on a watermarked channel (variant A's is SEGMENT_LIST_FD) */
export const VARIANT_B_LIST_FD = 4;

/** The csv-list fds a run writes: one, or one per variant. */
export function segmentListFds(spec: RunSpec): number[] {
  return spec.watermark ? [SEGMENT_LIST_FD, VARIANT_B_LIST_FD] : [SEGMENT_LIST_FD];
}

export function segmentPattern(spec: RunSpec, variant?: 'a' | 'b'): string {
  return join(spec.workDir, `${spec.runId}-${variant ? `${variant}-` : ''}%06d.ts`);
}

function isFile(spec: RunSpec): boolean {
  return spec.input.startsWith('file:');
}

/** How this run's timeline maps to UTC (see timeline.ts); the supervisor names segments with the same map. */
export function timelineMap(spec: RunSpec): TimelineMap {
  return isFile(spec)
    ? { kind: 'shift', seconds: spec.nowMs / 1000 }
    : { kind: 'epochs', spawnSeconds: spec.nowMs / 1000 };
}

/**
 * Input options: live inputs keep their (UTC-stamped) timestamps, one epoch up (see timeline.ts). A looped
 * file is read in real time with its own timestamps (`-re` paces by timestamps, so it cannot take the epoch
 * offset). Only the protocols of the input's own scheme may be opened.
 */
function inputArgs(spec: RunSpec): string[] {
  const url = new URL(spec.input);
  const whitelist = ['-protocol_whitelist', PROTOCOL_WHITELIST[url.protocol] ?? 'none'];
  if (isFile(spec)) return [...whitelist, '-re', '-stream_loop', '-1', '-copyts', '-i', fileURLToPath(url)];
  let input = spec.input;
  if (url.protocol === 'udp:') {
    // Survive a burst without aborting; give up (and let the supervisor restart) after 10 s without data.
    if (!url.searchParams.has('overrun_nonfatal')) url.searchParams.set('overrun_nonfatal', '1');
    if (!url.searchParams.has('timeout')) url.searchParams.set('timeout', '10000000');
    input = url.toString();
  }
  // a second of probing is plenty for a TS feed and shortens the time to the first segment
  return [...whitelist, '-analyzeduration', '1000000', '-itsoffset', PTS_WRAP_ARG, '-copyts', '-i', input];
}

/** Boundary select, first-frame snap and scaling (on the GPU for NVENC). */
function videoChain(spec: RunSpec): string {
  const p = spec.profile;
  const d = p.segmentSeconds;
  const map = timelineMap(spec);
  // select the first boundary, put the first frame on it, then keyframe every interval (see timeline.ts)
  const select = `select='${boundarySelectExpr(d, map)}',setpts='${snapFirstFrameExpr(d, map)}'`;
  return spec.encoder === 'nvenc'
    ? `${select},scale_cuda=${p.width}:${p.height}`
    : `${select},scale=${p.width}:${p.height}`;
}

/** The video encoder options of a profile (shared with origin/watermark-measure.ts). */
export function encoderArgs(spec: Pick<RunSpec, 'profile' | 'encoder'>): string[] {
  const p = spec.profile;
  const d = p.segmentSeconds;
  const rate = ['-b:v', p.videoBitrate, '-maxrate', p.videoBitrate, '-bufsize', bufsize(p.videoBitrate)];
  // A cap well above D: forced keyframes cut the segments, the encoder must not add any of its own.
  const gop = String(Math.round(2 * d * p.fps));
  const common = ['-force_key_frames', `expr:${keyframeExpr(d)}`, '-g', gop];
  if (spec.encoder === 'nvenc') {
    return [
      '-c:v',
      'h264_nvenc',
      '-preset',
      p.nvencPreset,
      ...rate,
      '-no-scenecut',
      '1',
      '-forced-idr',
      '1',
      ...common,
    ];
  }
  return [
    '-c:v',
    'libx264',
    '-preset',
    p.x264Preset,
    '-pix_fmt',
    'yuv420p',
    ...rate,
    '-sc_threshold',
    '0',
    ...common,
  ];
}

function bufsize(bitrate: string): string {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(bitrate);
  if (!m) return bitrate;
  return `${Number(m[1]) * 2}${m[2]}`;
}

/** Everything after the stream selection of one output: encoders, timing, segment muxer and csv list. */
function outputArgs(spec: RunSpec, segments: string, listFd: number): string[] {
  const d = spec.profile.segmentSeconds;
  return [
    ...encoderArgs(spec),
    '-af',
    `aselect='${boundarySelectExpr(d, timelineMap(spec))}'`,
    '-fps_mode',
    'passthrough',
    // keep the feed's exact frame times (the default encoder time base is 1/fps and would round them)
    '-enc_time_base:v',
    '1/90000',
    '-c:a',
    'aac',
    '-b:a',
    spec.profile.audioBitrate,
    '-ac',
    '2',
    '-f',
    'segment',
    '-segment_time',
    '0.01',
    '-segment_format',
    'mpegts',
    '-segment_format_options',
    'mpegts_copyts=1',
    '-segment_list',
    `pipe:${listFd}`,
    '-segment_list_type',
    'csv',
    segments,
  ];
}

export function channelArgs(spec: RunSpec): string[] {
  const hw = spec.encoder === 'nvenc' ? ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'] : [];
  const head = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-nostats',
    '-progress',
    'pipe:1',
    ...hw,
    ...inputArgs(spec),
  ];
  if (!spec.watermark) {
    return [
      ...head,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-vf',
      videoChain(spec),
      ...outputArgs(spec, segmentPattern(spec), SEGMENT_LIST_FD),
    ];
  }
  // the mark is drawn on CPU frames: NVENC's pipeline downloads them after scaling (h264_nvenc takes yuv420p)
  const toCpu = spec.encoder === 'nvenc' ? ',hwdownload,format=nv12' : '';
  const chain = `${videoChain(spec)}${toCpu},format=yuv420p`;
  const { width, height } = spec.profile;
  return [
    ...head,
    '-filter_complex',
    markGraph(chain, spec.watermark, width, height),
    ...['-map', VARIANT_LABELS.a, '-map', '0:a:0?'],
    ...outputArgs(spec, segmentPattern(spec, 'a'), SEGMENT_LIST_FD),
    ...['-map', VARIANT_LABELS.b, '-map', '0:a:0?'],
    ...outputArgs(spec, segmentPattern(spec, 'b'), VARIANT_B_LIST_FD),
  ];
}
