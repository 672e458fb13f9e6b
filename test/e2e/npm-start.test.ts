/**
 * `npm start` as a person runs it: it prints the player URL, and Ctrl-C (SIGINT to the terminal's foreground
 * process group: npm, its shell and the stack) stops every process it started — no ffmpeg, origin or gateway
 * left behind. Without ffmpeg on the PATH, or with a bad port override, it says what is wrong and exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.ts';
import { start } from '../helpers/process.ts';
import { type ProcessInfo, processTree, survivors } from './processes.ts';
import { stackPorts } from './support.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('npm start', () => {
  it('stops everything it started on Ctrl-C', async () => {
    const ports = await stackPorts();
    // its own process group, as a terminal gives a foreground job; Ctrl-C signals that whole group
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        STACK_GATEWAY_PORT: String(ports.gatewayPort),
        STACK_ORIGIN_PORTS: ports.originPorts.join(','),
        STACK_UDP_PORTS: ports.udpPorts.join(','),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output = collect(npm);
    let tree: ProcessInfo[] = [];
    try {
      await waitFor(() => output().includes(`player    http://127.0.0.1:${ports.gatewayPort}/demo`), {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: 'the player URL',
      });
      tree = processTree(npm.pid as number);
      const started = tree.map((p) => p.args.join(' '));
      expect(started.filter((a) => a.startsWith('ffmpeg '))).toHaveLength(3); // the feed, one per origin
      expect(started.filter((a) => a.endsWith('origin/main.ts'))).toHaveLength(2);
      expect(started.filter((a) => a.endsWith('src/node.ts'))).toHaveLength(1);

      process.kill(-(npm.pid as number), 'SIGINT');
      const [code, signal] = await once(npm, 'exit');
      // npm re-raises the SIGINT on itself once its script has exited, as a shell expects of a Ctrl-C
      expect(code === 0 || signal === 'SIGINT').toBe(true);
      expect(output()).toContain('stopping…');
      expect(output()).not.toContain('npm start failed');
      expect(survivors(tree).map((p) => `${p.pid} ${p.args.join(' ')}`)).toEqual([]);
    } catch (err) {
      process.stderr.write(`\n----- npm start output -----\n${output()}\n-----\n`);
      throw err;
    } finally {
      // whatever a failed run left behind
      const running = npm.exitCode === null && npm.signalCode === null;
      for (const p of [...(running ? processTree(npm.pid as number) : []), ...survivors(tree)]) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('says what is missing when ffmpeg is not installed', async () => {
    const emptyPath = await mkdtemp(join(tmpdir(), 'no-ffmpeg-'));
    try {
      const run = start('node', ['scripts/stack.ts'], { cwd: ROOT, env: { PATH: emptyPath } });
      const [code] = await once(run.child, 'exit');
      expect(code).toBe(1);
      expect(run.output()).toContain('npm start needs ffmpeg and ffprobe');
      expect(run.output()).toContain('npm run setup');
    } finally {
      await rm(emptyPath, { recursive: true, force: true });
    }
  });

  it('names the variable when a port override is wrong', async () => {
    const run = start('node', ['scripts/stack.ts'], {
      cwd: ROOT,
      env: { STACK_ORIGIN_PORTS: '9001' },
    });
    const [code] = await once(run.child, 'exit');
    expect(code).toBe(1);
    expect(run.output()).toContain('STACK_ORIGIN_PORTS: expected two ports "a,b", got "9001"');
  });
});

function collect(child: ChildProcess): () => string {
  let text = '';
  const keep = (d: Buffer) => {
    text += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}
