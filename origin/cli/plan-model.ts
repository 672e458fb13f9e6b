/**
 * The capacity and egress arithmetic behind `npm run plan` (SPEC §1, §7). Encoding capacity comes from the
 * origin's own model (capacity.ts: the seed's L4 table, the CPU figures, A/B variants as two encodes), so the
 * planner and the node's admission check can never disagree. Active-active means every channel runs on two
 * nodes, so the encoding fleet is two identical copies.
 */
import {
  CPU_SOURCE,
  channelCost,
  type Device,
  type GpuModel,
  maxChannels,
  type WatermarkMode,
} from '../capacity.ts';
import type { Profile } from '../profiles.ts';

/** An average month (365 × 24 / 12), as cloud providers bill. */
export const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** decimal units, as egress is billed */
const GB = 1e9;
const TB = 1e12;
/** every channel on two nodes (SPEC §1: active-active) */
export const COPIES = 2;

export interface ChannelGroup {
  /** what the operator typed (e.g. `sports`) */
  type: string;
  profile: Profile;
  count: number;
}

export type EncodingDevice =
  | { kind: 'gpu'; gpu: GpuModel; perNode: number }
  | { kind: 'cpu'; coresPerNode: number };

export interface PlanInput {
  channels: ChannelGroup[];
  viewers: number;
  /** average bitrate a viewer pulls; derived from the channels' profiles when absent */
  bitrateBps?: number;
  device: EncodingDevice;
  watermark: WatermarkMode;
  /** average egress as a share of the peak (1 = the peak around the clock) */
  averageLoad: number;
  portGbps: number;
  /** highest share of a port's line rate planned for */
  portLoad: number;
  pricePerGb?: number;
  uplinkPricePerPort?: number;
  nodePricePerMonth?: number;
}

export interface CapacityRow {
  type: string;
  profile: string;
  channels: number;
  /** channels of this profile one device carries alone */
  perDevice: number;
  /** share of a device one channel takes */
  cost: number;
}

export interface Plan {
  capacity: { device: string; source: string; watermark: WatermarkMode; rows: CapacityRow[] };
  encoding: {
    /** GPUs (or CPU nodes) carrying one copy of every channel */
    devicesPerCopy: number;
    copies: number;
    devicesTotal: number;
    nodesPerCopy: number;
    nodesTotal: number;
    /** load of the busiest device, 0–1 */
    busiestDevice: number;
  } | null;
  egress: {
    viewers: number;
    bitrateBps: number;
    bitrateFrom: 'flag' | 'channel profiles';
    peakGbps: number;
    averageGbps: number;
    tbPerMonth: number;
    ports: number;
  };
  options: CostOption[];
  assumptions: string[];
}

export interface CostOption {
  name: string;
  egressPerMonth: number | null;
  encodingPerMonth: number | null;
  totalPerMonth: number | null;
  note: string;
}

function deviceOf(d: EncodingDevice): Device {
  return d.kind === 'gpu' ? { kind: 'gpu', model: d.gpu.model } : { kind: 'cpu', cores: d.coresPerNode };
}

