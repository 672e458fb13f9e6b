/**
 * The node's channels: admission (capacity), persistence, the staggered start queue and one supervisor per
 * channel. The API layer only validates and calls in here.
 */
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../src/clock.ts';
import { ApiError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import { admit, channelCost, type Device, maxChannels, sourceOf, type WatermarkMode } from './capacity.ts';
import { type ChannelRequest, parseChannelRequest, redactInput } from './channel-request.ts';
import type { OriginConfig } from './config.ts';
import type { ProbeResult } from './encoder-probe.ts';
import { forgetChannel, type OriginMetrics } from './metrics.ts';
import { findProfile, PROFILES } from './profiles.ts';
import { StartQueue } from './start-queue.ts';
import type { ChannelDefinition, ChannelStore } from './store.ts';
import { ChannelSupervisor } from './supervisor.ts';

export interface ChannelManagerDeps {
  config: OriginConfig;
  probe: ProbeResult;
  device: Device;
  store: ChannelStore;
  clock: Clock;
  metrics: OriginMetrics;
  logger: Logger;
  ffmpeg?: string;
}

export class ChannelManager {
  readonly queue: StartQueue;
  private readonly deps: ChannelManagerDeps;
  private readonly channels = new Map<string, ChannelSupervisor>();

  constructor(deps: ChannelManagerDeps) {
    this.deps = deps;
    this.queue = new StartQueue({
      intervalMs: deps.config.startInterval * 1000,
      clock: deps.clock,
      onChange: (n) => deps.metrics.startQueueLength.set(n),
    });
    deps.metrics.capacityTotal.set(1);
    deps.metrics.capacityUsed.set(0);
  }

  /** Brings back the stored channels (in their stored order, through the queue) and starts the queue. */
  async boot(): Promise<void> {
    for (const def of await this.deps.store.load()) {
      let req: ChannelRequest;
      try {
        req = parseChannelRequest(
          {
            id: def.id,
            input: def.input,
            profile: def.profile,
            encrypt: def.encrypt,
            watermark: def.watermark,
          },
          { allowFileInput: this.deps.config.allowFileInput },
        );
        this.checkSecrets(req);
      } catch (err) {
        throw new Error(`stored channel "${String(def.id)}" is no longer valid: ${(err as Error).message}`);
      }
      await this.add({ ...req, createdAt: def.createdAt });
    }
    if (this.used() > 1 + 1e-9) {
      this.deps.logger.warn('stored channels exceed the capacity of this node', { used: this.used() });
    }
    this.queue.run();
  }

  /** Admits, persists and queues a new channel; throws ApiError for duplicates, capacity and bad inputs. */
  async create(req: ChannelRequest): Promise<ChannelDefinition> {
    this.checkSecrets(req);
    if (req.input.startsWith('file:')) {
      await access(fileURLToPath(req.input), constants.R_OK).catch(() => {
        throw new ApiError('bad_request', 'input: file is not readable on this node', {
          details: { field: 'input' },
        });
      });
    }
    // from here to the map insertion nothing awaits, so concurrent requests cannot both pass these checks
    if (this.channels.has(req.id)) {
      throw new ApiError('conflict', `channel "${req.id}" already exists`, { details: { field: 'id' } });
    }
    const profile = findProfile(req.profile)!;
    const admission = admit(this.deps.device, this.used(), profile, markOf(req));
    if (!admission.ok) {
      throw new ApiError('capacity_exceeded', `no capacity for another ${profile.id} channel on this node`, {
        details: {
          capacity: { ...admission.figures, encoder: this.deps.probe.encoder, channels: this.channels.size },
        },
      });
    }
    const def: ChannelDefinition = { ...req, createdAt: new Date(this.deps.clock.now()).toISOString() };
    const sup = this.supervisorFor(def);
    this.channels.set(def.id, sup);
    try {
      await this.persist();
    } catch (err) {
      this.channels.delete(def.id);
      throw err;
    }
    this.updateCapacity();
    await sup.begin();
    this.deps.logger.info('channel created', {
      channel: def.id,
      profile: def.profile,
      input: redactInput(def.input),
    });
    return def;
  }

  /** Stops a channel, forgets it and deletes its served files; false when there is no such channel. */
  async remove(id: string): Promise<boolean> {
    const sup = this.channels.get(id);
    if (!sup) return false;
    this.channels.delete(id);
    await this.persist();
    this.updateCapacity();
    await sup.stop();
    await sup.removeFiles();
    forgetChannel(this.deps.metrics, id);
    this.deps.logger.info('channel removed', { channel: id });
    return true;
  }

  get encoder(): string {
    return this.deps.probe.encoder;
  }

  get(id: string): ChannelSupervisor | undefined {
    return this.channels.get(id);
  }

  list(): ChannelSupervisor[] {
    return [...this.channels.values()];
  }

  /** Share of the device admitted channels take (queued and restarting ones included). */
  used(): number {
    let sum = 0;
    for (const sup of this.channels.values())
      sum += channelCost(this.deps.device, sup.profile, markOf(sup.def));
    return sum;
  }

  capacityView() {
    const device = this.deps.device;
    const used = this.used();
    return {
      nodeId: this.deps.config.nodeId,
      encoder: this.deps.probe.encoder,
      device,
      nvenc: this.deps.probe.nvenc,
      ffmpeg: this.deps.probe.ffmpegVersion,
      total: 1,
      used: Math.round(used * 10_000) / 10_000,
      free: Math.max(0, Math.round((1 - used) * 10_000) / 10_000),
      overcommitted: used > 1 + 1e-9,
      channels: this.channels.size,
      startQueue: {
        intervalSeconds: this.deps.config.startInterval,
        waiting: this.queueOrder(),
        recentStarts: this.queue
          .recentStarts()
          .map((s) => ({ channel: s.id, at: new Date(s.at).toISOString() })),
      },
      profiles: Object.fromEntries(
        Object.values(PROFILES).map((p) => [
          p.id,
          {
            maxChannels: maxChannels(device, p),
            cost: Math.round(channelCost(device, p) * 10_000) / 10_000,
            maxWatermarkedChannels: maxChannels(device, p, 'ab'),
          },
        ]),
      ),
      source: sourceOf(device),
    };
  }

  queueOrder(): string[] {
    return this.list()
      .filter((s) => this.queue.position(s.def.id) !== undefined)
      .sort((a, b) => this.queue.position(a.def.id)! - this.queue.position(b.def.id)!)
      .map((s) => s.def.id);
  }

  /** Graceful shutdown: nothing new starts, every ffmpeg is stopped; definitions stay on disk. */
  async shutdown(): Promise<void> {
    this.queue.halt();
    await Promise.all(this.list().map((s) => s.stop()));
  }

  private async add(def: ChannelDefinition): Promise<void> {
    const sup = this.supervisorFor(def);
    this.channels.set(def.id, sup);
    this.updateCapacity();
    await sup.begin();
  }

  private supervisorFor(def: ChannelDefinition): ChannelSupervisor {
    const secrets = this.deps.config.channelKeySecrets;
    return new ChannelSupervisor({
      def,
      profile: findProfile(def.profile)!,
      encoder: this.deps.probe.encoder,
      dataDir: this.deps.config.dataDir,
      queue: this.queue,
      clock: this.deps.clock,
      metrics: this.deps.metrics,
      logger: this.deps.logger,
      ...(def.encrypt && secrets?.[0]
        ? { encryption: { secret: secrets[0], keyPeriod: this.deps.config.keyPeriod } }
        : {}),
      ...(def.watermark && this.deps.config.watermarkSecret
        ? { watermarkSecret: this.deps.config.watermarkSecret }
        : {}),
      ...(this.deps.ffmpeg ? { ffmpeg: this.deps.ffmpeg } : {}),
    });
  }

  private checkSecrets(req: ChannelRequest): void {
    if (req.encrypt && !this.deps.config.channelKeySecrets) {
      throw new ApiError('bad_request', 'encrypt: this node has no CHANNEL_KEY_SECRET', {
        details: { field: 'encrypt' },
      });
    }
    if (req.watermark && !this.deps.config.watermarkSecret) {
      throw new ApiError('bad_request', 'watermark: this node has no WATERMARK_SECRET', {
        details: { field: 'watermark' },
      });
    }
  }

  private persist(): Promise<void> {
    return this.deps.store.save(this.list().map((s) => s.def));
  }

  private updateCapacity(): void {
    this.deps.metrics.capacityUsed.set(this.used());
  }
}

/** A watermarked channel encodes variants A and B: two encodes (capacity.ts). */
function markOf(channel: { watermark: boolean }): WatermarkMode {
  return channel.watermark ? 'ab' : 'none';
}
