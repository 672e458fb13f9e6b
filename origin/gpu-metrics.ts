/**
 * GPU metrics from `nvidia-smi --query-gpu` (SPEC §8): VRAM, GPU/encoder/decoder utilisation and NVENC
 * sessions, per GPU. A node without a GPU exports none of these series — not zeros, which a dashboard would
 * read as an idle GPU. Values are read when Prometheus scrapes (one nvidia-smi call per scrape at most, shared
 * by every gauge), so there is no timer to stop and no stale reading between scrapes. A field the driver does
 * not support (`[N/A]`, `[Not Supported]`) is left out rather than guessed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../src/log.ts';

const run = promisify(execFile);

/** The fields asked for, in the order nvidia-smi prints them. */
export const GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'driver_version',
  'memory.used',
  'memory.total',
  'utilization.gpu',
  'utilization.encoder',
  'utilization.decoder',
  'encoder.stats.sessionCount',
  'encoder.stats.averageFps',
  'encoder.stats.averageLatency',
] as const;

export interface GpuReading {
  index: string;
  name: string;
  uuid: string;
  driver: string;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  /** 0–1 */
  gpuUtilization?: number;
  encoderUtilization?: number;
  decoderUtilization?: number;
  encoderSessions?: number;
  encoderAverageFps?: number;
  encoderAverageLatencySeconds?: number;
}

export type GpuQuery = { ok: true; gpus: GpuReading[] } | { ok: false; reason: string };

const MIB = 1024 * 1024;

function value(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '' || raw.startsWith('[')) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** `value` divided (percentages to ratios, µs to s) or multiplied (MiB to bytes), when there is one */
const scaled = (raw: string | undefined, f: (n: number) => number) => {
  const n = value(raw);
  return n === undefined ? undefined : f(n);
};

/** Parses `--format=csv,noheader,nounits` output of GPU_QUERY_FIELDS (memory in MiB, percentages, µs). */
export function parseGpuCsv(text: string): GpuReading[] {
  const gpus: GpuReading[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length !== GPU_QUERY_FIELDS.length) {
      throw new Error(
        `nvidia-smi printed ${f.length} fields, expected ${GPU_QUERY_FIELDS.length}: "${line}"`,
      );
    }
    const reading: GpuReading = { index: f[0]!, name: f[1]!, uuid: f[2]!, driver: f[3]! };
    const set = <K extends keyof GpuReading>(key: K, v: GpuReading[K] | undefined) => {
      if (v !== undefined) reading[key] = v;
    };
    set(
      'memoryUsedBytes',
      scaled(f[4], (n) => n * MIB),
    );
    set(
      'memoryTotalBytes',
      scaled(f[5], (n) => n * MIB),
    );
    set(
      'gpuUtilization',
      scaled(f[6], (n) => n / 100),
    );
    set(
      'encoderUtilization',
      scaled(f[7], (n) => n / 100),
    );
    set(
      'decoderUtilization',
      scaled(f[8], (n) => n / 100),
    );
    set('encoderSessions', value(f[9]));
    set('encoderAverageFps', value(f[10]));
    set(
      'encoderAverageLatencySeconds',
      scaled(f[11], (n) => n / 1e6),
    );
    gpus.push(reading);
  }
  return gpus;
}

