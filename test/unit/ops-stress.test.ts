import { describe, expect, it } from 'vitest';
import { UsageError } from '../../origin/cli/args.ts';
import { parseStressArgs } from '../../origin/cli/stress-args.ts';
import { rates, streamResults, summarize } from '../../origin/cli/stress-report.ts';
import { newStreamState, type StreamSample } from '../../origin/cli/stress-types.ts';

const T0 = 1_800_000_000_000;

/** A stream that encodes `fps` frames and `speed` seconds of media per wall second, sampled every second. */
function steady(startAt: number, seconds: number, fps: number, speed: number): StreamSample[] {
  return Array.from({ length: seconds + 1 }, (_, i) => ({
    at: startAt + i * 1000,
    frame: Math.round(i * fps),
    outTime: i * speed,
    dropFrames: 0,
    cpuCores: 0.05 + (i % 2) * 0.02,
  }));
}

describe('stress report arithmetic', () => {
  it('measures fps and speed from growth, not from ffmpeg’s running averages', () => {
    const samples = steady(T0, 10, 15, 1).map((s) => ({ ...s, fps: 3 }));
    expect(rates(samples)).toEqual({ fps: 15, speed: 1, speedMin: 1 });
  });

  it('finds a stall that the mean hides (slowest 4 s window)', () => {
    const samples = steady(T0, 10, 15, 1);
    // media time stops growing for 3 s in the middle, then catches up
    samples[5]!.outTime = 4;
    samples[6]!.outTime = 4;
    samples[7]!.outTime = 4;
    const r = rates(samples);
    expect(r.speed).toBe(1);
    expect(r.speedMin).toBeLessThan(0.5);
  });

  it('times each reading by when ffmpeg reported it, not by the tick that read it', () => {
    // ticks every second, but the progress read at each tick is 0–0.5 s old: steady 1.0x all along
    const samples = steady(T0, 10, 15, 1).map((s, i) => ({ ...s, at: s.at + (i % 2) * 500, mediaAt: s.at }));
    expect(rates(samples)).toEqual({ fps: 15, speed: 1, speedMin: 1 });
    // the same tick twice (no new progress in between) counts once
    const repeated = steady(T0, 10, 15, 1).flatMap((s) => [s, { ...s, at: s.at + 400, mediaAt: s.at }]);
    expect(rates(repeated).speedMin).toBe(1);
  });

  it('ignores samples before the first frame and gives no speed from a single sample', () => {
    expect(rates([{ at: T0 }, { at: T0 + 1000, outTime: 0 }])).toEqual({
      fps: null,
      speed: null,
      speedMin: null,
    });
    expect(rates([{ at: T0, outTime: 1, fps: 15 }])).toEqual({ fps: 15, speed: null, speedMin: null });
  });

  it('orders streams by start, computes the gaps, flags failures and laggards', () => {
    const a = newStreamState(0, 's-01', '/tmp/a.log');
    const b = newStreamState(1, 's-02', '/tmp/b.log');
    const c = newStreamState(2, 's-03', '/tmp/c.log');
    const d = newStreamState(3, 's-04', '/tmp/d.log');
    Object.assign(a, {
      launchedAt: T0,
      startedAt: T0,
      firstFrameAt: T0 + 1200,
      samples: steady(T0 + 1000, 8, 15, 1),
    });
    Object.assign(b, {
      launchedAt: T0 + 2000,
      startedAt: T0 + 2000,
      firstFrameAt: T0 + 3100,
      samples: steady(T0 + 3000, 6, 12, 0.8),
    });
    Object.assign(c, {
      launchedAt: T0 + 4001,
      startedAt: T0 + 4001,
      failure: 'ffmpeg exited on its own (code 1): boom',
    });
    Object.assign(d, { launchedAt: T0 + 6001, startedAt: T0 + 6001 });
    const results = streamResults([a, b, c, d], T0);
    expect(results.map((r) => r.status)).toEqual(['ok', 'lagging', 'failed', 'failed']);
    expect(results.map((r) => r.gapS)).toEqual([null, 2, 2.001, 2]);
    expect(results.map((r) => r.startOffsetS)).toEqual([0, 2, 4.001, 6.001]);
    expect(results[0]!.firstFrameS).toBe(1.2);
    expect(results[3]!.failure).toBe('never produced a frame');
    expect(results[0]).toMatchObject({ cpuPeakCores: 0.07, cpuMeanCores: 0.059 });

    const s = summarize(results, {
      startedAt: T0,
      endedAt: T0 + 12_000,
      interrupted: false,
      host: [
        { at: T0 + 1000, cpu: 0.5 },
        { at: T0 + 2000, cpu: 0.9 },
      ],
    });
    expect(s).toMatchObject({
      streams: 4,
      started: 4,
      startFailures: 2,
      lagging: 1,
      startGapS: { min: 2, max: 2.001 },
      hostCpu: { peak: 0.9, mean: 0.7 },
      gpu: null,
    });
  });
});

