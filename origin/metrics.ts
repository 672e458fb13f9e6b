/**
 * Prometheus instruments of one origin node (a registry per app instance, so tests can run several nodes in
 * one process). Labels are bounded: channel ids are operator-defined and capacity-limited, routes are patterns.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../src/metrics.ts';

export const CHANNEL_STATES = ['queued', 'starting', 'running', 'restarting', 'stopping'] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];
/** exit: ffmpeg died or lost its input; resync: the feed jumped; rotation: the run neared one PTS epoch */
export const RESTART_REASONS = ['exit', 'resync', 'rotation'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

export function createOriginMetrics() {
  const registry = new Registry();
  // process CPU, memory, event-loop lag and GC, as on the gateway (the dashboard's process panels)
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const channel = ['channel'] as const;
  return {
    registry,
    channelFps: new Gauge({
      name: 'origin_channel_fps',
      help: 'Encoding frames per second',
      labelNames: channel,
      registers,
    }),
    channelSpeed: new Gauge({
      name: 'origin_channel_speed',
      help: 'Encoding speed relative to real time (1 = keeping up)',
      labelNames: channel,
      registers,
    }),
    channelOutTime: new Gauge({
      name: 'origin_channel_out_time_seconds',
      help: "ffmpeg's output position on the run's timeline; advances one second per second while live",
      labelNames: channel,
      registers,
    }),
    channelDroppedFrames: new Counter({
      name: 'origin_channel_dropped_frames_total',
      help: 'Frames ffmpeg dropped',
      labelNames: channel,
      registers,
    }),
    channelDuplicatedFrames: new Counter({
      name: 'origin_channel_duplicated_frames_total',
      help: 'Frames ffmpeg duplicated',
      labelNames: channel,
      registers,
    }),
    channelRestarts: new Counter({
      name: 'origin_channel_restarts_total',
      help: 'ffmpeg restarts (crash, lost input, re-synchronisation, rotation)',
      labelNames: ['channel', 'reason'] as const,
      registers,
    }),
    channelState: new Gauge({
      name: 'origin_channel_state',
      help: '1 for the state each channel is in',
      labelNames: ['channel', 'state'] as const,
      registers,
    }),
    channelSegments: new Counter({
      name: 'origin_channel_segments_total',
      help: 'Segments published',
      labelNames: channel,
      registers,
    }),
    channelSequence: new Gauge({
      name: 'origin_channel_sequence',
      help: 'Newest published media sequence number',
      labelNames: channel,
      registers,
    }),
    startQueueLength: new Gauge({
      name: 'origin_start_queue_length',
      help: 'Channel starts waiting in the staggered start queue',
      registers,
    }),
    capacityUsed: new Gauge({
      name: 'origin_capacity_used',
      help: 'Share of the encoding device taken by admitted channels (1 = full)',
      registers,
    }),
    capacityTotal: new Gauge({
      name: 'origin_capacity_total',
      help: 'Capacity of the encoding device',
      registers,
    }),
    encoderInfo: new Gauge({
      name: 'origin_encoder_info',
      help: 'Encoder in use (1) and the device it runs on',
      labelNames: ['encoder', 'device'] as const,
      registers,
    }),
    httpRequests: new Counter({
      name: 'origin_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'origin_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern',
      labelNames: ['route'] as const,
      buckets: [...LATENCY_BUCKETS],
      registers,
    }),
  };
}

export type OriginMetrics = ReturnType<typeof createOriginMetrics>;

/** Sets the state gauge of a channel to exactly one state (or none, once the channel is gone). */
export function setChannelState(m: OriginMetrics, channel: string, state: ChannelState | undefined): void {
  for (const s of CHANNEL_STATES) m.channelState.set({ channel, state: s }, s === state ? 1 : 0);
}

/** Creates a channel's counters at zero, so rates and alerts see them before the first event. */
export function initChannel(m: OriginMetrics, channel: string): void {
  for (const c of [m.channelDroppedFrames, m.channelDuplicatedFrames, m.channelSegments])
    c.inc({ channel }, 0);
  for (const reason of RESTART_REASONS) m.channelRestarts.inc({ channel, reason }, 0);
}

/** Drops every series of a removed channel. */
export function forgetChannel(m: OriginMetrics, channel: string): void {
  for (const g of [m.channelFps, m.channelSpeed, m.channelOutTime, m.channelSequence]) g.remove({ channel });
  for (const c of [m.channelDroppedFrames, m.channelDuplicatedFrames, m.channelSegments])
    c.remove({ channel });
  for (const s of CHANNEL_STATES) m.channelState.remove({ channel, state: s });
  for (const reason of RESTART_REASONS) m.channelRestarts.remove({ channel, reason });
}
