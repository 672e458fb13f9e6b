/**
 * The two shapes of recording the detector takes:
 * - an HLS capture directory: segments saved under their sequence numbers (`{seq}.ts`), as a player or a
 *   crawler fetched them through the gateway;
 * - one continuous file recorded from the gateway's stream (e.g. `ffmpeg -i '<playlist?token>' -c copy
 *   rec.ts`, re-encoded or not), with the media playlist saved when the recording started. The recording
 *   starts on a segment boundary, segments last the playlist's duration, and its first segment is one of
 *   those around the playlist's window: every such alignment is tried (and paid for in the confidence).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export type Recording =
  | { kind: 'segments'; path: string; segments: { seq: number; file: string }[] }
  | {
      kind: 'file';
      path: string;
      playlist: string;
      segmentSeconds: number;
      /** sequence numbers the first segment may have */
      bases: number[];
    };

/** The input cannot be used as asked (exit 2). */
export class UsageError extends Error {}

/** The input holds nothing to judge: reported as "no watermark found" with this reason. */
export class NothingToJudge extends Error {}

const SEGMENT_RE = /^(\d{1,15})\.ts$/;

export async function openRecording(path: string, playlist?: string): Promise<Recording> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`${path}: no such file or directory`);
  if (info.isDirectory()) {
    const segments = (await readdir(path))
      .map((name) => ({ name, seq: SEGMENT_RE.exec(name)?.[1] }))
      .filter((e): e is { name: string; seq: string } => e.seq !== undefined)
      .map((e) => ({ seq: Number(e.seq), file: join(path, e.name) }))
      .sort((a, b) => a.seq - b.seq);
    if (segments.length === 0) throw new NothingToJudge(`no segments named {seq}.ts in ${path}`);
    return { kind: 'segments', path, segments };
  }
  if (info.size === 0) throw new NothingToJudge(`${path} is empty`);
  const playlistPath = playlist ?? path.replace(/\.[^./]*$/, '') + '.m3u8';
  const text = await readFile(playlistPath, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new UsageError(
      `${path}: a recording file needs the media playlist saved with it (--playlist <file>, or ${playlistPath})`,
    );
  }
  return { kind: 'file', path, playlist: playlistPath, ...alignments(text, playlistPath) };
}

/** Segment duration and the first-segment hypotheses from a saved media playlist. */
export function alignments(text: string, name: string): { segmentSeconds: number; bases: number[] } {
  if (!text.startsWith('#EXTM3U')) throw new UsageError(`${name}: not an HLS playlist`);
  if (text.includes('#EXT-X-STREAM-INF'))
    throw new UsageError(`${name}: a master playlist; the media playlist is needed`);
  const durations = [...text.matchAll(/^#EXTINF:([\d.]+)/gm)].map((m) => Number(m[1]));
  const target = Number(/^#EXT-X-TARGETDURATION:(\d+)/m.exec(text)?.[1]);
  if (durations.length === 0 || !Number.isFinite(target)) throw new UsageError(`${name}: no segments listed`);
  const sequence = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0);
  const sorted = [...durations].sort((a, b) => a - b);
  const segmentSeconds = sorted[Math.floor(sorted.length / 2)]!;
  // a client starts a few segments before the live edge; the playlist may have been saved a little before
  // or after it started, so one window's worth of slack on either side
  const n = durations.length;
  const bases = Array.from({ length: 3 * n }, (_, i) => sequence - n + i).filter((s) => s >= 0);
  return { segmentSeconds, bases };
}
