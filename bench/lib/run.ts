import { spawn } from 'node:child_process';

/** Runs a command to completion (never synchronously: a server under load may share this process) and
 * resolves to its stdout and stderr together; a non-zero exit rejects with that output. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; name?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${opts.name ?? cmd} exited with ${code}:\n${out}`)),
    );
  });
}
