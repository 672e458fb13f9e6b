/**
 * Origin node configuration (SPEC §9): one schema over the environment, parsed once at start. A bad value of
 * a known name stops the process with a message naming the variable; secret values never appear in messages.
 * Unknown names are ignored.
 */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { type ChannelKeySecret, parseChannelKeySecrets } from '../src/delivery/keys.ts';
import type { LogLevel } from '../src/log.ts';
import { findGpuModel, GPU_MODELS } from './capacity.ts';

export type EncoderChoice = 'auto' | 'nvenc' | 'libx264';

export interface OriginConfig {
  port: number;
  /** 127.0.0.1 by default: an origin belongs on a private network, behind the gateway */
  host: string;
  nodeId: string;
  dataDir: string;
  /** bearer keys for the operator API, current first (several during a rotation) */
  operatorApiKeys: string[];
  /** seconds between two ffmpeg starts */
  startInterval: number;
  channelKeySecrets: ChannelKeySecret[] | undefined;
  keyPeriod: number;
  encoder: EncoderChoice;
  gpuModel: string | undefined;
  originSecret: string | undefined;
  /** keys the pattern of watermarked channels (SPEC §9); without it `watermark: true` is refused */
  watermarkSecret: string | undefined;
  allowFileInput: boolean;
  /** CPU cores given to libx264 encodes (capacity of the CPU device) */
  cpuCapacity: number;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(blankToUndefined, z.string().optional());

const number = (opts: { min: number; max: number; int?: boolean }) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < opts.min || n > opts.max) {
          ctx.addIssue({
            code: 'custom',
            message: `must be ${opts.int ? 'an integer' : 'a number'} from ${opts.min} to ${opts.max}`,
          });
          return z.NEVER;
        }
        return n;
      }),
  );

const schema = z.object({
  PORT: number({ min: 0, max: 65535, int: true }),
  HOST: optionalString,
  NODE_ID: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
      .optional(),
  ),
  DATA_DIR: optionalString,
  OPERATOR_API_KEY: z.preprocess(
    blankToUndefined,
    z.string({ error: 'is required' }).transform((v, ctx) => {
      const keys = v.split(',').map((k) => k.trim());
      if (keys.some((k) => k.length < 16 || /\s/.test(k))) {
        ctx.addIssue({ code: 'custom', message: 'each comma-separated key must be at least 16 characters' });
        return z.NEVER;
      }
      return keys;
    }),
  ),
  START_INTERVAL: number({ min: 0, max: 120 }),
  CHANNEL_KEY_SECRET: z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        try {
          return parseChannelKeySecrets(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
  ),
  KEY_PERIOD: number({ min: 1, max: 1_000_000, int: true }),
  ENCODER: z.preprocess(blankToUndefined, z.enum(['auto', 'nvenc', 'libx264']).optional()),
  GPU_MODEL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => findGpuModel(v) !== undefined, {
        message: `must be one of: ${Object.keys(GPU_MODELS).join(', ')}`,
      })
      .optional(),
  ),
  ORIGIN_SECRET: optionalString,
  WATERMARK_SECRET: z.preprocess(
    blankToUndefined,
    z.string().min(16, 'needs at least 16 characters').optional(),
  ),
  ALLOW_FILE_INPUT: z.preprocess(
    blankToUndefined,
    z.enum(['0', '1'], { error: 'must be 0 or 1' }).optional(),
  ),
  CPU_CAPACITY: number({ min: 0.01, max: 4096 }),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional()),
});

export function parseOriginConfig(env: Record<string, string | undefined>): OriginConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const v = parsed.data;
  return {
    port: v.PORT ?? 9001,
    host: v.HOST ?? '127.0.0.1',
    nodeId: v.NODE_ID ?? hostname().slice(0, 64),
    dataDir: resolve(v.DATA_DIR ?? 'data/origin'),
    operatorApiKeys: v.OPERATOR_API_KEY,
    startInterval: v.START_INTERVAL ?? 2,
    channelKeySecrets: v.CHANNEL_KEY_SECRET,
    keyPeriod: v.KEY_PERIOD ?? 150,
    encoder: v.ENCODER ?? 'auto',
    gpuModel: v.GPU_MODEL === undefined ? undefined : findGpuModel(v.GPU_MODEL)?.model,
    originSecret: v.ORIGIN_SECRET,
    watermarkSecret: v.WATERMARK_SECRET,
    allowFileInput: v.ALLOW_FILE_INPUT === '1',
    cpuCapacity: v.CPU_CAPACITY ?? availableParallelism(),
    logLevel: v.LOG_LEVEL ?? 'info',
  };
}
