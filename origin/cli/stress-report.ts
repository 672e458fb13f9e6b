/**
 * Turns what a stress run recorded into per-stream results, a summary and the table printed at the end.
 * fps and speed are measured from the growth of frames and media time against wall time (ffmpeg's own
 * figures are averages since the process started, which hide a stall and include the start-up burst).
 */
import type { HostSample, RunTimeline } from './stress-run.ts';
import type { StreamSample, StreamState } from './stress-types.ts';
import { type Cell, fixed, renderTable } from './table.ts';

/** A stream slower than this share of real time is falling behind its live input. */
export const LAGGING_SPEED = 0.95;
/**
 * The shortest window the minimum speed is taken over: readings come every 0.5 s (ffmpeg's progress period),
 * and through a node's API without their own time stamp, so shorter windows would mostly measure that jitter.
 */
const MIN_SPEED_WINDOW_MS = 4_000;

export interface StreamResult {
  index: number;
  id: string;
  /** stopped: the run was interrupted before this stream's first frame (not a start failure) */
  status: 'ok' | 'lagging' | 'failed' | 'stopped';
  failure: string | null;
  encoder: string | null;
  pid: number | null;
  launchedAt: string | null;
  startedAt: string | null;
  /** seconds from the start of the run */
  startOffsetS: number | null;
  /** seconds since the previous stream started (in start order) */
  gapS: number | null;
  firstFrameS: number | null;
  fps: number | null;
  speed: number | null;
  speedMin: number | null;
  dropFrames: number | null;
  dupFrames: number | null;
  segments: number;
  restarts: number;
  errorLines: number;
  cpuPeakCores: number | null;
  cpuMeanCores: number | null;
  log: string;
  samples: StreamSample[];
}

