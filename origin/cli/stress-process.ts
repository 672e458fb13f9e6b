/**
 * Processes the stress test starts, each in its own process group: a terminal's Ctrl-C reaches only the CLI,
 * which then stops every group itself (SIGTERM so ffmpeg closes its files, SIGKILL after a bound) before it
 * exits. If the CLI is killed outright it cannot do that, and ffmpeg ignores SIGPIPE, so each child is
 * started through util-linux `setpriv --pdeathsig TERM` (the kernel signals it when its parent dies) where
 * setpriv exists: no orphans either way.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream } from 'node:fs';
import { contributionArgs } from '../contribution.ts';
import type { Profile } from '../profiles.ts';

export interface GroupProcess {
  child: ChildProcess;
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves when the leader is gone */
  stop(graceMs?: number): Promise<void>;
}

let pdeathsig: boolean | undefined;

/** Whether `setpriv --pdeathsig` can wrap a child (it execs the command, so the pid stays the child's). */
function hasPdeathsig(): boolean {
  pdeathsig ??= /--pdeathsig/.test(spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout ?? '');
  return pdeathsig;
}

export function spawnGroup(cmd: string, args: string[], extraFds = 0): GroupProcess {
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(extraFds).fill('pipe')];
  const child = hasPdeathsig()
    ? spawn('setpriv', ['--pdeathsig', 'TERM', '--', cmd, ...args], { stdio, detached: true })
    : spawn(cmd, args, { stdio, detached: true });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' waits for the pipes to drain, so the last progress and segment lines are read first
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // the group is already gone
    }
  };
  return {
    child,
    pid: child.pid,
    exited,
    stop: async (graceMs = 3_000) => {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `count` UDP ports on loopback that were free a moment ago (all held at once, so they differ). */
export async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
          const s = createSocket('udp4');
          s.once('error', reject);
          s.bind(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/**
 * The contribution feed (origin/contribution.ts: UTC-stamped PTS, one encode tee'd to every target) at the
 * profile's size and rate, at twice the profile's bitrate as a contribution link would carry.
 */
export function startFeed(targets: string[], profile: Profile, logPath: string): GroupProcess {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(profile.videoBitrate);
  const bitrate = m ? `${Number(m[1]) * 2}${m[2]}` : profile.videoBitrate;
  const args = contributionArgs({
    targets,
    width: profile.width,
    height: profile.height,
    fps: profile.fps,
    videoBitrate: bitrate,
  });
  const feed = spawnGroup('ffmpeg', args);
  feed.child.stdout?.resume();
  feed.child.stderr?.pipe(createWriteStream(logPath, { flags: 'a' }));
  return feed;
}
