import { describe, expect, it } from 'vitest';
import {
  boundarySelectExpr,
  epochOffset,
  feedSecondsOfUtc,
  feedToUtc,
  judgeRow,
  keyframeExpr,
  PTS_WRAP_ARG,
  PTS_WRAP_SECONDS,
  parseSegmentRow,
  runTimeToUtc,
  sequenceOf,
  snapFirstFrameExpr,
} from '../../origin/timeline.ts';

const W = PTS_WRAP_SECONDS;
// 2026-01-01T00:00:00Z, and the epoch it falls in
const NOW_MS = Date.UTC(2026, 0, 1);
const EPOCH = Math.floor(NOW_MS / 1000 / W);

describe('epoch-locked timeline', () => {
  it('the epoch is exactly 2^33 ticks at 90 kHz, and so is the -itsoffset argument ffmpeg parses (µs)', () => {
    expect(W * 90_000).toBe(2 ** 33);
    const micros = Math.round(Number(PTS_WRAP_ARG) * 1e6);
    expect(Math.round((micros * 90_000) / 1e6)).toBe(2 ** 33);
  });

  it('feed seconds are UTC folded into the epoch', () => {
    const utc = NOW_MS / 1000;
    expect(feedSecondsOfUtc(NOW_MS)).toBeCloseTo(utc - EPOCH * W, 6);
    expect(feedSecondsOfUtc(NOW_MS)).toBeGreaterThanOrEqual(0);
    expect(feedSecondsOfUtc(NOW_MS)).toBeLessThan(W);
  });

  it('unwraps the ffmpeg timeline (feed + one epoch, as -itsoffset makes it) back to UTC', () => {
    const utc = NOW_MS / 1000 - 2.5; // a segment that started 2.5 s ago (node latency)
    const ffmpegTime = feedSecondsOfUtc(utc * 1000) + W;
    expect(feedToUtc(ffmpegTime, NOW_MS)).toBeCloseTo(utc, 6);
    expect(epochOffset(ffmpegTime, NOW_MS) / W).toBe(EPOCH - 1);
  });

  it('unwraps identically whether or not ffmpeg unwrapped the 33-bit wrap itself', () => {
    const wrapUtc = (EPOCH + 1) * W; // the next wrap, in UTC seconds
    const afterWrapUtc = wrapUtc + 3;
    // a run that started before the wrap: libavformat continued past 2^33, so its time is 2 epochs up
    const continued = afterWrapUtc - EPOCH * W + W;
    // a run that started after the wrap: its time is the small new PTS, one epoch up
    const fresh = afterWrapUtc - (EPOCH + 1) * W + W;
    const nodeClock = afterWrapUtc * 1000 + 1500;
    expect(feedToUtc(continued, nodeClock)).toBeCloseTo(afterWrapUtc, 6);
    expect(feedToUtc(fresh, nodeClock)).toBeCloseTo(afterWrapUtc, 6);
    expect(sequenceOf(feedToUtc(continued, nodeClock), 4)).toBe(sequenceOf(feedToUtc(fresh, nodeClock), 4));
  });

  it('tolerates a node clock that is hours off (anything under half an epoch)', () => {
    const ffmpegTime = feedSecondsOfUtc(NOW_MS) + W;
    const tenHours = 10 * 3600 * 1000;
    expect(feedToUtc(ffmpegTime, NOW_MS + tenHours)).toBeCloseTo(NOW_MS / 1000, 6);
    expect(feedToUtc(ffmpegTime, NOW_MS - tenHours)).toBeCloseTo(NOW_MS / 1000, 6);
  });

  it('maps a looped file by the fixed shift chosen at spawn, as the select filter does', () => {
    expect(runTimeToUtc(1.4, { kind: 'shift', seconds: 1_767_225_600.1234 }, NOW_MS)).toBeCloseTo(
      1_767_225_601.523,
      6,
    );
    const live = feedSecondsOfUtc(NOW_MS) + W;
    expect(runTimeToUtc(live, { kind: 'epochs', spawnSeconds: 0 }, NOW_MS)).toBeCloseTo(NOW_MS / 1000, 6);
  });

  it('names a segment by its rounded UTC start, so a first frame just after the boundary keeps the number', () => {
    expect(sequenceOf(1_767_225_600.0437, 1)).toBe(1_767_225_600);
    expect(sequenceOf(1_767_225_604.0667, 4)).toBe(441_806_401);
  });

  it('builds the select expression from the segment duration and the spawn clock', () => {
    const expr = boundarySelectExpr(4, { kind: 'epochs', spawnSeconds: 1_767_225_600.123 });
    expect(expr).toBe(
      'gte(t+95443.717688889*round((1767225600.123-start_t)/95443.717688889),' +
        'ceil((start_t+95443.717688889*round((1767225600.123-start_t)/95443.717688889))/4)*4)',
    );
    expect(boundarySelectExpr(1, { kind: 'shift', seconds: 1_767_225_600.1234 })).toBe(
      'gte(t+1767225600.123,ceil((start_t+1767225600.123)/1)*1)',
    );
  });
});

