/**
 * Keeps one channel's ffmpeg running: every spawn goes through the staggered start queue; csv rows are judged
 * by the timeline rule and published; a crash or lost input restarts it with capped exponential backoff; a
 * feed that went back in time or an ageing run replaces it at once; a stop is graceful, then forced. On a
 * watermarked channel each interval is finished twice (variants A and B, paired by watermark-pairs.ts) and
 * published as one sequence number.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../src/clock.ts';
import type { ChannelKeySecret } from '../src/delivery/keys.ts';
import type { Variant } from '../src/delivery/watermark-code.ts';
import { errorFields, type Logger } from '../src/log.ts';
import { ChannelRun } from './channel-run.ts';
import { type Encoder, type RunSpec, timelineMap } from './ffmpeg-args.ts';
import {
  type ChannelState,
  initChannel,
  type OriginMetrics,
  type RestartReason,
  setChannelState,
} from './metrics.ts';
import type { Profile } from './profiles.ts';
import type { Progress } from './progress.ts';
import { filesOf, Publisher, type SegmentFiles } from './publisher.ts';
import type { StartQueue } from './start-queue.ts';
import type { ChannelDefinition } from './store.ts';
import {
  judgeRow,
  MAX_RUN_SECONDS,
  parseSegmentRow,
  runTimeToUtc,
  type SegmentRow,
  type TimelineMap,
} from './timeline.ts';
import { channelPattern, type WatermarkPattern } from './watermark-filter.ts';
import { VariantPairs } from './watermark-pairs.ts';
import { ChannelWorkspace } from './workspace.ts';

export interface SupervisorDeps {
  def: ChannelDefinition;
  profile: Profile;
  encoder: Encoder;
  dataDir: string;
  queue: StartQueue;
  clock: Clock;
  metrics: OriginMetrics;
  logger: Logger;
  encryption?: { secret: ChannelKeySecret; keyPeriod: number };
  /** WATERMARK_SECRET, required when the channel is watermarked (it keys the channel's pattern) */
  watermarkSecret?: string;
  ffmpeg?: string;
  stopGraceMs?: number;
  maxRunSeconds?: number;
}

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

interface RunState {
  run: ChannelRun;
  map: TimelineMap;
  first: boolean;
  /** false once the run is being stopped or replaced: its remaining rows are not published */
  accepting: boolean;
  replaceReason?: RestartReason;
  rotation: NodeJS.Timeout;
  /** publishing is sequential per channel */
  chain: Promise<void>;
  lastDrop: number;
  lastDup: number;
  /** previous progress sample, for rates over the last interval rather than since the run began */
  lastSample?: { at: number; frame: number; outTime: number };
  /** rows of one variant waiting for their twin (watermarked channels) */
  pairs: VariantPairs;
}

export class ChannelSupervisor {
  readonly def: ChannelDefinition;
  readonly profile: Profile;
  private readonly deps: SupervisorDeps;
  private readonly publisher: Publisher;
  private readonly workspace: ChannelWorkspace;
  private readonly log: Logger;
  private pattern: WatermarkPattern | undefined;
  private current: RunState | undefined;
  private runCount = 0;
  private backoff: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;

  state: ChannelState = 'queued';
  restarts = 0;
  lastError: { message: string; at: string } | undefined;
  startedAt: number | undefined;
  lastSegmentAt: number | undefined;
  segments = 0;
  progress: Progress | undefined;

  constructor(deps: SupervisorDeps) {
    this.deps = deps;
    this.def = deps.def;
    this.profile = deps.profile;
    this.log = deps.logger.child({ channel: deps.def.id });
    this.workspace = new ChannelWorkspace(deps.dataDir, deps.def.id);
    initChannel(deps.metrics, deps.def.id);
    this.publisher = new Publisher({
      channel: deps.def.id,
      liveDir: join(deps.dataDir, 'live', deps.def.id),
      segmentSeconds: deps.profile.segmentSeconds,
      listSize: deps.profile.listSize,
      watermark: deps.def.watermark,
      ...(deps.encryption ? { encryption: deps.encryption } : {}),
    });
  }

  get pid(): number | undefined {
    return this.current?.run.pid;
  }

  get lastSequence(): number | undefined {
    return this.publisher.lastSequence;
  }

  /** Restores what the channel already published, opens its log and queues its first start. */
  async begin(): Promise<void> {
    if (this.def.watermark) {
      if (!this.deps.watermarkSecret)
        throw new Error(`channel ${this.def.id} is watermarked: WATERMARK_SECRET is required`);
      this.pattern = await channelPattern(this.deps.watermarkSecret, this.def.id);
    }
    await this.workspace.open(this.log);
    await this.publisher.restore();
    this.enqueue();
  }

