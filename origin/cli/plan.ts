/**
 * `npm run plan`: encoding capacity and egress for a channel line-up and an audience, with monthly costs per
 * delivery option. Reads the origin's capacity model (capacity.ts), so its figures and sources are the ones
 * the nodes admit channels with.
 *
 *   npm run plan -- --viewers 5000 --bitrate 4M
 *   npm run plan -- --channels sports=10,news=20 --viewers 5000 --watermark on \
 *     --price-per-gb 0.05 --uplink-price 1500 --node-price 900 --json
 */
import { findGpuModel, GPU_MODELS, type GpuModel, type WatermarkMode } from '../capacity.ts';
import { PROFILES, type Profile } from '../profiles.ts';
import { numberFlag, parseBitrate, parseFlags, runCli, UsageError } from './args.ts';
import { type ChannelGroup, computePlan, type Plan, type PlanInput } from './plan-model.ts';
import { fixed, renderTable } from './table.ts';

export const PLAN_USAGE = `usage: npm run plan -- [--channels TYPE=N,...] [--viewers N] [--bitrate 4M]
  [--gpu "NVIDIA L4"] [--gpus-per-node N] | [--cpu-cores N]   (encoding device; default one L4 per node)
  [--watermark off|on|ab]      on: mark embedded in the encoder (-15 %); ab: A/B variants (two encodes)
  [--average-load 0-1]         average egress as a share of the peak (default 1)
  [--port-gbps 10] [--port-load 0.8]
  [--price-per-gb USD] [--uplink-price USD per port per month] [--node-price USD per node per month]
  [--json]
TYPE is a profile id or its unique prefix: ${Object.keys(PROFILES).join(', ')} (e.g. sports=10,news=20)`;

const FLAGS = {
  channels: { type: 'string' },
  viewers: { type: 'string' },
  bitrate: { type: 'string' },
  gpu: { type: 'string' },
  'gpus-per-node': { type: 'string' },
  'cpu-cores': { type: 'string' },
  watermark: { type: 'string' },
  'average-load': { type: 'string' },
  'port-gbps': { type: 'string' },
  'port-load': { type: 'string' },
  'price-per-gb': { type: 'string' },
  'uplink-price': { type: 'string' },
  'node-price': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `sports` → sports-1080p: a profile id, or a prefix that names exactly one profile. */
export function resolveProfile(type: string): Profile | undefined {
  const exact = Object.hasOwn(PROFILES, type) ? PROFILES[type] : undefined;
  if (exact) return exact;
  const matches = Object.values(PROFILES).filter((p) => p.id.startsWith(`${type}-`));
  return matches.length === 1 ? matches[0] : undefined;
}

export function parseChannels(raw: string): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  for (const part of raw.split(',')) {
    const m = /^\s*([a-z0-9][a-z0-9_-]*)\s*=\s*(\S+)\s*$/i.exec(part);
    if (!m) throw new UsageError(`--channels: "${part}" is not TYPE=COUNT (e.g. sports=10,news=20)`);
    const type = m[1]!.toLowerCase();
    const profile = resolveProfile(type);
    if (!profile) {
      throw new UsageError(
        `--channels: no profile "${type}" (profiles: ${Object.keys(PROFILES).join(', ')}; a unique prefix works)`,
      );
    }
    if (groups.some((g) => g.profile.id === profile.id)) {
      throw new UsageError(`--channels: ${profile.id} is given twice`);
    }
    const count = numberFlag('channels', m[2]!, { min: 0, max: 100_000, integer: true });
    groups.push({ type, profile, count });
  }
  return groups;
}

function gpuFlag(raw: string): GpuModel {
  const gpu = findGpuModel(raw) ?? findGpuModel(`NVIDIA ${raw}`);
  if (!gpu) {
    throw new UsageError(
      `--gpu: no capacity figures for "${raw}" (known: ${Object.keys(GPU_MODELS).join(', ')}; add a row to origin/capacity.ts)`,
    );
  }
  return gpu;
}

function watermarkFlag(raw: string): WatermarkMode {
  const modes: Record<string, WatermarkMode> = {
    off: 'none',
    on: 'embedded',
    embedded: 'embedded',
    ab: 'ab',
  };
  const mode = modes[raw.toLowerCase()];
  if (!mode) throw new UsageError(`--watermark: "${raw}" is not one of off, on, ab`);
  return mode;
}

const money = (flag: string, raw: string | undefined) =>
  raw === undefined ? undefined : numberFlag(flag, raw, { min: 0, max: 1e12 });

