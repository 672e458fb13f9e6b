/**
 * Encoder capacity model (SPEC §1, §7), as data plus the arithmetic the admission check and the planner CLI
 * share. A device's capacity is 1.0; a channel costs the fraction of it one encode of its profile takes, so
 * channels of different profiles mix. Figures and their sources:
 * - NVIDIA L4, NVENC preset P5 (seed: IPTV production guide): 24 sports 1080p@6M or 32 news 1080p@3M
 *   concurrent encodes; −15 % when the forensic watermark is embedded in the encoder (20 / 27).
 *   The small test profile is counted as a news stream on a GPU (no figure exists; this errs on the safe side).
 * - CPU (libx264): `CPU_CAPACITY` cores are given to encoding; each profile's `cpuCores` is what one encode
 *   takes. test-180p was measured on this machine kind (2 shared cores, Debian ffmpeg 5.1, ultrafast);
 *   the 1080p figures are estimates for libx264 `veryfast` in real time and should be measured per host.
 * - A/B watermark variants made by encoding twice count as two encodes. Measured here for test-180p (one
 *   process: one decode, the mark, two encodes): 4.5–4.7 % of a core against 2.6–2.7 % plain, ×1.76; offline
 *   ×1.6 for news-1080p on libx264 (docs/watermarking.md). Two encodes cover both.
 */
import type { Profile } from './profiles.ts';

export interface GpuModel {
  model: string;
  preset: string;
  streams: { 'sports-1080p': number; 'news-1080p': number };
  /** share of capacity left when the watermark is embedded in the encoder */
  embeddedWatermarkFactor: number;
  source: string;
}

export const GPU_MODELS: Readonly<Record<string, GpuModel>> = {
  'NVIDIA L4': {
    model: 'NVIDIA L4',
    preset: 'p5',
    streams: { 'sports-1080p': 24, 'news-1080p': 32 },
    embeddedWatermarkFactor: 0.85,
    source:
      'IPTV production guide (seed): L4 at preset P5, 24 sports 1080p@6M / 32 news 1080p@3M, -15% watermarked',
  },
};

export const CPU_SOURCE =
  'test-180p measured here (libx264 ultrafast, 320x180@15, /proc/<pid>/stat over 20 s); 1080p figures are estimates';

export type Device = { kind: 'gpu'; model: string } | { kind: 'cpu'; cores: number };

/** none: one encode; embedded: one encode with the mark in the encoder; ab: two encodes (variants a and b). */
export type WatermarkMode = 'none' | 'embedded' | 'ab';

export function findGpuModel(name: string): GpuModel | undefined {
  const key = Object.keys(GPU_MODELS).find((k) => k.toLowerCase() === name.trim().toLowerCase());
  return key === undefined ? undefined : GPU_MODELS[key];
}

function encodesOf(mark: WatermarkMode): number {
  return mark === 'ab' ? 2 : 1;
}

/** Concurrent encodes of this profile one device sustains (one encode per channel, two with A/B variants). */
function encodeSlots(device: Device, profile: Profile, mark: WatermarkMode): number {
  if (device.kind === 'cpu') return device.cores / profile.cpuCores;
  const gpu = findGpuModel(device.model);
  if (!gpu) throw new Error(`no capacity figures for GPU model "${device.model}"`);
  const base =
    profile.capacityClass === 'sports-1080p' ? gpu.streams['sports-1080p'] : gpu.streams['news-1080p'];
  return mark === 'embedded' ? Math.floor(base * gpu.embeddedWatermarkFactor) : base;
}

/** The share of the device one channel of `profile` takes (1.0 = the whole device). */
export function channelCost(device: Device, profile: Profile, mark: WatermarkMode = 'none'): number {
  return encodesOf(mark) / encodeSlots(device, profile, mark);
}

/** How many channels of one profile fit on an otherwise idle device. */
export function maxChannels(device: Device, profile: Profile, mark: WatermarkMode = 'none'): number {
  return Math.floor(encodeSlots(device, profile, mark) / encodesOf(mark) + 1e-9);
}

export interface CapacityFigures {
  device: Device;
  /** share of the device taken by admitted channels (queued ones included) */
  used: number;
  /** always 1: the whole device */
  total: number;
  /** cost of the channel being admitted, when there is one */
  requested?: number;
  /** channels of the requested profile that still fit */
  remainingOfProfile?: number;
  source: string;
}

export interface Admission {
  ok: boolean;
  figures: CapacityFigures;
}

/** Whether a channel of `profile` fits next to channels that already take `used` of the device. */
export function admit(
  device: Device,
  used: number,
  profile: Profile,
  mark: WatermarkMode = 'none',
): Admission {
  const requested = channelCost(device, profile, mark);
  const free = Math.max(0, 1 - used);
  const figures: CapacityFigures = {
    device,
    used: round(used),
    total: 1,
    requested: round(requested),
    remainingOfProfile: Math.floor(free / requested + 1e-9),
    source: sourceOf(device),
  };
  return { ok: used + requested <= 1 + 1e-9, figures };
}

export function sourceOf(device: Device): string {
  return device.kind === 'cpu' ? CPU_SOURCE : (findGpuModel(device.model)?.source ?? 'unknown GPU model');
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
