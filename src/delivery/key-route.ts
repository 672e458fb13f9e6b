/**
 * AES-128 content keys (`key/{version}/{period}.key`), answered by the gateway itself from
 * CHANNEL_KEY_SECRET with the same HKDF derivation the origins use; never forwarded, never shared-cached.
 *
 * No key is handed out ahead of the live edge (more than one period past the newest segment the gateway
 * knows of): otherwise a viewer could collect the keys of the coming hours while entitled and decrypt
 * publicly cached segments after the entitlement ended. The edge comes from the playlists this gateway
 * served; when it knows of none recently, it loads the rendition's `index.m3u8` first. Past periods stay
 * available, so segments still in the window (or rotated to a new secret version) remain decryptable.
 */
import { ApiError } from '../errors.ts';
import { type ChannelKeySecret, deriveChannelKey } from './keys.ts';
import type { LiveObject } from './paths.ts';
import type { LiveRequest } from './types.ts';

export interface KeyRouteDeps {
  channelKeys: readonly ChannelKeySecret[];
  /** segments per key period (KEY_PERIOD) */
  keyPeriod: number;
  /** newest segment number of `{channel}` known from a playlist of `{dir}`, loading one if needed;
   * `undefined` when the layout does not say (a master playlist) */
  liveEdge: (channel: string, dir: string, requestId: string) => Promise<number | undefined>;
}

export const KEY_HEADERS = {
  'content-type': 'application/octet-stream',
  'content-length': '16',
  'cache-control': 'private, no-store',
  'referrer-policy': 'no-referrer',
} as const;

export class KeyRoute {
  private readonly deps: KeyRouteDeps;

  constructor(deps: KeyRouteDeps) {
    this.deps = deps;
  }

  async serve(req: LiveRequest, obj: LiveObject): Promise<Response> {
    const secret = this.deps.channelKeys.find((s) => s.version === obj.keyVersion);
    const period = obj.keyPeriod;
    if (!secret || period === undefined) throw new ApiError('not_found');
    const edge = await this.deps.liveEdge(req.channel, obj.dir, req.requestId);
    if (edge !== undefined && period > Math.floor(edge / this.deps.keyPeriod) + 1) {
      throw new ApiError('not_found', 'No key for a period ahead of the live edge');
    }
    const key = await deriveChannelKey(secret, req.channel, period);
    return new Response(req.method === 'HEAD' ? null : (key as Uint8Array<ArrayBuffer>), {
      status: 200,
      headers: KEY_HEADERS,
    });
  }
}