describe('segment list rows', () => {
  it('parses name,start,end', () => {
    expect(parseSegmentRow('r1-000003.ts,125191.851022,125192.851022\n')).toEqual({
      file: 'r1-000003.ts',
      start: 125191.851022,
      end: 125192.851022,
    });
  });

  it('rejects malformed rows', () => {
    for (const bad of ['', 'a,b', 'x.ts,1,2,3', 'x.ts,abc,2', 'x.ts,5,4', ',1,2']) {
      expect(parseSegmentRow(bad)).toBeUndefined();
    }
  });

  const d = 1;
  const start = feedSecondsOfUtc(NOW_MS) + W; // on a UTC boundary (NOW_MS is a whole second)
  const ctx = {
    first: false,
    segmentSeconds: d,
    lastSeq: undefined,
    toUtc: (t: number) => feedToUtc(t, NOW_MS + 3000),
  };

  it("drops the run's first row: the stub whose start reads 0", () => {
    expect(judgeRow({ file: 'r1-000000.ts', start: 0, end: start }, { ...ctx, first: true })).toEqual({
      kind: 'stub',
    });
  });

  it('publishes a full segment under its UTC number with its PDT', () => {
    const v = judgeRow({ file: 'r1-000001.ts', start: start + 0.0437, end: start + 1.0437 }, ctx);
    expect(v).toMatchObject({ kind: 'publish', seq: NOW_MS / 1000, duration: 1 });
    expect(v.kind === 'publish' && v.utcStart).toBeCloseTo(NOW_MS / 1000 + 0.0437, 6);
  });

  it('re-synchronises when the feed went back in time (no interval started for over 1.5 D)', () => {
    expect(judgeRow({ file: 'f', start, end: start + 6.3 }, ctx)).toMatchObject({
      kind: 'resync',
      reason: 'segment of 6.300 s',
    });
  });

  it('after a hole in the feed: drops the sliver before the next boundary, keeps a late-started interval', () => {
    // the feed resumed 0.8 s into an interval: 0.2 s until the next boundary
    expect(judgeRow({ file: 'f', start: start + 0.8, end: start + 1.0 }, ctx)).toMatchObject({
      kind: 'drop',
    });
    // it resumed 0.3 s into it: the interval's segment starts late, under its own number and real start
    const v = judgeRow({ file: 'f', start: start + 0.3, end: start + 1.0 }, ctx);
    expect(v).toMatchObject({ kind: 'publish', seq: NOW_MS / 1000 });
    expect(v.kind === 'publish' && v.duration).toBeCloseTo(0.7, 6);
  });

  it("drops a run's short tail and anything not after the last published number", () => {
    expect(judgeRow({ file: 'f', start, end: start + 0.3 }, ctx)).toMatchObject({ kind: 'drop' });
    const seq = NOW_MS / 1000;
    expect(judgeRow({ file: 'f', start, end: start + 1 }, { ...ctx, lastSeq: seq })).toMatchObject({
      kind: 'drop',
      seq,
    });
    expect(judgeRow({ file: 'f', start, end: start + 1 }, { ...ctx, lastSeq: seq - 1 })).toMatchObject({
      kind: 'publish',
      seq,
    });
  });
});

describe('keyframe expressions', () => {
  it('snaps the first frame onto the boundary it follows and leaves the others alone', () => {
    expect(snapFirstFrameExpr(4, { kind: 'shift', seconds: 100 })).toBe(
      'if(eq(N,0),(floor((STARTT+100.000)/4)*4-(100.000))/TB,PTS)',
    );
  });

  it('forces the first frame of every interval, without catching up missed ones', () => {
    expect(keyframeExpr(4)).toBe(
      'if(isnan(prev_forced_t),1,gte(floor((t+0.0005)/4),floor((prev_forced_t+0.0005)/4)+1))',
    );
  });
});
