/** Flags of `npm run stress`, validated up front: every refusal names the flag (exit 2). */
import { join, resolve } from 'node:path';
import type { EncoderChoice } from '../config.ts';
import { findProfile, PROFILES, type Profile } from '../profiles.ts';
import { numberFlag, parseFlags, UsageError, urlFlag } from './args.ts';

export const STRESS_USAGE = `usage: npm run stress -- [--streams 30] [--interval 2] [--all-at-once] [--seconds 20]
  [--profile sports-1080p] [--via ffmpeg|api] [--encoder auto|nvenc|libx264]
  [--node URL] [--key KEY] [--input URL] [--udp-base PORT] [--start-timeout 15] [--out DIR] [--json]
  --via ffmpeg   ffmpeg processes on this host with the origin's command line (default)
  --via api      channels on --node through its operator API (key: --key or OPERATOR_API_KEY)
  --seconds      how long every stream keeps encoding after the last one produced its first frame
  --input        one input every stream can read at once (multicast UDP, SRT, HTTP); default: a contribution
                 feed this run starts, one UDP port per stream (--udp-base for a node on another host)
profiles: ${Object.keys(PROFILES).join(', ')}
Exit status: 0 every stream started, 1 a start failure, 2 bad usage, 130 interrupted.`;

const FLAGS = {
  streams: { type: 'string' },
  interval: { type: 'string' },
  'all-at-once': { type: 'boolean' },
  seconds: { type: 'string' },
  profile: { type: 'string' },
  via: { type: 'string' },
  encoder: { type: 'string' },
  node: { type: 'string' },
  key: { type: 'string' },
  input: { type: 'string' },
  'udp-base': { type: 'string' },
  'start-timeout': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** what an origin channel may read (SPEC §7); looped files are for the node's own tests */
const NETWORK_INPUTS = ['udp:', 'srt:', 'rtmp:', 'rtmps:', 'http:', 'https:'];

export interface StressOptions {
  streams: number;
  intervalS: number;
  allAtOnce: boolean;
  holdS: number;
  profile: Profile;
  via: 'ffmpeg' | 'api';
  encoder: EncoderChoice;
  node?: string;
  apiKey?: string;
  input?: string;
  udpBase?: number;
  startTimeoutS: number;
  outDir: string;
  json: boolean;
}

export function parseStressArgs(
  argv: string[],
  env: Record<string, string | undefined>,
  now = new Date(),
): StressOptions | 'help' {
  const v = parseFlags(argv, FLAGS);
  if (v.help) return 'help';
  const via = v.via ?? 'ffmpeg';
  if (via !== 'ffmpeg' && via !== 'api') throw new UsageError(`--via: "${via}" is not ffmpeg or api`);
  const profile = findProfile(v.profile ?? 'sports-1080p');
  if (!profile) {
    throw new UsageError(
      `--profile: no profile "${v.profile}" (profiles: ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  const encoder = v.encoder ?? env.ENCODER ?? 'auto';
  if (!['auto', 'nvenc', 'libx264'].includes(encoder)) {
    throw new UsageError(`--encoder: "${encoder}" is not one of auto, nvenc, libx264`);
  }
  if (via === 'ffmpeg') {
    for (const flag of ['node', 'key', 'udp-base'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag}: only with --via api`);
    }
  } else if (v.encoder !== undefined) {
    throw new UsageError('--encoder: with --via api the node chooses its encoder');
  }
  const o: StressOptions = {
    streams:
      v.streams === undefined ? 30 : numberFlag('streams', v.streams, { min: 1, max: 500, integer: true }),
    intervalS: v.interval === undefined ? 2 : numberFlag('interval', v.interval, { min: 0, max: 120 }),
    allAtOnce: v['all-at-once'] ?? false,
    holdS: v.seconds === undefined ? 20 : numberFlag('seconds', v.seconds, { min: 1, max: 86_400 }),
    profile,
    via,
    encoder: encoder as EncoderChoice,
    startTimeoutS:
      v['start-timeout'] === undefined
        ? 15
        : numberFlag('start-timeout', v['start-timeout'], { min: 1, max: 600 }),
    outDir: resolve(v.out ?? join('data', 'stress', now.toISOString().replace(/[:.]/g, '-'))),
    json: v.json ?? false,
  };
  if (v.input !== undefined) o.input = urlFlag('input', v.input, NETWORK_INPUTS);
  if (via === 'api') {
    if (v.node === undefined) throw new UsageError("--node: required with --via api (the node's base URL)");
    o.node = urlFlag('node', v.node, ['http:', 'https:']);
    o.apiKey = v.key ?? env.OPERATOR_API_KEY;
    if (!o.apiKey) throw new UsageError('--key: required with --via api (or set OPERATOR_API_KEY)');
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(o.node).hostname);
    if (v['udp-base'] !== undefined) {
      o.udpBase = numberFlag('udp-base', v['udp-base'], { min: 1024, max: 65535 - o.streams, integer: true });
    } else if (!local && o.input === undefined) {
      throw new UsageError('--udp-base: needed for a node on another host (or give --input)');
    }
  }
  return o;
}
