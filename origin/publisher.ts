/**
 * Publishes one channel's finished segments into its served directory: AES-128-CBC encryption (PKCS#7) with
 * the derived key of the segment's period and its sequence IV (SPEC §6; never ffmpeg's own HLS encryption,
 * whose IV follows each process's first number), atomic renames, the media playlist, and removal of segments
 * that left the window. Its record outlives ffmpeg runs and node restarts (it reads back its own playlist).
 * A watermarked channel publishes two files per sequence number, `{seq}.a.ts` and `{seq}.b.ts` (each encrypted
 * with the same key and IV), lists `{seq}.ts` and tags its playlist so the gateway serves one variant per viewer.
 */
import { createCipheriv } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChannelKeySecret, deriveChannelKey, keyPeriod, sequenceIv } from '../src/delivery/keys.ts';
import type { Variant } from '../src/delivery/watermark-code.ts';
import {
  breaksTimeline,
  buildWindow,
  type KeyRef,
  type PlaylistEntry,
  parsePlaylist,
  renderPlaylist,
  segmentFileName,
  variantFileName,
} from './playlist.ts';

export interface PublisherOptions {
  channel: string;
  /** served directory: `{DATA_DIR}/live/{channel}` */
  liveDir: string;
  segmentSeconds: number;
  listSize: number;
  /** present for encrypted channels: current secret first, key period in segments */
  encryption?: { secret: ChannelKeySecret; keyPeriod: number };
  /** a watermarked channel: every segment comes as variants a and b */
  watermark?: boolean;
}

/** The files ffmpeg finished for one interval: one, or (watermarked channel) one per variant. */
export type SegmentFiles = { file: string } | { variants: Record<Variant, string> };

export type FinishedSegment = { seq: number; utcStart: number; duration: number } & SegmentFiles;

export function filesOf(files: SegmentFiles): string[] {
  return 'file' in files ? [files.file] : [files.variants.a, files.variants.b];
}

const VARIANTS: readonly Variant[] = ['a', 'b'];
const SERVED_RE = /^(\d+)(?:\.[ab])?\.ts$/;

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
      if (!entry.gap && this.servedNames(entry.seq).every((n) => files.has(n)))
        this.held.set(entry.seq, entry);
      this.newest = Math.max(this.newest ?? entry.seq, entry.seq);
    }
    for (const name of files) {
      const seq = SERVED_RE.exec(name)?.[1];
      if (seq !== undefined && !(this.held.has(Number(seq)) && this.servedNames(Number(seq)).includes(name)))
        await rm(join(this.opts.liveDir, name), { force: true });
    }
  }

  /**
   * Moves a finished segment (a file ffmpeg closed, on the same filesystem) into the served directory as
   * `{seq}.ts` — or its two variants as `{seq}.a.ts` and `{seq}.b.ts` — encrypted when the channel is, then
   * rewrites the playlist.
   */
  async publish(seg: FinishedSegment): Promise<void> {
    const key = this.keyRefFor(seg.seq);
    const contentKey =
      this.opts.encryption && key
        ? await deriveChannelKey(this.opts.encryption.secret, this.opts.channel, key.period)
        : undefined;
    if ('variants' in seg) {
      for (const v of VARIANTS)
        await this.place(seg.variants[v], variantFileName(seg.seq, v), seg.seq, contentKey);
    } else {
      await this.place(seg.file, segmentFileName(seg.seq), seg.seq, contentKey);
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

  /** Renames `file` into the served directory as `name`, encrypted with the sequence IV when there is a key. */
  private async place(file: string, name: string, seq: number, contentKey: Uint8Array | undefined) {
    const target = join(this.opts.liveDir, name);
    if (!contentKey) {
      await rename(file, target);
      return;
    }
    const cipher = createCipheriv('aes-128-cbc', contentKey, sequenceIv(seq));
    const tmp = `${file}.enc`;
    await writeFile(tmp, Buffer.concat([cipher.update(await readFile(file)), cipher.final()]));
    await rename(tmp, target);
    await unlink(file);
  }

  /** The files segment `seq` is served from. */
  private servedNames(seq: number): string[] {
    return this.opts.watermark ? VARIANTS.map((v) => variantFileName(seq, v)) : [segmentFileName(seq)];
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
    const text = renderPlaylist(window, this.opts.segmentSeconds, {
      watermark: this.opts.watermark ?? false,
    });
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
      for (const name of this.servedNames(seq)) await rm(join(this.opts.liveDir, name), { force: true });
    }
  }
}
