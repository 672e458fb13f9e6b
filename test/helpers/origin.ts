/**
 * Real origin nodes and a real contribution feed for integration and end-to-end tests: `startFeed` runs the
 * contribution sender's ffmpeg (one encode, tee'd to a UDP port per node), `startOriginNode` runs
 * `origin/main.ts` as its own process on an ephemeral loopback port with its own data directory, and the
 * remaining helpers read what a node publishes (playlists, decrypted segments, ffprobe timing).
 */
import { execFile } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ContributionOptions, contributionArgs } from '../../origin/contribution.ts';
import { deriveChannelKey, parseChannelKeySecrets, sequenceIv } from '../../src/delivery/keys.ts';
import { freePort, freeUdpPort, waitFor } from './net.ts';
import { type Proc, start } from './process.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** 32 bytes 0x00–0x1f, the SPEC §6 test-vector secret. */
export const TEST_KEY_SECRET = `v1:${Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}`;
export const TEST_API_KEY = 'test-operator-key-0123456789';

/** A temporary directory anyone can read (nginx workers run as `nobody` when a test runs as root). */
export async function makeDataDir(prefix = 'origin-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

export interface Feed {
  proc: Proc;
  /** UDP ports the feed is sent to, one per node */
  ports: number[];
  stop(): Promise<void>;
}

/** Starts the contribution feed (tiny by default) towards `count` fresh UDP ports on loopback. */
export async function startFeed(
  opts: { count?: number; ports?: number[] } & Omit<ContributionOptions, 'targets'> = {},
): Promise<Feed> {
  const ports =
    opts.ports ?? (await Promise.all(Array.from({ length: opts.count ?? 1 }, () => freeUdpPort())));
  const proc = start('ffmpeg', contributionArgs({ ...opts, targets: ports.map((p) => `127.0.0.1:${p}`) }));
  return { proc, ports, stop: () => proc.stop(3_000) };
}

export interface OriginNode {
  url: string;
  port: number;
  nodeId: string;
  dataDir: string;
  proc: Proc;
  /** SIGTERM and wait (channels are stopped gracefully, definitions stay) */
  stop(): Promise<void>;
  /** SIGKILL: the node dies without cleaning up (its ffmpeg children get no signal from it) */
  kill(): Promise<void>;
  /** starts the node again on the same port and data directory */
  restart(): Promise<void>;
  /** operator API call with the node's key */
  api(path: string, init?: RequestInit): Promise<Response>;
}

export interface OriginNodeOptions {
  nodeId?: string;
  dataDir?: string;
  /** extra environment (e.g. START_INTERVAL, CPU_CAPACITY, ORIGIN_SECRET) */
  env?: Record<string, string>;
}

export async function startOriginNode(opts: OriginNodeOptions = {}): Promise<OriginNode> {
  const port = await freePort();
  const dataDir = opts.dataDir ?? (await makeDataDir());
  const nodeId = opts.nodeId ?? `node-${port}`;
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ID: nodeId,
    DATA_DIR: dataDir,
    OPERATOR_API_KEY: TEST_API_KEY,
    CHANNEL_KEY_SECRET: TEST_KEY_SECRET,
    ENCODER: 'auto',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const proc = start('node', [join(ROOT, 'origin/main.ts')], { env, cwd: ROOT });
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`origin ${nodeId} exited:\n${proc.output()}`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 30_000, what: `origin ${nodeId} ready` },
    );
    return proc;
  };
  const node: OriginNode = {
    url,
    port,
    nodeId,
    dataDir,
    proc: await launch(),
    stop: () => node.proc.stop(10_000),
    kill: () => node.proc.kill('SIGKILL'),
    restart: async () => {
      node.proc = await launch();
    },
    api: (path, init = {}) =>
      fetch(`${url}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${TEST_API_KEY}`,
          'content-type': 'application/json',
          ...init.headers,
        },
      }),
  };
  return node;
}

/** ffmpeg processes whose command line names this data directory (a node's channel runs). */
export async function ffmpegPids(dataDir: string): Promise<number[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(ffmpeg .*)$/.exec(l))
    .filter((m) => m?.[2]?.includes(`${dataDir}/`))
    .map((m) => Number(m![1]));
}

/** Kills whatever ffmpeg a SIGKILLed node left behind. */
export async function killOrphans(dataDir: string): Promise<void> {
  for (const pid of await ffmpegPids(dataDir)) process.kill(pid, 'SIGKILL');
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}

