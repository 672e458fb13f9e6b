/**
 * Which object a viewer's segment request is served from (SPEC §6). A rendition is watermarked when its media
 * playlist, as the origin writes it, carries `#EXT-X-EDGE-WATERMARK` — the origin, which encodes the variants,
 * is the one place that knows, so gateways need no channel list of their own. For such a rendition the player's
 * `{seq}.ts` is served from `{seq}.a.ts` or `{seq}.b.ts`, chosen for the viewer's account; the variant path is
 * what the cache and every origin request use, so a hit costs no origin round trip and failover works as for
 * any object. Origins of a watermarked channel hold no `{seq}.ts`: a gateway that has not learnt the flag
 * yet, or has no WATERMARK_SECRET, can never serve an unmarked copy.
 *
 * What a rendition is, is learnt from the playlist route's cache (players load the playlist before its
 * segments) and remembered for `memoryMs`; when the playlist cannot be loaded, the last answer stands.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LiveObject } from './paths.ts';
import type { LiveRequest } from './types.ts';
import { type Variant, WATERMARK_TAG } from './watermark-code.ts';
import { VariantChooser } from './watermark-variants.ts';

/** The tag on a line of its own, with or without attributes (its name holds no regex syntax). */
const TAG_RE = new RegExp(`^${WATERMARK_TAG}(?::.*)?\\r?$`, 'm');

export function isWatermarkedPlaylist(text: string): boolean {
  return TAG_RE.test(text);
}

/** `12.ts` → `12.a.ts`: the variant's name beside the name the player asks for. */
export function variantPath(path: string, variant: Variant): string {
  const dot = path.lastIndexOf('.');
  return `${path.slice(0, dot)}.${variant}${path.slice(dot)}`;
}

export interface WatermarkSelectDeps {
  /** WATERMARK_SECRET; without it a watermarked rendition cannot be served */
  secret: string | undefined;
  /** the media playlist of `{channel}/{dir}` as the origin wrote it (through the playlist cache) */
  loadPlaylist(channel: string, dir: string, requestId: string): Promise<string>;
  clock: Clock;
  logger: Logger;
  memoryMs?: number;
}

interface Known {
  marked: boolean;
  at: number;
}

export class WatermarkSelect {
  private readonly deps: WatermarkSelectDeps;
  private readonly chooser: VariantChooser | undefined;
  private readonly renditions = new LRUCache<string, Known>({ max: 10_000 });
  private readonly memoryMs: number;

  constructor(deps: WatermarkSelectDeps) {
    this.deps = deps;
    this.memoryMs = deps.memoryMs ?? 10_000;
    this.chooser = deps.secret === undefined ? undefined : new VariantChooser({ secret: deps.secret });
  }

  /** The object to fetch for this viewer: `obj` itself, or the viewer's variant of it. */
  async select(req: LiveRequest, obj: LiveObject): Promise<LiveObject> {
    if (obj.kind !== 'segment' || obj.seq === undefined) return obj;
    if (!(await this.isMarked(req.channel, obj.dir, req.requestId))) return obj;
    if (!this.chooser) {
      this.deps.logger.error('watermarked channel, but WATERMARK_SECRET is not set', {
        requestId: req.requestId,
        channel: req.channel,
      });
      throw new ApiError('internal');
    }
    const variant = await this.chooser.variant(req.sub, req.channel, obj.seq);
    return { ...obj, path: variantPath(obj.path, variant), variant };
  }

  private async isMarked(channel: string, dir: string, requestId: string): Promise<boolean> {
    const id = `${channel}/${dir}`;
    const known = this.renditions.get(id);
    const now = this.deps.clock.now();
    if (known && now - known.at <= this.memoryMs) return known.marked;
    let text: string;
    try {
      text = await this.deps.loadPlaylist(channel, dir, requestId);
    } catch (err) {
      if (known) return known.marked;
      throw err;
    }
    const marked = isWatermarkedPlaylist(text);
    this.renditions.set(id, { marked, at: now });
    return marked;
  }
}
