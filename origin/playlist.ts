/**
 * The media playlist, written by the supervisor from its own record of published segments (never by ffmpeg),
 * so that two nodes holding the same segments write byte-identical playlists (SPEC §7):
 * - the window is the last `listSize` sequence numbers up to the newest published one; numbers inside it
 *   that this node does not hold (a restart, a crash) are listed with `#EXT-X-GAP` so positions — and so
 *   media sequence numbers — stay those of the other node, whose copy the gateway fetches instead;
 * - every segment carries its PROGRAM-DATE-TIME (the UTC of its first frame) and, when encrypted, an
 *   `#EXT-X-KEY` with its own explicit IV (the sequence number), because an explicit IV applies to every
 *   following segment until the next key tag;
 * - `#EXT-X-DISCONTINUITY` marks a segment whose start does not follow the previous one's end (the feed's
 *   clock stepped); both nodes see the same feed, so both mark the same segment.
 */
import { bytesToHex, sequenceIv } from '../src/delivery/keys.ts';
import { type Variant, WATERMARK_TAG } from '../src/delivery/watermark-code.ts';

export interface KeyRef {
  version: string;
  period: number;
}

export interface PlaylistEntry {
  seq: number;
  /** seconds (EXTINF) */
  duration: number;
  /** UTC seconds of the first frame (PROGRAM-DATE-TIME) */
  utcStart: number;
  key?: KeyRef;
  gap?: boolean;
  discontinuity?: boolean;
}

export function segmentFileName(seq: number): string {
  return `${seq}.ts`;
}

/** A watermark variant of segment `seq` (SPEC §6); the playlist still lists `segmentFileName(seq)`. */
export function variantFileName(seq: number, variant: Variant): string {
  return `${seq}.${variant}.ts`;
}

export function keyUri(key: KeyRef): string {
  return `key/${key.version}/${key.period}.key`;
}

export function ivHex(seq: number): string {
  return `0x${bytesToHex(sequenceIv(seq))}`;
}

function pdt(utcSeconds: number): string {
  return new Date(Math.round(utcSeconds * 1000)).toISOString();
}

export function renderPlaylist(
  entries: readonly PlaylistEntry[],
  segmentSeconds: number,
  opts: { watermark?: boolean } = {},
): string {
  const first = entries[0];
  if (!first) throw new Error('a playlist needs at least one segment');
  const longest = Math.max(...entries.map((e) => Math.round(e.duration)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.max(segmentSeconds, longest)}`,
    `#EXT-X-MEDIA-SEQUENCE:${first.seq}`,
    // tells the gateway to serve each viewer's A/B variant under the listed names
    ...(opts.watermark ? [`${WATERMARK_TAG}:AB`] : []),
  ];
  for (const e of entries) {
    if (e.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (e.key) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="${keyUri(e.key)}",IV=${ivHex(e.seq)}`);
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt(e.utcStart)}`);
    lines.push(`#EXTINF:${e.duration.toFixed(3)},`);
    if (e.gap) lines.push('#EXT-X-GAP');
    lines.push(segmentFileName(e.seq));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The window ending at the newest published segment. Numbers before the oldest segment this node holds in the
 * window are left out (a node that has just started lists only what it made); holes after it become gaps.
 */
export function buildWindow(
  held: ReadonlyMap<number, PlaylistEntry>,
  newest: number,
  listSize: number,
  segmentSeconds: number,
  keyFor: (seq: number) => KeyRef | undefined,
): PlaylistEntry[] {
  const out: PlaylistEntry[] = [];
  for (let seq = newest - listSize + 1; seq <= newest; seq++) {
    const entry = held.get(seq);
    if (entry) out.push(entry);
    else if (out.length > 0) {
      const key = keyFor(seq);
      out.push({
        seq,
        duration: segmentSeconds,
        utcStart: seq * segmentSeconds,
        gap: true,
        ...(key ? { key } : {}),
      });
    }
  }
  return out;
}

/**
 * Whether a segment starting at `utcStart` breaks the timeline after `previous` (the newest segment held
 * before it): its start should be the previous end plus one nominal duration per number in between.
 */
export function breaksTimeline(
  previous: PlaylistEntry | undefined,
  seq: number,
  utcStart: number,
  segmentSeconds: number,
): boolean {
  if (!previous) return false;
  const expected = previous.utcStart + previous.duration + (seq - previous.seq - 1) * segmentSeconds;
  return Math.abs(utcStart - expected) > segmentSeconds / 2;
}

/** Reads back a playlist this module wrote (used when a node restarts, to continue its record). */
export function parsePlaylist(text: string): PlaylistEntry[] {
  const out: PlaylistEntry[] = [];
  let pending: Partial<PlaylistEntry> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '#EXT-X-DISCONTINUITY') pending.discontinuity = true;
    else if (line === '#EXT-X-GAP') pending.gap = true;
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:'))
      pending.utcStart = Date.parse(line.slice(25)) / 1000;
    else if (line.startsWith('#EXTINF:')) pending.duration = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-KEY:')) {
      const m = /URI="key\/([^/"]+)\/(\d+)\.key"/.exec(line);
      if (m) pending.key = { version: m[1]!, period: Number(m[2]) };
    } else if (/^\d+\.ts$/.test(line)) {
      const { duration, utcStart } = pending;
      if (duration !== undefined && utcStart !== undefined && Number.isFinite(utcStart)) {
        out.push({ ...pending, seq: Number.parseInt(line, 10), duration, utcStart });
      }
      pending = {};
    }
  }
  return out;
}