describe('stress flags', () => {
  it('defaults to the seed’s test: 30 streams, 2 s apart, the sports profile, 20 s after the last start', () => {
    const o = parseStressArgs([], {}, new Date('2026-01-02T03:04:05.678Z'));
    expect(o).toMatchObject({
      streams: 30,
      intervalS: 2,
      allAtOnce: false,
      holdS: 20,
      via: 'ffmpeg',
      encoder: 'auto',
      startTimeoutS: 15,
      json: false,
    });
    if (o === 'help') throw new Error('unexpected');
    expect(o.profile.id).toBe('sports-1080p');
    expect(o.outDir).toMatch(/data\/stress\/2026-01-02T03-04-05-678Z$/);
  });

  it('takes the operator key from OPERATOR_API_KEY so it stays out of the process list', () => {
    const o = parseStressArgs(['--via', 'api', '--node', 'http://127.0.0.1:9001'], {
      OPERATOR_API_KEY: 'k'.repeat(20),
    });
    expect(o).toMatchObject({ via: 'api', node: 'http://127.0.0.1:9001', apiKey: 'k'.repeat(20) });
  });

  it.each([
    [['--streams', '0'], /--streams: 0 is outside 1–500/],
    [['--streams', 'many'], /--streams: "many" is not an integer/],
    [['--interval=-1'], /--interval: -1 is outside/],
    [['--seconds', '0'], /--seconds: 0 is outside/],
    [['--profile', '4k'], /--profile: no profile "4k"/],
    [['--via', 'ssh'], /--via: "ssh" is not ffmpeg or api/],
    [['--encoder', 'qsv'], /--encoder: "qsv" is not one of/],
    [['--node', 'http://127.0.0.1:9001'], /--node: only with --via api/],
    [['--via', 'api'], /--node: required with --via api/],
    [['--via', 'api', '--node', 'http://127.0.0.1:9001'], /--key: required with --via api/],
    [
      ['--via', 'api', '--node', 'ftp://x', '--key', 'k'],
      /--node: the scheme must be http:\/\/ or https:\/\//,
    ],
    [
      ['--via', 'api', '--node', 'http://10.0.0.5:9001', '--key', 'k'],
      /--udp-base: needed for a node on another host/,
    ],
    [
      ['--via', 'api', '--node', 'http://127.0.0.1:9001', '--key', 'k', '--encoder', 'nvenc'],
      /--encoder: with --via api/,
    ],
    [['--input', 'file:///etc/passwd'], /--input: the scheme must be udp:\/\//],
    [['--input', 'nonsense'], /--input: "nonsense" is not a URL/],
    [['--start-timeout', '0'], /--start-timeout: 0 is outside/],
    [['--fast'], /--fast: unknown flag/],
  ])('%j', (argv, message) => {
    expect(() => parseStressArgs(argv, {})).toThrow(UsageError);
    expect(() => parseStressArgs(argv, {})).toThrow(message);
  });
});
