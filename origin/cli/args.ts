/**
 * What the operator CLIs share: strict flag parsing where every refusal names the flag, number and bitrate
 * parsing, and the exit-code convention (0 fine, 1 a failed check or run, 2 bad usage).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors rephrased to name the flag. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(e.message)?.[1] ?? 'an unknown flag';
      throw new UsageError(`${flag}: unknown flag`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const flag = /--[a-z0-9-]+/.exec(e.message)?.[0] ?? 'a flag';
      const hint = /ambiguous/.test(e.message) ? ` (a value starting with "-" is written ${flag}=VALUE)` : '';
      throw new UsageError(`${flag}: needs a value${hint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(
        `unexpected argument ${/'([^']+)'/.exec(e.message)?.[1] ?? ''} (flags start with --)`,
      );
    }
    throw new UsageError(e.message);
  }
}

/** A finite number within bounds, or a UsageError naming the flag. */
export function numberFlag(
  flag: string,
  raw: string,
  opts: { min: number; max: number; integer?: boolean },
): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag}: "${raw}" is not ${opts.integer ? 'an integer' : 'a number'}`);
  }
  if (n < opts.min || n > opts.max) {
    throw new UsageError(`--${flag}: ${raw} is outside ${opts.min}–${opts.max}`);
  }
  return n;
}

/** A URL flag, optionally limited to some schemes (e.g. ['http:', 'https:']). */
export function urlFlag(flag: string, raw: string, protocols?: string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--${flag}: "${raw}" is not a URL`);
  }
  if (protocols && !protocols.includes(u.protocol)) {
    throw new UsageError(`--${flag}: the scheme must be ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

const BITRATE_RE = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bps|b\/s)?$/;
const SCALE: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** `4M`, `3.5M`, `128k`, `4000000` (decimal SI, as ffmpeg reads `-b:v`) → bits per second. */
export function parseBitrate(flag: string, raw: string): number {
  const m = BITRATE_RE.exec(raw.trim());
  const bps = m ? Number(m[1]) * SCALE[m[2]!.toLowerCase()]! : Number.NaN;
  if (!(bps > 0) || !Number.isFinite(bps)) {
    throw new UsageError(`--${flag}: "${raw}" is not a bitrate (e.g. 4M, 3.5M, 800k)`);
  }
  return bps;
}

/** Runs a CLI's main: a UsageError prints its message and the usage line and exits 2. */
export function runCli(usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
