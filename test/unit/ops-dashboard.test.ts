import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerGpuMetrics } from '../../origin/gpu-metrics.ts';
import { silentLogger } from '../../src/log.ts';
import {
  dashboardExpressions,
  exportedFamilies,
  isExported,
  promqlMetricNames,
} from '../helpers/ops-promql.ts';

const DASHBOARD = new URL('../../grafana/edge-gateway.json', import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: the dashboard JSON, read loosely
const load = async (): Promise<any> => JSON.parse(await readFile(DASHBOARD, 'utf8'));
const allNames = (d: Parameters<typeof dashboardExpressions>[0]) =>
  new Set(dashboardExpressions(d).flatMap(promqlMetricNames));

describe('PromQL metric names', () => {
  it.each([
    [
      'sum by (status) (rate(gateway_requests_total{instance=~"$gateway"}[$__rate_interval]))',
      ['gateway_requests_total'],
    ],
    [
      'histogram_quantile(0.95, sum by (le, route) (rate(gateway_request_duration_seconds_bucket{code!=""}[5m])))',
      ['gateway_request_duration_seconds_bucket'],
    ],
    [
      'sum(rate(edge_cache_requests_total{result="hit"}[1m])) / sum(rate(edge_cache_requests_total[1m]))',
      ['edge_cache_requests_total'],
    ],
    [
      'origin_capacity_used{instance=~"$origin"} / origin_capacity_total',
      ['origin_capacity_used', 'origin_capacity_total'],
    ],
    ['origin_encoder_info == 1', ['origin_encoder_info']],
    [
      'max by (channel) (a_metric) - min without (x) (b_metric offset 5m) > bool 1e3',
      ['a_metric', 'b_metric'],
    ],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax inside PromQL
    ['rate(x_total{label="sum(not_a_metric)"}[${window}]) * 60', ['x_total']],
    ['a and on (instance) b unless ignoring (job) group_left (c) d', ['a', 'b', 'd']],
  ])('%s', (expr, names) => {
    expect(promqlMetricNames(expr).sort()).toEqual([...names].sort());
  });

  it('maps histogram series to their family', () => {
    const families = exportedFamilies('# TYPE h histogram\n# TYPE c counter\n# TYPE g_count gauge\n');
    expect(isExported('h_bucket', families)).toBe(true);
    expect(isExported('h_count', families)).toBe(true);
    expect(isExported('c_bucket', families)).toBe(false);
    expect(isExported('g_count', families)).toBe(true);
    expect(isExported('missing', families)).toBe(false);
  });
});

describe('grafana/edge-gateway.json', () => {
  it('is an importable dashboard: unique panel ids, a grid of 24, every target a PromQL query on the chosen data source', async () => {
    const d = await load();
    expect(d).toMatchObject({ uid: 'edge-gateway-ops', schemaVersion: expect.any(Number) });
    const ids = d.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's data source variable
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.refId).toMatch(/^[A-Z]$/);
        expect(promqlMetricNames(t.expr).length).toBeGreaterThan(0);
      }
    }
    expect(d.templating.list.map((v: { name: string }) => v.name)).toEqual([
      'datasource',
      'gateway',
      'origin',
      'channel',
    ]);
  });

  it('covers what operators watch on both services', async () => {
    const names = allNames(await load());
    for (const name of [
      'gateway_requests_total',
      'gateway_request_duration_seconds_bucket',
      'gateway_auth_failures_total',
      'gateway_sessions_admitted_total',
      'gateway_sessions_replaced_total',
      'gateway_sessions_denied_total',
      'gateway_token_cache_total',
      'edge_cache_requests_total',
      'edge_origin_failovers_total',
      'origin_channel_state',
      'origin_channel_fps',
      'origin_channel_speed',
      'origin_channel_restarts_total',
      'origin_start_queue_length',
      'origin_capacity_used',
      'origin_gpu_encoder_utilization_ratio',
      'origin_gpu_decoder_utilization_ratio',
      'origin_gpu_memory_used_bytes',
      'origin_gpu_encoder_sessions',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('queries only GPU series an origin with a GPU really exports (nvidia-smi stand-in: no GPU here)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ops-dash-'));
    try {
      const smi = join(dir, 'nvidia-smi');
      await writeFile(
        smi,
        '#!/bin/sh\necho "0, NVIDIA L4, GPU-5e5f5c56-1b3a-7a2e-9c1d-2f0e8c3b4a11, 535.129.03, 6120, 23034, 41, 57, 12, 18, 49, 9813"\n',
      );
      await chmod(smi, 0o755);
      const registry = new Registry();
      await registerGpuMetrics(registry, { logger: silentLogger, nvidiaSmi: smi });
      const families = exportedFamilies(await registry.metrics());
      const gpuNames = [...allNames(await load())].filter((n) => n.startsWith('origin_gpu_'));
      expect(gpuNames.length).toBeGreaterThanOrEqual(6);
      for (const n of gpuNames) expect(isExported(n, families), n).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
