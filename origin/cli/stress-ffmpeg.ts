/**
 * Stress streams as ffmpeg processes on this host, with exactly the command line the origin's supervisor
 * runs (ffmpeg-args.ts: same encoder, GOP, segmenting). Each stream logs to its own file; finished segments
 * are deleted as they appear, so a long run does not fill the disk.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { channelArgs, type Encoder, SEGMENT_LIST_FD } from '../ffmpeg-args.ts';
import type { Profile } from '../profiles.ts';
import { LineSplitter, type Progress, ProgressParser } from '../progress.ts';
import { parseSegmentRow } from '../timeline.ts';
import { ProcessCpuMeter } from './proc-stats.ts';
import { type GroupProcess, spawnGroup } from './stress-process.ts';
import { type Fleet, newStreamState, type StreamState } from './stress-types.ts';

export interface FfmpegFleetOptions {
  ids: string[];
  /** the input of each stream */
  inputs: string[];
  profile: Profile;
  encoder: Encoder;
  /** per-stream logs go to `<outDir>/streams/`, scratch segments to `<outDir>/work/` */
  outDir: string;
  ffmpeg?: string;
}

interface Running {
  proc: GroupProcess;
  log: WriteStream;
  cpu: ProcessCpuMeter;
  progress: Progress | undefined;
  progressAt: number | undefined;
  workDir: string;
  alive: boolean;
}

const finite = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : undefined);

export class FfmpegFleet implements Fleet {
  readonly streams: StreamState[];
  private readonly opts: FfmpegFleetOptions;
  private readonly running = new Map<number, Running>();
  private stopping = false;

  constructor(opts: FfmpegFleetOptions) {
    this.opts = opts;
    mkdirSync(join(opts.outDir, 'streams'), { recursive: true });
    this.streams = opts.ids.map((id, i) => newStreamState(i, id, join(opts.outDir, 'streams', `${id}.log`)));
  }

  launch(index: number, releasedAt: number): void {
    const st = this.streams[index]!;
    if (this.stopping) return;
    const now = releasedAt;
    const workDir = join(this.opts.outDir, 'work', st.id);
    mkdirSync(workDir, { recursive: true });
    const args = channelArgs({
      input: this.opts.inputs[index]!,
      profile: this.opts.profile,
      encoder: this.opts.encoder,
      nowMs: now,
      workDir,
      runId: 'r1',
    });
    const log = createWriteStream(st.log, { flags: 'a' });
    log.write(`--- ${new Date(now).toISOString()} ffmpeg ${args.join(' ')}\n`);
    const proc = spawnGroup(this.opts.ffmpeg ?? 'ffmpeg', args, 1);
    st.launchedAt = now;
    st.startedAt = now;
    st.encoder = this.opts.encoder;
    st.pid = proc.pid ?? null;
    const run: Running = {
      proc,
      log,
      cpu: new ProcessCpuMeter(proc.pid ?? -1),
      progress: undefined,
      progressAt: undefined,
      workDir,
      alive: true,
    };
    this.running.set(index, run);

    const progress = new ProgressParser((p) => {
      run.progress = p;
      run.progressAt = Date.now();
      if (st.firstFrameAt === null && p.frame > 0) st.firstFrameAt = Date.now();
    });
    proc.child.stdout?.setEncoding('utf8').on('data', (d: string) => progress.push(d));
    let rows = 0;
    const segments = new LineSplitter((line) => {
      const row = parseSegmentRow(line);
      if (!row) return;
      // the first row is everything before the first boundary (SPEC §7), not a segment
      if (rows++ > 0) st.segments++;
      void rm(join(workDir, row.file), { force: true });
    });
    (proc.child.stdio[SEGMENT_LIST_FD] as Readable | null)
      ?.setEncoding('utf8')
      .on('data', (d: string) => segments.push(d));
    let lastLine: string | undefined;
    const stderr = new LineSplitter((line) => {
      st.errorLines++;
      lastLine = line;
    });
    proc.child.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      stderr.push(d.toString());
    });
    void proc.exited.then(({ code, signal }) => {
      run.alive = false;
      const how = code === null ? `killed by ${signal ?? 'a spawn error'}` : `code ${code}`;
      log.end(
        `--- ${new Date().toISOString()} ended: ${how}${this.stopping ? ' (stopped by stress)' : ''}\n`,
      );
      if (!this.stopping && st.failure === null) {
        st.failure = `ffmpeg exited on its own (${how})${lastLine ? `: ${lastLine.slice(0, 200)}` : ''}`;
      }
    });
  }

  async sample(now: number): Promise<void> {
    await Promise.all(
      [...this.running.entries()].map(async ([index, run]) => {
        if (!run.alive) return;
        const cpuCores = await run.cpu.read(now);
        const p = run.progress;
        const sample = {
          at: now,
          mediaAt: run.progressAt,
          frame: finite(p?.frame),
          fps: finite(p?.fps),
          outTime: finite(p?.outTime),
          dropFrames: finite(p?.dropFrames),
          dupFrames: finite(p?.dupFrames),
          cpuCores,
        };
        // keep only the readings that exist (JSON report stays compact)
        const clean = Object.fromEntries(Object.entries(sample).filter(([, v]) => v !== undefined));
        this.streams[index]!.samples.push(clean as typeof sample);
      }),
    );
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    const runs = [...this.running.values()];
    await Promise.all(runs.map((r) => r.proc.stop(3_000)));
    await Promise.all(runs.map((r) => rm(r.workDir, { recursive: true, force: true })));
    await rm(join(this.opts.outDir, 'work'), { recursive: true, force: true });
  }
}
