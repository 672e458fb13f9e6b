/**
 * Epoch-locked timeline (SPEC §7). The contribution sender stamps PTS = UTC × 90 kHz mod 2^33, so the feed's
 * clock is UTC folded into a 26.5 h epoch. A node unfolds it with its own clock (which only needs to be right to
 * well under half an epoch) and names every segment from the UTC of its first frame. Both nodes see the same
 * PTS, so both compute the same UTC, the same sequence number and the same PROGRAM-DATE-TIME.
 *
 * The wrap rule, applied identically by every node:
 * - ffmpeg reads the feed with `-copyts -itsoffset W` (W = one epoch): libavformat unwraps a single 33-bit wrap
 *   per run, and the extra epoch keeps its timeline positive even when a run starts in the last minute before a
 *   wrap (where libavformat would otherwise count backwards from the wrap, and the segment muxer would not cut
 *   until time turned positive).
 * - Segment boundaries are absolute UTC multiples of D, not PTS multiples: the select filters compare
 *   `t + E` with multiples of D, where E is the whole number of epochs between the ffmpeg timeline and UTC.
 *   A wrap therefore changes nothing: no short segment, numbers keep counting up by one, and the 33-bit PTS
 *   inside the segment that spans the wrap simply rolls over, as MPEG-TS timestamps do (players unwrap it).
 * - A run only unwraps one wrap (libavformat keeps its first wrap reference), so a run is replaced before it
 *   is one epoch old (`MAX_RUN_SECONDS`).
 */
export const PTS_HZ = 90_000;
/** One PTS epoch in seconds: 2^33 / 90 kHz ≈ 26.5 h. */
export const PTS_WRAP_SECONDS = 2 ** 33 / PTS_HZ;
/** The same epoch as ffmpeg parses a duration (microseconds): rescaled to 90 kHz it is exactly 2^33 ticks. */
export const PTS_WRAP_ARG = '95443.717689';
/** A run is replaced before libavformat's single wrap reference (first timestamp − 60 s) comes round again. */
export const MAX_RUN_SECONDS = 24 * 3600;

/**
 * The whole number of epochs E (in seconds) such that `feedSeconds + E` is UTC, given the node's clock.
 * Valid while the node's clock is within half an epoch of the sender's.
 */
export function epochOffset(feedSeconds: number, nowMs: number): number {
  return PTS_WRAP_SECONDS * Math.round((nowMs / 1000 - feedSeconds) / PTS_WRAP_SECONDS);
}

/** UTC seconds of a time on the ffmpeg timeline (csv start/end, select `t`). */
export function feedToUtc(feedSeconds: number, nowMs: number): number {
  return feedSeconds + epochOffset(feedSeconds, nowMs);
}

/** The media sequence number of a segment whose first frame is at `utcSeconds`. */
export function sequenceOf(utcSeconds: number, segmentSeconds: number): number {
  return Math.round(utcSeconds / segmentSeconds);
}

/** The PTS, in seconds within its epoch, that the sender stamps for a UTC instant. */
export function feedSecondsOfUtc(utcMs: number): number {
  return (((utcMs / 1000) % PTS_WRAP_SECONDS) + PTS_WRAP_SECONDS) % PTS_WRAP_SECONDS;
}

/**
 * How a run's ffmpeg timeline maps to UTC. A live feed carries UTC-stamped PTS: the two are whole epochs
 * apart, found with the node's clock at spawn. A looped file carries its own small timestamps: they are
 * shifted by a fixed amount chosen at spawn (numbers still only go up, but no other node shares them).
 */
export type TimelineMap = { kind: 'epochs'; spawnSeconds: number } | { kind: 'shift'; seconds: number };

/** The offset E (UTC = t + E) as an ffmpeg expression evaluated in the select filters. */
function offsetExpr(map: TimelineMap): string {
  if (map.kind === 'shift') return map.seconds.toFixed(3);
  const w = PTS_WRAP_SECONDS.toFixed(9);
  return `${w}*round((${map.spawnSeconds.toFixed(3)}-start_t)/${w})`;
}

/** UTC seconds of a time on the run's timeline (csv start/end). */
export function runTimeToUtc(t: number, map: TimelineMap, nowMs: number): number {
  return map.kind === 'shift' ? t + Number(map.seconds.toFixed(3)) : feedToUtc(t, nowMs);
}

/**
 * The ffmpeg expression for "this frame lies on or after the first UTC boundary at or after the run's first
 * frame", for the select and aselect filters.
 */
export function boundarySelectExpr(segmentSeconds: number, map: TimelineMap): string {
  const e = offsetExpr(map);
  return `gte(t+${e},ceil((start_t+${e})/${segmentSeconds})*${segmentSeconds})`;
}

export interface SegmentRow {
  /** file name as the segment muxer wrote it */
  file: string;
  /** seconds on the ffmpeg timeline */
  start: number;
  end: number;
}

/**
 * Parses one line of the segment muxer's csv list (`name,start,end`). Names are our own pattern, so they
 * contain no commas or quotes.
 */
export function parseSegmentRow(line: string): SegmentRow | undefined {
  const parts = line.trim().split(',');
  if (parts.length !== 3) return undefined;
  const [file, start, end] = parts as [string, string, string];
  const s = Number(start);
  const e = Number(end);
  if (!file || !Number.isFinite(s) || !Number.isFinite(e) || e < s) return undefined;
  return { file, start: s, end: e };
}

export type RowVerdict =
  | { kind: 'publish'; seq: number; utcStart: number; duration: number }
  /** the run's first row: its start reads 0 (everything before the first boundary), so it cannot be named */
  | { kind: 'stub' }
  /**
   * The feed stopped or jumped: the segment is longer than 1.5 D, or its first frame is no longer on a
   * boundary (the encoder forces keyframes relative to the run's first frame). The run must be re-synchronised.
   */
  | { kind: 'resync'; reason: string }
  /** shorter than D/2 (a run's tail) or not after what was already published */
  | { kind: 'drop'; reason: string; seq?: number };

/**
 * The deterministic rule that turns a csv row into a published segment or not. Every node applies it to
 * the same feed, so every node publishes the same numbers with the same timing.
 */
export function judgeRow(
  row: SegmentRow,
  ctx: { first: boolean; segmentSeconds: number; lastSeq: number | undefined; toUtc: (t: number) => number },
): RowVerdict {
  if (ctx.first) return { kind: 'stub' };
  const duration = row.end - row.start;
  const d = ctx.segmentSeconds;
  if (duration > 1.5 * d) return { kind: 'resync', reason: `segment of ${duration.toFixed(3)} s` };
  const utcStart = ctx.toUtc(row.start);
  const seq = sequenceOf(utcStart, d);
  const offBoundary = Math.abs(utcStart - seq * d);
  if (offBoundary > 0.25 * d)
    return { kind: 'resync', reason: `segment starts ${offBoundary.toFixed(3)} s off its boundary` };
  if (duration < 0.5 * d) return { kind: 'drop', reason: 'short segment', seq };
  if (ctx.lastSeq !== undefined && seq <= ctx.lastSeq) {
    return { kind: 'drop', reason: 'sequence not after the last published one', seq };
  }
  return { kind: 'publish', seq, utcStart, duration };
}