  /** Stops the channel for good: out of the queue, ffmpeg terminated, nothing more published. */
  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    this.setState('stopping');
    this.deps.queue.remove(this.def.id);
    clearTimeout(this.backoff);
    this.stopped = new Promise<void>((resolve) => {
      this.resolveStopped = resolve;
    }).then(() => this.workspace.close());
    const cur = this.current;
    if (cur) {
      cur.accepting = false;
      void cur.run.terminate(this.deps.stopGraceMs ?? 5_000);
    } else this.resolveStopped?.();
    return this.stopped;
  }

  /** Deletes the channel's served files and scratch space (after `stop`). */
  async removeFiles(): Promise<void> {
    await this.publisher.removeAll();
    await this.workspace.remove();
  }

  private setState(state: ChannelState): void {
    this.state = state;
    setChannelState(this.deps.metrics, this.def.id, state);
  }

  private enqueue(): void {
    if (this.stopping) return;
    this.setState('queued');
    this.deps.queue.enqueue(this.def.id, () => void this.spawn());
  }

  private async spawn(): Promise<void> {
    if (this.stopping) return;
    // the moment the queue released this start: what the stagger is measured on
    this.startedAt = this.deps.clock.now();
    this.setState('starting');
    try {
      await this.workspace.prepareRun();
    } catch (err) {
      this.fail(`cannot prepare ${this.workspace.workDir}: ${(err as Error).message}`);
      return;
    }
    if (this.stopping) {
      this.resolveStopped?.();
      return;
    }
    const runId = `r${++this.runCount}`;
    const now = this.deps.clock.now();
    const spec: RunSpec = {
      input: this.def.input,
      profile: this.profile,
      encoder: this.deps.encoder,
      nowMs: now,
      workDir: this.workspace.workDir,
      runId,
      ...(this.pattern ? { watermark: this.pattern } : {}),
    };
    // the callbacks only fire after the process has started, by when `state` is assigned
    let state: RunState;
    const run = new ChannelRun(spec, {
      ffmpeg: this.deps.ffmpeg ?? 'ffmpeg',
      log: this.workspace.log,
      startedAt: now,
      events: {
        onProgress: (p) => this.onProgress(state, p),
        onSegmentLine: (line) => {
          state.chain = state.chain.then(() => this.onSegmentLine(state, line));
        },
        onExit: (r) => {
          state.chain = state.chain.then(() => this.onExit(state, r));
        },
      },
    });
    state = {
      run,
      map: timelineMap(spec),
      first: true,
      accepting: true,
      chain: Promise.resolve(),
      lastDrop: 0,
      lastDup: 0,
      pairs: new VariantPairs(),
      rotation: setTimeout(
        () => this.replace(state, 'rotation', 'run rotated before one PTS epoch'),
        (this.deps.maxRunSeconds ?? MAX_RUN_SECONDS) * 1000,
      ),
    };
    this.current = state;
    if (run.pid !== undefined) await this.workspace.recordPid(run.pid).catch(() => {});
    this.log.info('ffmpeg started', { run: runId, pid: run.pid });
  }

  private onProgress(s: RunState, raw: Progress): void {
    // ffmpeg's fps and speed are averages since the process started: after hours a stall barely moves
    // them. Rates over the last progress interval show what the encoder is doing now.
    const at = this.deps.clock.now();
    const prev = s.lastSample;
    const dt = prev ? (at - prev.at) / 1000 : 0;
    const p =
      prev && dt >= 0.5 && Number.isFinite(raw.frame) && Number.isFinite(raw.outTime)
        ? { ...raw, fps: (raw.frame - prev.frame) / dt, speed: (raw.outTime - prev.outTime) / dt }
        : raw;
    if (Number.isFinite(raw.frame) && Number.isFinite(raw.outTime) && (!prev || dt >= 0.5))
      s.lastSample = { at, frame: raw.frame, outTime: raw.outTime };
    this.progress = p;
    const m = this.deps.metrics;
    const channel = this.def.id;
    if (Number.isFinite(p.fps)) m.channelFps.set({ channel }, p.fps);
    if (Number.isFinite(p.speed)) m.channelSpeed.set({ channel }, p.speed);
    if (Number.isFinite(p.outTime)) m.channelOutTime.set({ channel }, p.outTime);
    if (p.dropFrames > s.lastDrop) m.channelDroppedFrames.inc({ channel }, p.dropFrames - s.lastDrop);
    if (p.dupFrames > s.lastDup) m.channelDuplicatedFrames.inc({ channel }, p.dupFrames - s.lastDup);
    if (Number.isFinite(p.dropFrames)) s.lastDrop = p.dropFrames;
    if (Number.isFinite(p.dupFrames)) s.lastDup = p.dupFrames;
  }

  private async onSegmentLine(s: RunState, line: string): Promise<void> {
    const row = parseSegmentRow(line);
    const name = row && new RegExp(`^${s.run.spec.runId}-(?:([ab])-)?(\\d{6})\\.ts$`).exec(row.file);
    const variant = name?.[1] as Variant | undefined;
    if (!row || !name || (variant !== undefined) !== this.def.watermark) {
      this.log.warn('unexpected segment list line', { line: line.slice(0, 200) });
      return;
    }
    const done = variant
      ? await this.pairVariant(s, variant, Number(name[2]), row)
      : { row, files: { file: this.workFile(row) } };
    if (!done || !s.accepting) return;
    const verdict = judgeRow(done.row, {
      first: s.first,
      segmentSeconds: this.profile.segmentSeconds,
      lastSeq: this.publisher.lastSequence,
      toUtc: (t) => runTimeToUtc(t, s.map, this.deps.clock.now()),
    });
    s.first = false;
    if (verdict.kind !== 'publish') {
      await removeFiles(filesOf(done.files));
      if (verdict.kind === 'resync') this.replace(s, 'resync', `re-synchronising: ${verdict.reason}`);
      else if (verdict.kind === 'drop')
        this.log.debug('segment dropped', { reason: verdict.reason, seq: verdict.seq });
      return;
    }
    try {
      await this.publisher.publish({
        seq: verdict.seq,
        utcStart: verdict.utcStart,
        duration: verdict.duration,
        ...done.files,
      });
    } catch (err) {
      this.log.error('publish failed', { seq: verdict.seq, ...errorFields(err) });
      this.noteError(`publish of ${verdict.seq} failed: ${(err as Error).message}`);
      await removeFiles(filesOf(done.files));
      return;
    }
    this.segments++;
    this.failures = 0;
    this.lastSegmentAt = this.deps.clock.now();
    if (this.state === 'starting') this.setState('running');
    this.deps.metrics.channelSegments.inc({ channel: this.def.id });
    this.deps.metrics.channelSequence.set({ channel: this.def.id }, verdict.seq);
  }

  /** Holds one variant's row until its twin is in; the interval (A's timing) and both files once it is. */
  private async pairVariant(
    s: RunState,
    variant: Variant,
    index: number,
    row: SegmentRow,
  ): Promise<{ row: SegmentRow; files: SegmentFiles } | undefined> {
    const paired = s.pairs.add(variant, index, row);
    if (paired.kind === 'waiting') return undefined;
    const files = { variants: { a: this.workFile(paired.a), b: this.workFile(paired.b) } };
    if (paired.kind === 'mismatch') {
      await removeFiles(filesOf(files));
      this.replace(s, 'resync', `variants cut differently: ${paired.a.file} and ${paired.b.file}`);
      return undefined;
    }
    return { row: paired.a, files };
  }

  private workFile(row: SegmentRow): string {
    return join(this.workspace.workDir, row.file);
  }

  /** Ends a healthy run on purpose; its exit re-queues the channel at once (no backoff). */
  private replace(s: RunState, reason: RestartReason, message: string): void {
    if (!s.accepting) return;
    s.accepting = false;
    s.replaceReason = reason;
    this.noteError(message);
    this.log.warn('replacing ffmpeg run', { reason, message });
    void s.run.terminate(this.deps.stopGraceMs ?? 5_000);
  }

  private async onExit(
    s: RunState,
    r: { code: number | null; signal: NodeJS.Signals | null; lastLogLine: string | undefined },
  ): Promise<void> {
    clearTimeout(s.rotation);
    if (this.current === s) this.current = undefined;
    await this.workspace.removeRunFiles(s.run.spec.runId);
    this.progress = undefined;
    if (this.stopping) {
      this.resolveStopped?.();
      return;
    }
    this.restarts++;
    const reason: RestartReason = s.replaceReason ?? 'exit';
    this.deps.metrics.channelRestarts.inc({ channel: this.def.id, reason });
    if (s.replaceReason) {
      this.enqueue();
      return;
    }
    const how = r.code === null ? `killed by ${r.signal ?? 'a spawn error'}` : `exited with code ${r.code}`;
    this.fail(`ffmpeg ${how}${r.code !== null && r.lastLogLine ? `: ${r.lastLogLine.slice(0, 300)}` : ''}`);
  }

  /** Records a failure and schedules a restart after a capped exponential backoff. */
  private fail(message: string): void {
    this.failures++;
    this.noteError(message);
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 1));
    this.log.warn('ffmpeg failed; restarting', { message, delayMs: delay, restarts: this.restarts });
    this.setState('restarting');
    this.backoff = setTimeout(() => this.enqueue(), delay);
  }

  private noteError(message: string): void {
    this.lastError = { message, at: new Date(this.deps.clock.now()).toISOString() };
  }
}

function removeFiles(files: string[]): Promise<unknown> {
  return Promise.all(files.map((f) => rm(f, { force: true })));
}
