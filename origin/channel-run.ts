/**
 * One ffmpeg process of a channel: spawns it with the alignment recipe, feeds its `-progress` output and its
 * csv segment list (fd 3; a watermarked channel's variant B lists on fd 4, rows told apart by file name) to
 * callbacks, appends its stderr to the channel's log file, and stops it gracefully
 * (SIGTERM, then SIGKILL after a bound).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { channelArgs, type RunSpec, segmentListFds } from './ffmpeg-args.ts';
import { LineSplitter, type Progress, ProgressParser } from './progress.ts';

export interface RunEvents {
  onProgress(p: Progress): void;
  onSegmentLine(line: string): void;
  onExit(result: {
    code: number | null;
    signal: NodeJS.Signals | null;
    lastLogLine: string | undefined;
  }): void;
}

export class ChannelRun {
  readonly spec: RunSpec;
  readonly startedAt: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private lastLogLine: string | undefined;
  private done = false;

  constructor(spec: RunSpec, opts: { ffmpeg: string; log: Writable; events: RunEvents; startedAt: number }) {
    this.spec = spec;
    this.startedAt = opts.startedAt;
    const args = channelArgs(spec);
    opts.log.write(
      `--- ${new Date(opts.startedAt).toISOString()} run ${spec.runId}: ffmpeg ${args.join(' ')}\n`,
    );
    const listFds = segmentListFds(spec);
    this.child = spawn(opts.ffmpeg, args, {
      stdio: ['ignore', 'pipe', 'pipe', ...listFds.map(() => 'pipe' as const)],
    });
    const progress = new ProgressParser((p) => opts.events.onProgress(p));
    const stderr = new LineSplitter((l) => {
      this.lastLogLine = l;
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => progress.push(d));
    for (const fd of listFds) {
      const segments = new LineSplitter((l) => opts.events.onSegmentLine(l));
      (this.child.stdio[fd] as Readable | null)
        ?.setEncoding('utf8')
        .on('data', (d: string) => segments.push(d));
    }
    this.child.stderr?.on('data', (d: Buffer) => {
      opts.log.write(d);
      stderr.push(d.toString());
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.done) return;
      this.done = true;
      opts.log.write(`--- run ${spec.runId} ended: ${code === null ? `signal ${signal}` : `code ${code}`}\n`);
      opts.events.onExit({ code, signal, lastLogLine: this.lastLogLine });
    };
    this.exited = new Promise((resolve) => {
      // 'close' waits for the pipes to drain, so every csv row is seen before the exit is reported
      this.child.once('close', (code, signal) => {
        finish(code, signal);
        resolve();
      });
      this.child.once('error', (err) => {
        this.lastLogLine = err.message;
        finish(null, null);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM (ffmpeg closes its files), then SIGKILL after `graceMs`; resolves when the process is gone. */
  async terminate(graceMs: number): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