/** Bits per second a viewer of this profile pulls (video + audio). */
export function profileBitrate(p: Profile): number {
  const parse = (s: string) => {
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s);
    if (!m) throw new Error(`profile ${p.id}: unreadable bitrate "${s}"`);
    return Number(m[1]) * ({ '': 1, k: 1e3, m: 1e6 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  };
  return parse(p.videoBitrate) + parse(p.audioBitrate);
}

/**
 * Devices needed for one copy of every channel: first-fit decreasing over each channel's share of a device
 * (a channel cannot be split across two GPUs, so the sum of shares is only a lower bound).
 */
export function packChannels(costs: number[]): number[] {
  const loads: number[] = [];
  for (const c of [...costs].sort((a, b) => b - a)) {
    if (c > 1 + 1e-9) throw new Error('one channel needs more than a whole device');
    const at = loads.findIndex((l) => l + c <= 1 + 1e-9);
    if (at >= 0) loads[at]! += c;
    else loads.push(c);
  }
  return loads;
}

export function computePlan(input: PlanInput): Plan {
  const device = deviceOf(input.device);
  const rows: CapacityRow[] = input.channels.map((g) => ({
    type: g.type,
    profile: g.profile.id,
    channels: g.count,
    perDevice: maxChannels(device, g.profile, input.watermark),
    cost: channelCost(device, g.profile, input.watermark),
  }));
  const totalChannels = rows.reduce((n, r) => n + r.channels, 0);

  let encoding: Plan['encoding'] = null;
  if (totalChannels > 0) {
    const loads = packChannels(rows.flatMap((r) => Array<number>(r.channels).fill(r.cost)));
    const perNode = input.device.kind === 'gpu' ? input.device.perNode : 1;
    const nodesPerCopy = Math.ceil(loads.length / perNode);
    encoding = {
      devicesPerCopy: loads.length,
      copies: COPIES,
      devicesTotal: loads.length * COPIES,
      nodesPerCopy,
      nodesTotal: nodesPerCopy * COPIES,
      busiestDevice: Math.round(Math.max(...loads) * 10_000) / 10_000,
    };
  }

  const bitrateBps =
    input.bitrateBps ??
    (totalChannels > 0
      ? input.channels.reduce((s, g) => s + g.count * profileBitrate(g.profile), 0) / totalChannels
      : 0);
  if (input.viewers > 0 && !(bitrateBps > 0)) {
    throw new Error('a viewer bitrate is needed (or channels to derive it from)');
  }
  const peakGbps = (input.viewers * bitrateBps) / 1e9;
  const averageGbps = peakGbps * input.averageLoad;
  const bytesPerMonth = (averageGbps * 1e9 * SECONDS_PER_MONTH) / 8;
  const ports = peakGbps > 0 ? Math.ceil(peakGbps / (input.portGbps * input.portLoad) - 1e-9) : 0;

  const encodingCost =
    encoding && input.nodePricePerMonth !== undefined ? encoding.nodesTotal * input.nodePricePerMonth : null;
  const withEncoding = (egress: number | null) => (egress === null ? null : egress + (encodingCost ?? 0));
  const metered = input.pricePerGb === undefined ? null : (bytesPerMonth / GB) * input.pricePerGb;
  const unmetered = input.uplinkPricePerPort === undefined ? null : ports * input.uplinkPricePerPort;
  const options: CostOption[] = [
    {
      name: 'cloud egress (metered)',
      egressPerMonth: metered,
      encodingPerMonth: encodingCost,
      totalPerMonth: withEncoding(metered),
      note:
        metered === null
          ? 'give --price-per-gb'
          : `${Math.round(bytesPerMonth / GB).toLocaleString('en-US')} GB × price per GB`,
    },
    {
      name: `unmetered ${input.portGbps}G ports`,
      egressPerMonth: unmetered,
      encodingPerMonth: encodingCost,
      totalPerMonth: withEncoding(unmetered),
      note:
        unmetered === null
          ? 'give --uplink-price'
          : `${ports} port${ports === 1 ? '' : 's'} at ≤ ${Math.round(input.portLoad * 100)} % of line rate`,
    },
  ];

  const deviceName =
    input.device.kind === 'gpu'
      ? `${input.device.gpu.model} (NVENC preset ${input.device.gpu.preset})`
      : `CPU node, ${input.device.coresPerNode} cores for libx264`;
  return {
    capacity: {
      device: deviceName,
      source: input.device.kind === 'gpu' ? input.device.gpu.source : CPU_SOURCE,
      watermark: input.watermark,
      rows,
    },
    encoding,
    egress: {
      viewers: input.viewers,
      bitrateBps,
      bitrateFrom: input.bitrateBps === undefined ? 'channel profiles' : 'flag',
      peakGbps,
      averageGbps,
      tbPerMonth: bytesPerMonth / TB,
      ports,
    },
    options,
    assumptions: [
      `active-active: every channel encoded on ${COPIES} nodes`,
      `month = ${HOURS_PER_MONTH} h; GB and TB are decimal (10^9, 10^12 bytes)`,
      `average egress = ${Math.round(input.averageLoad * 100)} % of the peak`,
      'encoding nodes also ingest, mux and encrypt on their CPUs; that cost is not modelled here',
    ],
  };
}