export interface Range {
  min: number;
  mean: number;
  max: number;
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

export function range(values: number[]): Range | null {
  if (values.length === 0) return null;
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    min: round(Math.min(...values)),
    mean: round(sum / values.length),
    max: round(Math.max(...values)),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** fps, mean speed and the slowest ≥ 4 s window, from the readings taken once the stream produced frames. */
export function rates(samples: StreamSample[]): {
  fps: number | null;
  speed: number | null;
  speedMin: number | null;
} {
  // one point per distinct reading, timed when it was reported (a tick may repeat the previous one)
  const live: StreamSample[] = [];
  for (const s of samples) {
    if (!((s.outTime ?? 0) > 0)) continue;
    const at = s.mediaAt ?? s.at;
    if (live.length && at <= live.at(-1)!.at) continue;
    live.push({ ...s, at });
  }
  const first = live[0];
  const last = live.at(-1);
  if (!first || !last || last.at <= first.at) {
    return { fps: last?.fps ?? null, speed: null, speedMin: null };
  }
  const wall = (last.at - first.at) / 1000;
  const fps =
    first.frame !== undefined && last.frame !== undefined
      ? (last.frame - first.frame) / wall
      : (last.fps ?? null);
  const speed = (last.outTime! - first.outTime!) / wall;
  let speedMin: number | null = null;
  let i = 0;
  for (const s of live) {
    while (i + 1 < live.length && live[i + 1]!.at <= s.at - MIN_SPEED_WINDOW_MS) i++;
    const from = live[i]!;
    if (s.at - from.at < MIN_SPEED_WINDOW_MS) continue;
    const v = (s.outTime! - from.outTime!) / ((s.at - from.at) / 1000);
    speedMin = speedMin === null ? v : Math.min(speedMin, v);
  }
  return {
    fps: fps === null ? null : round(fps, 2),
    speed: round(speed),
    speedMin: speedMin === null ? null : round(speedMin),
  };
}

export function streamResults(
  streams: StreamState[],
  runStartedAt: number,
  interrupted = false,
): StreamResult[] {
  const byStart = streams.filter((s) => s.startedAt !== null).sort((a, b) => a.startedAt! - b.startedAt!);
  const gap = new Map(
    byStart.map((s, i) => [s.index, i === 0 ? null : (s.startedAt! - byStart[i - 1]!.startedAt!) / 1000]),
  );
  return streams.map((st) => {
    const r = rates(st.samples);
    const cpu = st.samples.map((s) => s.cpuCores).filter((c): c is number => c !== undefined);
    const last = st.samples.at(-1);
    const noFrame = st.firstFrameAt === null;
    const failure = st.failure ?? (noFrame && !interrupted ? 'never produced a frame' : null);
    const status = failure
      ? 'failed'
      : noFrame
        ? 'stopped'
        : r.speed !== null && r.speed < LAGGING_SPEED
          ? 'lagging'
          : 'ok';
    return {
      index: st.index,
      id: st.id,
      status,
      failure,
      encoder: st.encoder,
      pid: st.pid,
      launchedAt: iso(st.launchedAt),
      startedAt: iso(st.startedAt),
      startOffsetS: st.startedAt === null ? null : round((st.startedAt - runStartedAt) / 1000),
      gapS: gap.get(st.index) ?? null,
      firstFrameS:
        st.firstFrameAt === null || st.startedAt === null
          ? null
          : round((st.firstFrameAt - st.startedAt) / 1000),
      ...r,
      dropFrames: last?.dropFrames ?? null,
      dupFrames: last?.dupFrames ?? null,
      segments: st.segments,
      restarts: st.restarts,
      errorLines: st.errorLines,
      cpuPeakCores: cpu.length ? round(Math.max(...cpu)) : null,
      cpuMeanCores: cpu.length ? round(cpu.reduce((a, b) => a + b, 0) / cpu.length) : null,
      log: st.log,
      samples: st.samples,
    };
  });
}

export function summarize(results: StreamResult[], timeline: RunTimeline) {
  const num = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null);
  const ok = results.filter((r) => r.status === 'ok' || r.status === 'lagging');
  const cpu = timeline.host.map((h) => h.cpu).filter((c): c is number => c !== undefined);
  const feed = timeline.host.map((h) => h.feedCpuCores).filter((c): c is number => c !== undefined);
  return {
    streams: results.length,
    started: results.filter((r) => r.startedAt !== null).length,
    startFailures: results.filter((r) => r.status === 'failed').length,
    lagging: results.filter((r) => r.status === 'lagging').length,
    startGapS: range(num(results.map((r) => r.gapS))),
    firstFrameS: range(num(ok.map((r) => r.firstFrameS))),
    fps: range(num(ok.map((r) => r.fps))),
    speed: range(num(ok.map((r) => r.speed))),
    slowestWindowSpeed: range(num(ok.map((r) => r.speedMin)))?.min ?? null,
    dropFrames: num(results.map((r) => r.dropFrames)).reduce((a, b) => a + b, 0),
    errorLines: results.reduce((a, r) => a + r.errorLines, 0),
    restarts: results.reduce((a, r) => a + r.restarts, 0),
    cpuPerStreamCores: range(num(ok.map((r) => r.cpuMeanCores))),
    cpuPeakStreamCores: range(num(results.map((r) => r.cpuPeakCores)))?.max ?? null,
    hostCpu: cpu.length
      ? { peak: round(Math.max(...cpu)), mean: round(cpu.reduce((a, b) => a + b) / cpu.length) }
      : null,
    feedCpuMeanCores: feed.length ? round(feed.reduce((a, b) => a + b) / feed.length) : null,
    gpu: gpuPeaks(timeline.host),
  };
}

export type StressSummary = ReturnType<typeof summarize>;

function gpuPeaks(host: HostSample[]) {
  const gpus = host.flatMap((h) => h.gpus ?? []);
  if (gpus.length === 0) return null;
  const peak = (f: (g: (typeof gpus)[number]) => number | undefined) => {
    const v = gpus.map(f).filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : null;
  };
  return {
    encoderUtilizationPeak: peak((g) => g.encoderUtilization),
    decoderUtilizationPeak: peak((g) => g.decoderUtilization),
    memoryUsedPeakBytes: peak((g) => g.memoryUsedBytes),
    encoderSessionsPeak: peak((g) => g.encoderSessions),
  };
}

export function formatResults(results: StreamResult[], s: StressSummary): string {
  const rows: Cell[][] = results.map((r) => [
    r.id,
    fixed(r.startOffsetS, 2),
    fixed(r.gapS, 2),
    fixed(r.firstFrameS, 1),
    fixed(r.fps, 1),
    fixed(r.speed, 2),
    fixed(r.speedMin, 2),
    r.dropFrames,
    r.segments,
    fixed(r.cpuPeakCores, 2),
    fixed(r.cpuMeanCores, 2),
    r.encoder,
    r.failure ? `FAILED: ${r.failure}` : r.status,
  ]);
  const table = renderTable(
    [
      'stream',
      'start s',
      'gap s',
      '1st frame s',
      'fps',
      'speed',
      'min speed',
      'drops',
      'segs',
      'cpu peak',
      'cpu mean',
      'encoder',
      'status',
    ],
    rows,
  );
  const r = (x: Range | null, d = 2) =>
    x ? `${x.min.toFixed(d)} / ${x.mean.toFixed(d)} / ${x.max.toFixed(d)}` : '–';
  const pct = (x: number | null | undefined) =>
    x === null || x === undefined ? '–' : `${Math.round(x * 100)} %`;
  const lines = [
    table,
    '',
    `streams ${s.streams}, started ${s.started}, start failures ${s.startFailures}, lagging (speed < ${LAGGING_SPEED}) ${s.lagging}`,
    `start gap s (min / mean / max)      ${r(s.startGapS)}`,
    `first frame s (min / mean / max)    ${r(s.firstFrameS, 1)}`,
    `fps (min / mean / max)              ${r(s.fps, 1)}`,
    `speed (min / mean / max)            ${r(s.speed)}; slowest 4 s window ${fixed(s.slowestWindowSpeed, 2) ?? '–'}`,
    `dropped frames ${s.dropFrames}, ffmpeg error lines ${s.errorLines}, node restarts ${s.restarts}`,
    `CPU per stream, cores (min / mean / max of means) ${r(s.cpuPerStreamCores, 3)}; peak ${fixed(s.cpuPeakStreamCores, 2) ?? '–'}`,
    `host CPU peak ${pct(s.hostCpu?.peak)}, mean ${pct(s.hostCpu?.mean)}${s.feedCpuMeanCores === null ? '' : `; contribution feed ${s.feedCpuMeanCores.toFixed(2)} cores`}`,
    s.gpu
      ? `GPU peak: NVENC ${pct(s.gpu.encoderUtilizationPeak)}, NVDEC ${pct(s.gpu.decoderUtilizationPeak)}, VRAM ${s.gpu.memoryUsedPeakBytes === null ? '–' : `${(s.gpu.memoryUsedPeakBytes / 2 ** 30).toFixed(1)} GiB`}, sessions ${s.gpu.encoderSessionsPeak ?? '–'}`
      : 'GPU: none on this host (nvidia-smi lists no GPU)',
  ];
  return lines.join('\n');
}