// biome-ignore lint/suspicious/noExplicitAny: the operator API's JSON, read loosely by tests
export type Json = any;

export async function channelState(node: OriginNode, id: string): Promise<Json> {
  const res = await node.api(`/v1/channels/${id}`);
  if (!res.ok) throw new Error(`GET /v1/channels/${id}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface PlaylistSegment {
  seq: number;
  duration: number;
  gap: boolean;
  keyLine?: string;
}

/** Sequence numbers (and EXTINF) listed in a media playlist, MEDIA-SEQUENCE checked against positions. */
export function playlistSegments(text: string): PlaylistSegment[] {
  const out: PlaylistSegment[] = [];
  let duration = Number.NaN;
  let gap = false;
  let keyLine: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line === '#EXT-X-GAP') gap = true;
    else if (line.startsWith('#EXT-X-KEY:')) keyLine = line;
    else if (/^\d+\.ts$/.test(line)) {
      out.push({ seq: Number.parseInt(line, 10), duration, gap, ...(keyLine ? { keyLine } : {}) });
      gap = false;
    }
  }
  const msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
  out.forEach((s, i) => {
    if (s.seq !== msn + i) throw new Error(`segment ${s.seq} sits at media sequence ${msn + i}`);
  });
  return out;
}

/** Anything serving the origin layout: a node, or nginx on its data directory; headers e.g. X-Origin-Secret. */
export interface HlsSource {
  url: string;
  headers?: Record<string, string>;
}

export async function fetchPlaylist(source: HlsSource, channel: string) {
  const res = await fetch(`${source.url}/live/${channel}/index.m3u8`, { headers: source.headers ?? {} });
  return res.ok ? res.text() : undefined;
}

/** Waits until the node lists at least `count` segments of the channel; returns the playlist text. */
export function waitForSegments(source: HlsSource, channel: string, count: number, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const text = await fetchPlaylist(source, channel);
      return text && playlistSegments(text).filter((s) => !s.gap).length >= count ? text : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `${count} segments of ${channel}` },
  );
}

export async function fetchSegment(
  source: HlsSource,
  channel: string,
  seq: number,
): Promise<Buffer | undefined> {
  const res = await fetch(`${source.url}/live/${channel}/${seq}.ts`, { headers: source.headers ?? {} });
  return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
}

/** AES-128-CBC decryption with the SPEC §6 derived key and sequence IV. */
export async function decryptSegment(
  data: Uint8Array,
  channel: string,
  seq: number,
  opts: { secret?: string; keyPeriod?: number } = {},
): Promise<Buffer> {
  const [secret] = parseChannelKeySecrets(opts.secret ?? TEST_KEY_SECRET);
  const key = await deriveChannelKey(secret!, channel, Math.floor(seq / (opts.keyPeriod ?? 150)));
  const decipher = createDecipheriv('aes-128-cbc', key, sequenceIv(seq));
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

export interface SegmentTiming {
  /** 90 kHz ticks of the first video / audio packet */
  firstVideoPts: number;
  firstAudioPts: number | undefined;
  videoFrames: number;
  /** first to last video PTS plus one frame interval, in 90 kHz ticks (TS packets carry no duration) */
  videoDuration: number;
}

/** ffprobe's view of one MPEG-TS segment (throws if it is not valid TS with video). */
export async function probeSegment(data: Uint8Array, scratchDir: string): Promise<SegmentTiming> {
  const file = join(scratchDir, `probe-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  await writeFile(file, data);
  try {
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-f', 'mpegts', '-show_entries', 'packet=codec_type,pts'],
      ...['-of', 'csv=p=0', file],
    ]);
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const video = rows.filter((r) => r[0] === 'video');
    const audio = rows.filter((r) => r[0] === 'audio');
    if (video.length === 0) throw new Error('no video packets');
    const pts = video.map((r) => Number(r[1]));
    const [first, last] = [Math.min(...pts), Math.max(...pts)];
    const frameTicks = pts.length > 1 ? (last - first) / (pts.length - 1) : 0;
    return {
      firstVideoPts: first,
      firstAudioPts: audio.length ? Math.min(...audio.map((r) => Number(r[1]))) : undefined,
      videoFrames: video.length,
      videoDuration: Math.round(last - first + frameTicks),
    };
  } finally {
    await rm(file, { force: true });
  }
}
