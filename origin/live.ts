/**
 * Serves the published HLS objects (SPEC §6, §7): `/live/{channel}/index.m3u8` and `/live/{channel}/{seq}.ts`
 * (or, on a watermarked channel, its variants `{seq}.a.ts` / `{seq}.b.ts`, which only the gateway asks for),
 * the same layout nginx/origin.conf serves. Names are matched strictly (no traversal, no hidden temp files);
 * with ORIGIN_SECRET set, requests without the matching `X-Origin-Secret` are refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Hono } from 'hono';
import { ApiError } from '../src/errors.ts';
import { CHANNEL_ID_RE } from './channel-request.ts';
import { safeEqual } from './safe-equal.ts';

const PLAYLIST = 'index.m3u8';
const SEGMENT_RE = /^\d{1,20}(?:\.[ab])?\.ts$/;

export function liveRoutes(opts: { dataDir: string; originSecret: string | undefined }) {
  const live = new Hono();

  live.use('*', async (c, next) => {
    if (
      opts.originSecret !== undefined &&
      !safeEqual(c.req.header('x-origin-secret') ?? '', opts.originSecret)
    ) {
      throw new ApiError('unauthorized', 'Missing or invalid origin secret');
    }
    await next();
  });

  live.get('/:channel/:file', async (c) => {
    const channel = c.req.param('channel');
    const file = c.req.param('file');
    const isPlaylist = file === PLAYLIST;
    if (!CHANNEL_ID_RE.test(channel) || !(isPlaylist || SEGMENT_RE.test(file))) {
      throw new ApiError('not_found');
    }
    let body: Buffer;
    try {
      body = await readFile(join(opts.dataDir, 'live', channel, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ApiError('not_found');
      throw err;
    }
    return c.body(new Uint8Array(body), 200, {
      'content-type': isPlaylist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
      'content-length': String(body.length),
      // playlists change every segment; a segment's name is never reused (numbers only go up)
      'cache-control': isPlaylist ? 'max-age=1' : 'public, max-age=31536000, immutable',
    });
  });

  live.all('/:channel/:file', () => {
    throw new ApiError('method_not_allowed');
  });
  return live;
}
