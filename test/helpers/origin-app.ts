/**
 * An origin node's app in-process for app.request() tests: real config parsing, channel manager, store and
 * metrics, a libx264 probe result (no ffmpeg is started until the start queue runs), a manual clock.
 */
import { createOriginApp } from '../../origin/app.ts';
import { ChannelManager } from '../../origin/channels.ts';
import { parseOriginConfig } from '../../origin/config.ts';
import type { ProbeResult } from '../../origin/encoder-probe.ts';
import { createOriginMetrics } from '../../origin/metrics.ts';
import { ChannelStore } from '../../origin/store.ts';
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';

export const LIBX264_PROBE: ProbeResult = {
  encoder: 'libx264',
  ffmpegVersion: 'ffmpeg 5.1',
  nvenc: { usable: false, reason: 'none' },
  gpuModel: undefined,
};

/** `env` is the node's environment (OPERATOR_API_KEY and DATA_DIR at least). */
export function inProcessOrigin(env: Record<string, string>) {
  const config = parseOriginConfig(env);
  const metrics = createOriginMetrics();
  const manager = new ChannelManager({
    config,
    probe: LIBX264_PROBE,
    device: { kind: 'cpu', cores: config.cpuCapacity },
    store: new ChannelStore(config.dataDir),
    clock: manualClock(),
    metrics,
    logger: silentLogger,
  });
  const app = createOriginApp({ config, manager, metrics, logger: silentLogger, ready: () => true });
  return { config, metrics, manager, app };
}