export function parsePlanArgs(argv: string[]): { input: PlanInput; json: boolean } | 'help' {
  const v = parseFlags(argv, FLAGS);
  if (v.help) return 'help';
  if (v.channels === undefined && v.viewers === undefined) {
    throw new UsageError('give --channels, --viewers, or both');
  }
  if (v['cpu-cores'] !== undefined && (v.gpu !== undefined || v['gpus-per-node'] !== undefined)) {
    throw new UsageError('--cpu-cores plans CPU nodes: it cannot be combined with --gpu or --gpus-per-node');
  }
  const channels = v.channels === undefined ? [] : parseChannels(v.channels);
  const viewers =
    v.viewers === undefined ? 0 : numberFlag('viewers', v.viewers, { min: 0, max: 1e9, integer: true });
  const bitrateBps = v.bitrate === undefined ? undefined : parseBitrate('bitrate', v.bitrate);
  if (viewers > 0 && bitrateBps === undefined && channels.every((g) => g.count === 0)) {
    throw new UsageError('--bitrate: needed to size egress when no --channels are given');
  }
  const input: PlanInput = {
    channels,
    viewers,
    device:
      v['cpu-cores'] !== undefined
        ? { kind: 'cpu', coresPerNode: numberFlag('cpu-cores', v['cpu-cores'], { min: 0.01, max: 4096 }) }
        : {
            kind: 'gpu',
            gpu: gpuFlag(v.gpu ?? 'NVIDIA L4'),
            perNode:
              v['gpus-per-node'] === undefined
                ? 1
                : numberFlag('gpus-per-node', v['gpus-per-node'], { min: 1, max: 64, integer: true }),
          },
    watermark: watermarkFlag(v.watermark ?? 'off'),
    averageLoad:
      v['average-load'] === undefined
        ? 1
        : numberFlag('average-load', v['average-load'], { min: 0.001, max: 1 }),
    portGbps:
      v['port-gbps'] === undefined ? 10 : numberFlag('port-gbps', v['port-gbps'], { min: 0.1, max: 1000 }),
    portLoad:
      v['port-load'] === undefined ? 0.8 : numberFlag('port-load', v['port-load'], { min: 0.05, max: 1 }),
  };
  if (bitrateBps !== undefined) input.bitrateBps = bitrateBps;
  const prices = {
    pricePerGb: money('price-per-gb', v['price-per-gb']),
    uplinkPricePerPort: money('uplink-price', v['uplink-price']),
    nodePricePerMonth: money('node-price', v['node-price']),
  };
  for (const [k, p] of Object.entries(prices)) if (p !== undefined) input[k as keyof typeof prices] = p;
  return { input, json: v.json ?? false };
}

const usd = (n: number | null) =>
  n === null ? null : `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
const int = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  // a blank line between sections, none before the first
  const section = (...lines: string[]) => out.push(...(out.length ? ['', ...lines] : lines));
  const { capacity, encoding, egress } = plan;
  if (capacity.rows.length) {
    out.push(`Capacity per device: ${capacity.device}, watermark ${capacity.watermark}`);
    out.push(`  source: ${capacity.source}`);
    out.push(
      renderTable(
        ['type', 'profile', 'channels', 'per device', 'share each'],
        capacity.rows.map((r) => [r.type, r.profile, r.channels, r.perDevice, fixed(r.cost, 4)]),
      ),
    );
  }
  if (encoding) {
    const unit = capacity.device.startsWith('CPU') ? 'CPU nodes' : 'GPUs';
    section('Encoding, active-active (every channel on two nodes)');
    out.push(
      `  ${unit}: ${encoding.devicesPerCopy} per copy × ${encoding.copies} = ${encoding.devicesTotal}` +
        `   nodes: ${encoding.nodesPerCopy} per copy × ${encoding.copies} = ${encoding.nodesTotal}` +
        `   busiest device ${Math.round(encoding.busiestDevice * 100)} % full`,
    );
  }
  if (egress.viewers > 0) {
    section('Egress');
    out.push(
      `  ${int(egress.viewers)} viewers × ${fixed(egress.bitrateBps / 1e6, 3)} Mbps (${egress.bitrateFrom})` +
        ` = ${fixed(egress.peakGbps, 2)} Gbps at peak`,
    );
    out.push(
      `  average ${fixed(egress.averageGbps, 2)} Gbps → ${int(egress.tbPerMonth)} TB/month;` +
        ` ${egress.ports} uplink port${egress.ports === 1 ? '' : 's'} for the peak`,
    );
    section('Monthly cost');
    out.push(
      renderTable(
        ['option', 'egress', 'encoding nodes', 'total', 'basis'],
        plan.options.map((o) => [
          o.name,
          usd(o.egressPerMonth),
          usd(o.encodingPerMonth),
          usd(o.totalPerMonth),
          o.note,
        ]),
      ),
    );
  }
  section(...plan.assumptions.map((a) => `note: ${a}`));
  return out.join('\n');
}

async function main(): Promise<number> {
  const parsed = parsePlanArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${PLAN_USAGE}\n`);
    return 0;
  }
  const plan = computePlan(parsed.input);
  process.stdout.write(parsed.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
  return 0;
}

if (import.meta.main) runCli(PLAN_USAGE, main);