/** One `nvidia-smi --query-gpu` call; `ok: false` with the reason when there is no usable GPU. */
export async function queryGpus(opts: { nvidiaSmi?: string; timeoutMs?: number } = {}): Promise<GpuQuery> {
  const bin = opts.nvidiaSmi ?? 'nvidia-smi';
  try {
    const { stdout } = await run(
      bin,
      [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
      { timeout: opts.timeoutMs ?? 5_000 },
    );
    const gpus = parseGpuCsv(stdout);
    return gpus.length ? { ok: true, gpus } : { ok: false, reason: `${bin} lists no GPU` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (e.code === 'ENOENT') return { ok: false, reason: `${bin} not found (no NVIDIA driver)` };
    if (e.killed) return { ok: false, reason: `${bin} timed out` };
    const said = (e.stderr ?? '').trim().split('\n').filter(Boolean).pop();
    return { ok: false, reason: said ?? e.message };
  }
}

type GaugeKey = Exclude<keyof GpuReading, 'index' | 'name' | 'uuid' | 'driver'>;

const GAUGES: ReadonlyArray<{ key: GaugeKey; name: string; help: string }> = [
  { key: 'memoryUsedBytes', name: 'origin_gpu_memory_used_bytes', help: 'GPU memory (VRAM) in use' },
  { key: 'memoryTotalBytes', name: 'origin_gpu_memory_total_bytes', help: 'GPU memory (VRAM) installed' },
  { key: 'gpuUtilization', name: 'origin_gpu_utilization_ratio', help: 'GPU (SM) utilisation, 0-1' },
  {
    key: 'encoderUtilization',
    name: 'origin_gpu_encoder_utilization_ratio',
    help: 'NVENC utilisation, 0-1',
  },
  {
    key: 'decoderUtilization',
    name: 'origin_gpu_decoder_utilization_ratio',
    help: 'NVDEC utilisation, 0-1',
  },
  { key: 'encoderSessions', name: 'origin_gpu_encoder_sessions', help: 'Active NVENC sessions' },
  {
    key: 'encoderAverageFps',
    name: 'origin_gpu_encoder_average_fps',
    help: 'Average frames per second over the NVENC sessions',
  },
  {
    key: 'encoderAverageLatencySeconds',
    name: 'origin_gpu_encoder_average_latency_seconds',
    help: 'Average NVENC encode latency',
  },
];

/**
 * Registers the GPU series on `registry` when nvidia-smi lists a GPU now; returns the GPUs found, or
 * undefined (and registers nothing) when there is none. A later failed reading empties the series and
 * counts `origin_gpu_query_errors_total`, so a lost GPU shows as missing data, not as an idle one.
 */
export async function registerGpuMetrics(
  registry: Registry,
  opts: { logger: Logger; nvidiaSmi?: string; maxAgeMs?: number; now?: () => number },
): Promise<GpuReading[] | undefined> {
  const query = () => queryGpus(opts.nvidiaSmi === undefined ? {} : { nvidiaSmi: opts.nvidiaSmi });
  const first = await query();
  if (!first.ok) {
    opts.logger.info('no GPU: GPU metrics are not exported', { reason: first.reason });
    return undefined;
  }
  const registers = [registry];
  const errors = new Counter({
    name: 'origin_gpu_query_errors_total',
    help: 'nvidia-smi readings that failed (the GPU series are empty until one succeeds)',
    registers,
    // wait for this scrape's reading, so a failure is counted in the scrape that shows the empty series
    async collect() {
      await latest();
    },
  });
  const now = opts.now ?? Date.now;
  const maxAgeMs = opts.maxAgeMs ?? 1_000;
  let cached = { at: now(), reading: Promise.resolve<GpuQuery>(first) };
  // every gauge's collect() asks; one nvidia-smi call answers a whole scrape
  const latest = (): Promise<GpuQuery> => {
    if (now() - cached.at > maxAgeMs) {
      const reading = query().then((r) => {
        if (!r.ok) {
          errors.inc();
          opts.logger.warn('GPU reading failed', { reason: r.reason });
        }
        return r;
      });
      cached = { at: now(), reading };
    }
    return cached.reading;
  };

  new Gauge({
    name: 'origin_gpu_info',
    help: 'One series per GPU (value 1) with its name, UUID and driver version',
    labelNames: ['gpu', 'name', 'uuid', 'driver'] as const,
    registers,
    async collect() {
      const r = await latest();
      this.reset();
      if (!r.ok) return;
      for (const g of r.gpus) this.set({ gpu: g.index, name: g.name, uuid: g.uuid, driver: g.driver }, 1);
    },
  });
  for (const def of GAUGES) {
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: ['gpu'] as const,
      registers,
      async collect() {
        const r = await latest();
        this.reset();
        if (!r.ok) return;
        for (const g of r.gpus) {
          const v = g[def.key];
          if (v !== undefined) this.set({ gpu: g.index }, v);
        }
      },
    });
  }
  opts.logger.info('GPU metrics exported', { gpus: first.gpus.map((g) => `${g.index}: ${g.name}`) });
  return first.gpus;
}
