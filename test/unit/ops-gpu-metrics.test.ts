import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGpuCsv, queryGpus, registerGpuMetrics } from '../../origin/gpu-metrics.ts';
import { silentLogger } from '../../src/log.ts';

// What `nvidia-smi --query-gpu=<GPU_QUERY_FIELDS> --format=csv,noheader,nounits` prints: an L4 with NVENC at
// work, and a GPU whose driver does not report encoder figures.
const TWO_GPUS = [
  '0, NVIDIA L4, GPU-5e5f5c56-1b3a-7a2e-9c1d-2f0e8c3b4a11, 535.129.03, 6120, 23034, 41, 57, 12, 18, 49, 9813',
  '1, NVIDIA H100 80GB HBM3, GPU-0a1b2c3d-4e5f-6789-abcd-ef0123456789, 535.129.03, 1, 81559, 0, [N/A], [N/A], [Not Supported], [N/A], [N/A]',
].join('\n');

// nvidia-smi does not exist on this machine kind; a script that prints a recorded answer stands in for it
let dir: string;
let fakeSmi: string;
const answer = (stdout: string, code = 0) =>
  writeFile(join(dir, 'answer'), `${code}\n${stdout}`).then(() => undefined);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ops-gpu-'));
  fakeSmi = join(dir, 'nvidia-smi');
  await writeFile(
    fakeSmi,
    `#!/bin/sh\ncode=$(head -n1 "${dir}/answer")\nif [ "$code" != 0 ]; then echo "Unable to determine the device handle for GPU 0000:00:03.0: Unknown Error" >&2; exit "$code"; fi\ntail -n +2 "${dir}/answer"\n`,
  );
  await chmod(fakeSmi, 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('nvidia-smi readings', () => {
  it('converts MiB to bytes, percentages to ratios, microseconds to seconds', () => {
    const [l4, h100] = parseGpuCsv(`${TWO_GPUS}\n`);
    expect(l4).toEqual({
      index: '0',
      name: 'NVIDIA L4',
      uuid: 'GPU-5e5f5c56-1b3a-7a2e-9c1d-2f0e8c3b4a11',
      driver: '535.129.03',
      memoryUsedBytes: 6120 * 1024 * 1024,
      memoryTotalBytes: 23034 * 1024 * 1024,
      gpuUtilization: 0.41,
      encoderUtilization: 0.57,
      decoderUtilization: 0.12,
      encoderSessions: 18,
      encoderAverageFps: 49,
      encoderAverageLatencySeconds: 0.009813,
    });
    // unsupported fields are left out, never read as zero
    expect(h100).toEqual({
      index: '1',
      name: 'NVIDIA H100 80GB HBM3',
      uuid: 'GPU-0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      driver: '535.129.03',
      memoryUsedBytes: 1024 * 1024,
      memoryTotalBytes: 81559 * 1024 * 1024,
      gpuUtilization: 0,
    });
  });

  it('refuses a line with the wrong number of fields (a driver that changed its output)', () => {
    expect(() => parseGpuCsv('0, NVIDIA L4, 41')).toThrow(/printed 3 fields, expected 12/);
  });

  it('reports why there is no GPU instead of inventing one', async () => {
    const missing = await queryGpus({ nvidiaSmi: join(dir, 'no-such-nvidia-smi') });
    expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/not found/) });
    await answer('', 9);
    const failing = await queryGpus({ nvidiaSmi: fakeSmi });
    expect(failing).toEqual({
      ok: false,
      reason: expect.stringMatching(/Unable to determine the device handle/),
    });
    await answer('');
    expect(await queryGpus({ nvidiaSmi: fakeSmi })).toEqual({
      ok: false,
      reason: expect.stringMatching(/no GPU/),
    });
  });
});

describe('GPU metrics on /metrics', () => {
  it('exports nothing at all when there is no GPU', async () => {
    const registry = new Registry();
    const found = await registerGpuMetrics(registry, {
      logger: silentLogger,
      nvidiaSmi: join(dir, 'no-such-nvidia-smi'),
    });
    expect(found).toBeUndefined();
    expect((await registry.metrics()).trim()).toBe('');
  });

  it('exports each GPU, with only the fields its driver reports', async () => {
    await answer(TWO_GPUS);
    const registry = new Registry();
    const found = await registerGpuMetrics(registry, { logger: silentLogger, nvidiaSmi: fakeSmi });
    expect(found?.map((g) => g.name)).toEqual(['NVIDIA L4', 'NVIDIA H100 80GB HBM3']);
    const text = await registry.metrics();
    expect(text).toContain(`origin_gpu_memory_used_bytes{gpu="0"} ${6120 * 1024 * 1024}`);
    expect(text).toContain('origin_gpu_encoder_utilization_ratio{gpu="0"} 0.57');
    expect(text).toContain('origin_gpu_decoder_utilization_ratio{gpu="0"} 0.12');
    expect(text).toContain('origin_gpu_encoder_sessions{gpu="0"} 18');
    expect(text).toContain('origin_gpu_utilization_ratio{gpu="1"} 0');
    expect(text).not.toContain('origin_gpu_encoder_sessions{gpu="1"}');
    expect(text).toContain(
      'origin_gpu_info{gpu="0",name="NVIDIA L4",uuid="GPU-5e5f5c56-1b3a-7a2e-9c1d-2f0e8c3b4a11",driver="535.129.03"} 1',
    );
    expect(text).toContain('origin_gpu_query_errors_total 0');
  });

  it('reads the GPU at scrape time; a failed reading empties the series and is counted once', async () => {
    await answer(TWO_GPUS);
    let now = 0;
    const registry = new Registry();
    await registerGpuMetrics(registry, {
      logger: silentLogger,
      nvidiaSmi: fakeSmi,
      maxAgeMs: 1000,
      now: () => now,
    });
    await answer(TWO_GPUS.replace(', 18, 49,', ', 20, 49,'));
    // within maxAgeMs one reading serves the scrape
    expect(await registry.metrics()).toContain('origin_gpu_encoder_sessions{gpu="0"} 18');
    now = 5000;
    expect(await registry.metrics()).toContain('origin_gpu_encoder_sessions{gpu="0"} 20');
    await answer('', 9);
    now = 10_000;
    const lost = await registry.metrics();
    expect(lost).not.toMatch(/^origin_gpu_encoder_sessions\{/m);
    expect(lost).not.toMatch(/^origin_gpu_info\{/m);
    expect(lost).toContain('origin_gpu_query_errors_total 1');
    await answer(TWO_GPUS);
    now = 15_000;
    const back = await registry.metrics();
    expect(back).toContain('origin_gpu_encoder_sessions{gpu="0"} 18');
    expect(back).toContain('origin_gpu_query_errors_total 1');
  });
});
