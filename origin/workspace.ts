/**
 * A channel's files outside its served directory: ffmpeg's scratch directory (`{DATA_DIR}/work/{channel}`,
 * on the same filesystem as the served one so finished segments are renamed, not copied), the pid of its
 * ffmpeg, and its log (`{DATA_DIR}/logs/{channel}.log`, rotated once past 5 MB when the channel starts).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../src/log.ts';

const LOG_ROTATE_BYTES = 5 * 1024 * 1024;

export class ChannelWorkspace {
  readonly workDir: string;
  private readonly logPath: string;
  private stream: WriteStream | undefined;

  constructor(dataDir: string, channel: string) {
    this.workDir = join(dataDir, 'work', channel);
    this.logPath = join(dataDir, 'logs', `${channel}.log`);
  }

  /** The channel's log (ffmpeg's stderr and run markers); available after `open`. */
  get log(): WriteStream {
    if (!this.stream) throw new Error('workspace is not open');
    return this.stream;
  }

  /** Kills what a previous process left running, then opens the log. */
  async open(logger: Logger): Promise<void> {
    await this.killLeftover(logger);
    await mkdir(join(this.logPath, '..'), { recursive: true });
    const size = await stat(this.logPath).then(
      (s) => s.size,
      () => 0,
    );
    if (size > LOG_ROTATE_BYTES) await rename(this.logPath, `${this.logPath}.1`);
    this.stream = createWriteStream(this.logPath, { flags: 'a' });
  }

  /** An empty scratch directory for a new run. */
  async prepareRun(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
    await mkdir(this.workDir, { recursive: true });
  }

  async recordPid(pid: number): Promise<void> {
    await writeFile(this.pidFile, String(pid));
  }

  /** Deletes what a finished run left (its unfinished or unpublished segments). */
  async removeRunFiles(runId: string): Promise<void> {
    const names = await readdir(this.workDir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.startsWith(`${runId}-`)).map((n) => rm(join(this.workDir, n), { force: true })),
    );
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }

  /** Deletes the scratch directory (the channel was removed); the log stays for the operator. */
  async remove(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }

  private get pidFile(): string {
    return join(this.workDir, 'ffmpeg.pid');
  }

  /**
   * A node that was SIGKILLed leaves its ffmpeg running (still bound to the input port). Its pid is on disk;
   * it is killed only if that pid still runs an ffmpeg of this channel (its command line names our work dir).
   */
  private async killLeftover(logger: Logger): Promise<void> {
    const pid = Number.parseInt(await readFile(this.pidFile, 'utf8').catch(() => ''), 10);
    if (!(pid > 0)) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const [argv0 = '', ...args] = cmdline.split('\0');
    if (!argv0.endsWith('ffmpeg') || !args.some((a) => a.startsWith(`${this.workDir}/`))) return;
    try {
      process.kill(pid, 'SIGKILL');
      logger.warn('killed an ffmpeg left by a previous process', { pid });
    } catch {
      // already gone
    }
  }
}
