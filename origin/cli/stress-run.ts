/**
 * The stress test's clock: releases the streams through the origin's own staggered start queue
 * (start-queue.ts, so the spacing is the node's rule, measured the same way), samples every stream and the
 * host once a tick, marks streams that never produced a frame, and ends `holdMs` after the last stream
 * began encoding — or at once when aborted (Ctrl-C). Whatever happens, every stream is stopped before it returns.
 */
import { systemClock } from '../../src/clock.ts';
import { queryGpus } from '../gpu-metrics.ts';
import { StartQueue } from '../start-queue.ts';
import { HostCpuMeter, ProcessCpuMeter } from './proc-stats.ts';
import type { Fleet } from './stress-types.ts';

export interface RunOptions {
  /** 0 starts every stream at once (the anti-pattern, for comparison) */
  intervalMs: number;
  /** how long every stream keeps encoding after the last one produced its first frame */
  holdMs: number;
  /** a stream with no frame this long after it started is a start failure */
  startTimeoutMs: number;
  tickMs?: number;
}

export interface HostSample {
  at: number;
  /** share of all cores busy since the previous tick, 0–1 */
  cpu?: number;
  /** cores the contribution feed used (when the run started one) */
  feedCpuCores?: number;
  gpus?: Array<{
    index: string;
    encoderUtilization?: number;
    decoderUtilization?: number;
    memoryUsedBytes?: number;
    encoderSessions?: number;
  }>;
}

export interface RunTimeline {
  startedAt: number;
  endedAt: number;
  interrupted: boolean;
  host: HostSample[];
}

export async function runStress(
  fleet: Fleet,
  opts: RunOptions,
  deps: {
    signal: AbortSignal;
    onTick?: (now: number, host: HostSample) => void;
    feedPid?: number;
    /** sample nvidia-smi each tick (only when a GPU was found) */
    gpu: boolean;
  },
): Promise<RunTimeline> {
  const startedAt = Date.now();
  const tickMs = opts.tickMs ?? 1_000;
  const host: HostSample[] = [];
  const hostCpu = new HostCpuMeter();
  const feedCpu = deps.feedPid === undefined ? undefined : new ProcessCpuMeter(deps.feedPid);
  await hostCpu.read();
  await feedCpu?.read(startedAt);

  const queue = new StartQueue({ intervalMs: opts.intervalMs, clock: systemClock });
  for (const st of fleet.streams)
    queue.enqueue(st.id, () => fleet.launch(st.index, queue.recentStarts().at(-1)?.at ?? Date.now()));
  queue.run();
  // a node queues the channels itself: allow for its own spacing before calling a stream late
  const queueAllowanceMs = fleet.streams.length * Math.max(opts.intervalMs, 2_000);

  let interrupted = false;
  try {
    while (!deps.signal.aborted) {
      await sleep(tickMs, deps.signal);
      if (deps.signal.aborted) break;
      const now = Date.now();
      await fleet.sample(now);
      const sample: HostSample = { at: now };
      const cpu = await hostCpu.read();
      if (cpu !== undefined) sample.cpu = cpu;
      const feed = await feedCpu?.read(now);
      if (feed !== undefined) sample.feedCpuCores = feed;
      if (deps.gpu) {
        const q = await queryGpus();
        if (q.ok) {
          sample.gpus = q.gpus.map((g) => ({
            index: g.index,
            ...pick(g, ['encoderUtilization', 'decoderUtilization', 'memoryUsedBytes', 'encoderSessions']),
          }));
        }
      }
      host.push(sample);
      markLate(fleet, now, opts.startTimeoutMs, queueAllowanceMs);
      deps.onTick?.(now, sample);
      if (queue.length === 0 && finished(fleet, now, opts.holdMs)) break;
    }
    interrupted = deps.signal.aborted;
  } finally {
    queue.halt();
    await fleet.stopAll();
  }
  return { startedAt, endedAt: Date.now(), interrupted, host };
}

function markLate(fleet: Fleet, now: number, timeoutMs: number, queueAllowanceMs: number): void {
  for (const st of fleet.streams) {
    if (st.failure !== null || st.firstFrameAt !== null || st.launchedAt === null) continue;
    if (st.startedAt !== null && now - st.startedAt > timeoutMs) {
      st.failure = `no frame within ${Math.round(timeoutMs / 1000)} s of its start`;
    } else if (st.startedAt === null && now - st.launchedAt > timeoutMs + queueAllowanceMs) {
      st.failure = `not started by the node within ${Math.round((timeoutMs + queueAllowanceMs) / 1000)} s`;
    }
  }
}

/** Every stream failed, or is encoding and has been for `holdMs` since the last one began to. */
function finished(fleet: Fleet, now: number, holdMs: number): boolean {
  let lastFirstFrame = 0;
  for (const st of fleet.streams) {
    if (st.failure !== null) continue;
    if (st.firstFrameAt === null) return false;
    lastFirstFrame = Math.max(lastFirstFrame, st.firstFrameAt);
  }
  return now >= lastFirstFrame + holdMs;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
