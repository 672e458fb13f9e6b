/**
 * The stack's child processes. Each one leads its own process group; stopping ends every leader gracefully
 * (SIGTERM, SIGKILL after a bound) and then sweeps the groups, because an origin that was SIGKILLed (the
 * failover test does it) leaves its ffmpeg behind, and that ffmpeg must not outlive the stack. If this
 * process exits without stopping (an uncaught error), the groups are killed on the way out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface StackProcess {
  name: string;
  /** the current process; it leads its own process group (its pid is the group id) */
  child: ChildProcess;
  /** starts the process again with fresh arguments (fault tests restart a killed origin) */
  restart(): Promise<void>;
}

const STOP_GRACE_MS = 8000;

export class StackProcesses {
  private readonly procs: StackProcess[] = [];
  /** every process group ever started (a restart makes a new one) */
  private readonly groups = new Set<number>();
  private stopped: Promise<void> | undefined;
  private readonly sweepOnExit = () => this.sweep();
  private readonly cwd: string;
  private readonly log: (line: string) => void;

  constructor(opts: { cwd: string; log: (line: string) => void }) {
    this.cwd = opts.cwd;
    this.log = opts.log;
    process.on('exit', this.sweepOnExit);
  }

  /** `args` is called at every (re)start, so arguments that carry a clock are fresh each time. */
  spawn(name: string, command: string, args: () => string[], env: Record<string, string> = {}): StackProcess {
    const launch = (): ChildProcess => {
      const child = spawn(command, args(), {
        cwd: this.cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      if (child.pid) this.groups.add(child.pid);
      const prefix = (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line) this.log(`[${name}] ${line}\n`);
      };
      child.stdout?.on('data', prefix);
      child.stderr?.on('data', prefix);
      child.on('error', (err) => this.log(`[${name}] could not start: ${err.message}\n`));
      child.on('exit', (code, sig) => {
        if (!this.stopped) this.log(`[${name}] exited (${sig ?? code})\n`);
      });
      return child;
    };
    const sp: StackProcess = {
      name,
      child: launch(),
      restart: async () => {
        sp.child = launch();
      },
    };
    this.procs.push(sp);
    return sp;
  }

  get stopping(): boolean {
    return this.stopped !== undefined;
  }

  /** A process that is no longer running (during start-up that means something is wrong). */
  firstExited(): StackProcess | undefined {
    return this.procs.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
  }

  /** Stops everything, orphans of killed processes included; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    await Promise.all(
      this.procs.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await gone;
        clearTimeout(timer);
      }),
    );
    // the leaders stopped their own children; what is left in a group was orphaned by a SIGKILL
    this.sweep();
    this.groups.clear();
    process.off('exit', this.sweepOnExit);
  }

  private sweep(): void {
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // the group is already empty
      }
    }
  }
}
