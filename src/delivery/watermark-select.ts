/**
 * Which object a viewer's segment request is served from (SPEC §6). A rendition is watermarked when its media
 * playlist, as the origin writes it, carries `#EXT-X-EDGE-WATERMARK` — the origin, which encodes the variants,
 * is the one place that knows, so gateways need no channel list of their own. For such a rendition the player's
 * `{seq}.ts` is served from `{seq}.a.ts` or `{seq}.b.ts`, chosen for the viewer's account; the variant path is
 * what the cache and every origin request use, so a hit costs no origin round trip and failover works as for
 * any object.
 *
 * The flag is read from every media playlist the playlist route fetches (players load it before its
 * segments), so the segment path never waits for it. A rendition never seen is taken as unmarked, and any 404
 * re-reads its playlist: an origin of a watermarked channel holds no `{seq}.ts`, so the guess costs one 404 and
 * can never serve an unmarked copy, and a channel recreated with or without the mark corrects itself.
 */
import { LRUCache } from 'lru-cache';
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
  logger: Logger;
}

export class WatermarkSelect {
  private readonly deps: WatermarkSelectDeps;
  private readonly chooser: VariantChooser | undefined;
  /** `{channel}/{dir}` → watermarked */
  private readonly renditions = new LRUCache<string, boolean>({ max: 10_000 });

  constructor(deps: WatermarkSelectDeps) {
    this.deps = deps;
    this.chooser = deps.secret === undefined ? undefined : new VariantChooser({ secret: deps.secret });
  }

  /** A media playlist of `{channel}/{dir}` fresh from an origin. */
  observe(channel: string, dir: string, text: string): void {
    this.renditions.set(`${channel}/${dir}`, isWatermarkedPlaylist(text));
  }

  /** Serves `obj` — or, on a watermarked rendition, the viewer's variant of it — with `fetch`. */
  async serve(
    req: LiveRequest,
    obj: LiveObject,
    fetch: (o: LiveObject) => Promise<Response>,
  ): Promise<Response> {
    if (obj.kind !== 'segment' || obj.seq === undefined) return fetch(obj);
    const believed = this.renditions.get(`${req.channel}/${obj.dir}`) ?? false;
    try {
      return await fetch(await this.objectFor(req, obj, believed));
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'not_found') throw err;
      const marked = await this.relearn(req.channel, obj.dir, req.requestId);
      if (marked === undefined || marked === believed) throw err;
      return fetch(await this.objectFor(req, obj, marked));
    }
  }

  private async objectFor(req: LiveRequest, obj: LiveObject, marked: boolean): Promise<LiveObject> {
    if (!marked) return obj;
    if (!this.chooser) {
      this.deps.logger.error('watermarked channel, but WATERMARK_SECRET is not set', {
        requestId: req.requestId,
        channel: req.channel,
      });
      throw new ApiError('internal');
    }
    const variant = await this.chooser.variant(req.sub, req.channel, obj.seq as number);
    return { ...obj, path: variantPath(obj.path, variant), variant };
  }

  /** Reads the rendition's playlist again; undefined when it cannot be had (the 404 then stands). */
  private async relearn(channel: string, dir: string, requestId: string): Promise<boolean | undefined> {
    const text = await this.deps.loadPlaylist(channel, dir, requestId).catch(() => undefined);
    if (text === undefined) return undefined;
    this.observe(channel, dir, text);
    return isWatermarkedPlaylist(text);
  }
}
