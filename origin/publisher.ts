/**
 * Publishes one channel's finished segments into its served directory: AES-128-CBC encryption (PKCS#7) with
 * the derived key of the segment's period and its sequence IV (SPEC §6; never ffmpeg's own HLS encryption,
 * whose IV follows each process's first number), atomic renames, the media playlist, and removal of segments
 * that left the window. Its record outlives ffmpeg runs and node restarts (it reads back its own playlist).
 */
import { createCipheriv } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChannelKeySecret, deriveChannelKey, keyPeriod, sequenceIv } from '../src/delivery/keys.ts';
import {
  breaksTimeline,
  buildWindow,
  type KeyRef,
  type PlaylistEntry,
  parsePlaylist,
  renderPlaylist,
  segmentFileName,
} from './playlist.ts';

export interface PublisherOptions {
  channel: string;
  /** served directory: `{DATA_DIR}/live/{channel}` */
  liveDir: string;
  segmentSeconds: number;
  listSize: number;
  /** present for encrypted channels: current secret first, key period in segments */
  encryption?: { secret: ChannelKeySecret; keyPeriod: number };
}

/** Segments kept on disk beyond the playlist window, for players and caches a little behind. */
const RETAIN_EXTRA = 4;

export class Publisher {
  private readonly opts: PublisherOptions;
  private readonly held = new Map<number, PlaylistEntry>();
  private newest: number | undefined;

  constructor(opts: PublisherOptions) {
    this.opts = opts;
  }

  get lastSequence(): number | undefined {
    return this.newest;
  }

  /** Picks up where the previous process left off: its playlist, for the segments still on disk. */
  async restore(): Promise<void> {
    await mkdir(this.opts.liveDir, { recursive: true });
    const files = new Set(await readdir(this.opts.liveDir));
    const text = files.has('index.m3u8') ? await readFile(join(this.opts.liveDir, 'index.m3u8'), 'utf8') : '';
    for (const entry of parsePlaylist(text)) {
      if (!entry.gap && files.has(segmentFileName(entry.seq))) this.held.set(entry.seq, entry);
      this.newest = Math.max(this.newest ?? entry.seq, entry.seq);
    }
    for (const name of files) {
      const seq = /^(\d+)\.ts$/.exec(name)?.[1];
      if (seq !== undefined && !this.held.has(Number(seq)))
        await rm(join(this.opts.liveDir, name), { force: true });
    }
  }

  /**
   * Moves a finished segment (a file ffmpeg closed, on the same filesystem) into the served directory as
   * `{seq}.ts`, encrypted when the channel is, then rewrites the playlist.
   *
   * Extension point for watermark A/B variants (SPEC §6, a later issue): a run that encodes twice yields two
   * files per sequence number; each is published here as `{seq}.a.ts` / `{seq}.b.ts` with the same key and IV,
   * the playlist keeps listing `{seq}.ts` (the gateway serves one variant under that name), and the live
   * route's name pattern admits the two variant names.
   */
  async publish(seg: { seq: number; utcStart: number; duration: number; file: string }): Promise<void> {
    const key = this.keyRefFor(seg.seq);
    const target = join(this.opts.liveDir, segmentFileName(seg.seq));
    if (this.opts.encryption && key) {
      const clear = await readFile(seg.file);
      const contentKey = await deriveChannelKey(this.opts.encryption.secret, this.opts.channel, key.period);
      const cipher = createCipheriv('aes-128-cbc', contentKey, sequenceIv(seg.seq));
      const tmp = `${seg.file}.enc`;
      await writeFile(tmp, Buffer.concat([cipher.update(clear), cipher.final()]));
      await rename(tmp, target);
      await unlink(seg.file);
    } else {
      await rename(seg.file, target);
    }
    const previous = this.newest === undefined ? undefined : this.held.get(this.newest);
    const entry: PlaylistEntry = {
      seq: seg.seq,
      duration: seg.duration,
      utcStart: seg.utcStart,
      ...(key ? { key } : {}),
      ...(breaksTimeline(previous, seg.seq, seg.utcStart, this.opts.segmentSeconds)
        ? { discontinuity: true }
        : {}),
    };
    this.held.set(seg.seq, entry);
    this.newest = seg.seq;
    await this.writePlaylist();
    await this.removeExpired();
  }

  /** Deletes the channel's served files (the channel was removed). */
  async removeAll(): Promise<void> {
    await rm(this.opts.liveDir, { recursive: true, force: true });
    this.held.clear();
    this.newest = undefined;
  }

  private keyRefFor(seq: number): KeyRef | undefined {
    const enc = this.opts.encryption;
    return enc ? { version: enc.secret.version, period: keyPeriod(seq, enc.keyPeriod) } : undefined;
  }

  private async writePlaylist(): Promise<void> {
    if (this.newest === undefined) return;
    const window = buildWindow(this.held, this.newest, this.opts.listSize, this.opts.segmentSeconds, (s) =>
      this.keyRefFor(s),
    );
    const text = renderPlaylist(window, this.opts.segmentSeconds);
    const tmp = join(this.opts.liveDir, '.index.m3u8.tmp');
    await writeFile(tmp, text);
    await rename(tmp, join(this.opts.liveDir, 'index.m3u8'));
  }

  private async removeExpired(): Promise<void> {
    if (this.newest === undefined) return;
    const oldest = this.newest - this.opts.listSize - RETAIN_EXTRA;
    for (const seq of [...this.held.keys()]) {
      if (seq >= oldest) continue;
      this.held.delete(seq);
      await rm(join(this.opts.liveDir, segmentFileName(seq)), { force: true });
    }
  }
}
