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

/** The offset E (UTC = t + E) as an ffmpeg expression, given the variable holding the run's first frame time. */
function offsetExpr(map: TimelineMap, firstFrameTime: string): string {
  if (map.kind === 'shift') return map.seconds.toFixed(3);
  const w = PTS_WRAP_SECONDS.toFixed(9);
  return `${w}*round((${map.spawnSeconds.toFixed(3)}-${firstFrameTime})/${w})`;
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
  const e = offsetExpr(map, 'start_t');
  return `gte(t+${e},ceil((start_t+${e})/${segmentSeconds})*${segmentSeconds})`;
}

/**
 * setpts expression that moves the run's first frame back onto the boundary it follows (the select filter's
 * boundary; later than it when the frames right after it could not be decoded yet). The encoder counts
 * force_key_frames `t` from its first frame, so `t` becomes the time since a UTC boundary and keyframes depend
 * on the feed alone, not on the frame phase the run happened to start with (a sender that restarts with a new
 * phase keeps the running nodes aligned with a node started afterwards). That first frame lies in the run's
 * stub segment, which is never published.
 */
export function snapFirstFrameExpr(segmentSeconds: number, map: TimelineMap): string {
  const e = offsetExpr(map, 'STARTT');
  const d = segmentSeconds;
  return `if(eq(N,0),(floor((STARTT+${e})/${d})*${d}-(${e}))/TB,PTS)`;
}

/**
 * force_key_frames expression: a keyframe on the first frame of every segment interval, whatever happened
 * before (after a jump in the feed the next interval starts cleanly; no catch-up of missed keyframes).
 * Half a millisecond absorbs the 90 kHz rounding of the snapped first frame.
 */
export function keyframeExpr(segmentSeconds: number): string {
  const slot = (v: string) => `floor((${v}+0.0005)/${segmentSeconds})`;
  return `if(isnan(prev_forced_t),1,gte(${slot('t')},${slot('prev_forced_t')}+1))`;
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
   * A segment longer than 1.5 D: the feed went back in time, so no new interval started for a while. Only a
   * new run is sure to land where a freshly started node would: the run must be re-synchronised.
   */
  | { kind: 'resync'; reason: string }
  /** shorter than D/2 (a run's tail, or the sliver before a boundary after a hole in the feed), or not after
   * what was already published */
  | { kind: 'drop'; reason: string; seq?: number };

export interface JudgeContext {
  /** the run's first row (the stub) */
  first: boolean;
  segmentSeconds: number;
  lastSeq: number | undefined;
  toUtc: (t: number) => number;
}

/**
 * The deterministic rule that turns a csv row into a published segment or not. Every node applies it to
 * the same feed, so every node publishes the same numbers with the same timing. After a hole in the feed the
 * first interval may start late (where the feed resumed): that segment keeps its interval's number and its
 * real start and duration; a node started after the hole never publishes that number (it is its stub).
 */
export function judgeRow(row: SegmentRow, ctx: JudgeContext): RowVerdict {
  if (ctx.first) return { kind: 'stub' };
  const duration = row.end - row.start;
  const d = ctx.segmentSeconds;
  if (duration > 1.5 * d) return { kind: 'resync', reason: `segment of ${duration.toFixed(3)} s` };
  const utcStart = ctx.toUtc(row.start);
  const seq = sequenceOf(utcStart, d);
  if (duration < 0.5 * d) return { kind: 'drop', reason: 'short segment', seq };
  if (ctx.lastSeq !== undefined && seq <= ctx.lastSeq) {
    return { kind: 'drop', reason: 'sequence not after the last published one', seq };
  }
  return { kind: 'publish', seq, utcStart, duration };
}
