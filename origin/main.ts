/**
 * `npm run origin`: the origin node. Reads the environment once, probes the encoder, restores the stored
 * channels, serves the app, and on SIGTERM/SIGINT stops every ffmpeg gracefully before exiting 0.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '../src/clock.ts';
import { createLogger, errorFields } from '../src/log.ts';
import { createNodeServer } from '../src/node-server.ts';
import { createOriginApp } from './app.ts';
import type { Device } from './capacity.ts';
import { ChannelManager } from './channels.ts';
import { ConfigError, type OriginConfig, parseOriginConfig } from './config.ts';
import { probeEncoder } from './encoder-probe.ts';
import { registerGpuMetrics } from './gpu-metrics.ts';
import { createOriginMetrics } from './metrics.ts';
import { ChannelStore } from './store.ts';

function loadConfig(): OriginConfig {
  try {
    return parseOriginConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { service: 'origin', node: config.nodeId } });
  await mkdir(config.dataDir, { recursive: true });
  const probe = await probeEncoder({
    choice: config.encoder,
    gpuModel: config.gpuModel,
    workDir: join(config.dataDir, 'work'),
  });
  logger.info('encoder probed', { encoder: probe.encoder, nvenc: probe.nvenc, ffmpeg: probe.ffmpegVersion });
  const device: Device =
    probe.encoder === 'nvenc' && probe.gpuModel
      ? { kind: 'gpu', model: probe.gpuModel }
      : { kind: 'cpu', cores: config.cpuCapacity };
  const metrics = createOriginMetrics();
  metrics.encoderInfo.set(
    { encoder: probe.encoder, device: device.kind === 'gpu' ? device.model : 'cpu' },
    1,
  );
  // VRAM, NVENC/NVDEC utilisation and sessions, read per scrape; nothing at all on a node without a GPU
  await registerGpuMetrics(metrics.registry, { logger });
  const manager = new ChannelManager({
    config,
    probe,
    device,
    store: new ChannelStore(config.dataDir),
    clock: systemClock,
    metrics,
    logger,
  });
  // stored channels are restored before the API listens, so no request can race the restore
  await manager.boot();
  let ready = true;
  const app = createOriginApp({ config, manager, metrics, logger, ready: () => ready });
  // the gateway's server setup: every refusal, even one the app never sees, in the JSON error shape
  const server = createNodeServer(app.fetch, {});
  server.listen(config.port, config.host, () =>
    logger.info('origin ready', {
      host: config.host,
      port: (server.address() as AddressInfo).port,
      dataDir: config.dataDir,
      channels: manager.list().length,
    }),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info('stopping', { signal });
    await manager.shutdown();
    server.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(JSON.stringify({ level: 'error', msg: 'origin failed to start', ...errorFields(err) }));
  process.exit(1);
});
