/**
 * What a player may ask for under `/live/{channel}/`: a closed set of HLS object shapes, checked before
 * authentication so a bad path never costs a signature check and is never forwarded to an origin.
 *
 * The object path is checked as it appeared in the URL (percent-encoded or already decoded: both are
 * handled). Legitimate HLS names never need percent-encoding, so any `%` is refused outright, which closes
 * `%2e%2e`, double-encoded `%252e%252e` and every other encoding trick in one rule.
 */
import { ApiError } from '../errors.ts';

export type LiveObjectKind = 'playlist' | 'segment' | 'init' | 'key';

export interface LiveObject {
  kind: LiveObjectKind;
  /** the object path inside the channel, e.g. `720p/1234.ts`; safe to append to an origin URL */
  path: string;
  /** rendition folder the object sits in (`720p`), '' at the channel root */
  dir: string;
  /** media sequence number of a segment (or of the parent segment of an LL-HLS part) */
  seq?: number;
  /** LL-HLS part index (`{seq}.{part}.m4s`) */
  part?: number;
  /** `v1` in `key/v1/7.key` */
  keyVersion?: string;
  /** `7` in `key/v1/7.key` */
  keyPeriod?: number;
  /** the watermark variant the gateway chose for this viewer (set by watermark-select.ts, never parsed) */
  variant?: 'a' | 'b';
}

export const MAX_OBJECT_PATH = 1024;
const CHANNEL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Characters an object path may contain at all; anything else is malformed, not merely unknown. */
const SAFE_CHARS_RE = /^[A-Za-z0-9._/-]*$/;
/** A rendition folder name. */
const DIR_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MAX_DIR_DEPTH = 2;

const PLAYLIST_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.m3u8$/;
/** `{seq}.ts`, `{seq}.m4s`…, optionally with a short prefix (`seg_12.ts`) or an LL-HLS part (`12.3.m4s`).
 * Watermark variants (`{seq}.a.ts`) are deliberately not addressable: the gateway picks the variant. */
const SEGMENT_RE =
  /^(?:[A-Za-z][A-Za-z0-9]{0,15}[_-])?([0-9]{1,15})(?:\.([0-9]{1,4}))?\.(?:ts|m4s|mp4|m4a|aac|vtt)$/;
const INIT_RE = /^init(?:[_-][A-Za-z0-9]{1,32})?\.(?:mp4|m4s)$/;
const KEY_VERSION_RE = /^v[0-9]{1,6}$/;
const KEY_FILE_RE = /^([0-9]{1,15})\.key$/;

export function isChannelId(channel: string): boolean {
  return CHANNEL_RE.test(channel);
}

/** Validates `{channel}` and `{object}` of `/live/{channel}/{object}`; throws `ApiError` (400, 404, 414). */
export function parseLiveObject(channel: string, raw: string): LiveObject {
  if (raw.length > MAX_OBJECT_PATH) throw new ApiError('uri_too_long');
  if (!isChannelId(channel)) throw new ApiError('bad_request', 'Malformed channel id');
  if (raw.length === 0) throw new ApiError('not_found');
  if (!SAFE_CHARS_RE.test(raw)) throw new ApiError('bad_request', 'Malformed object path');
  const parts = raw.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..')
      throw new ApiError('bad_request', 'Malformed object path');
  }
  const object = classify(parts);
  if (!object) throw new ApiError('not_found');
  return object;
}

function classify(parts: string[]): LiveObject | undefined {
  const path = parts.join('/');
  const file = parts[parts.length - 1] ?? '';
  const keyAt = parts.length >= 3 ? parts.length - 3 : -1;
  if (keyAt >= 0 && parts[keyAt] === 'key') {
    const version = parts[keyAt + 1] ?? '';
    const period = KEY_FILE_RE.exec(file);
    if (!KEY_VERSION_RE.test(version) || !period) return undefined;
    const dir = folderOf(parts.slice(0, keyAt));
    if (dir === undefined) return undefined;
    return { kind: 'key', path, dir, keyVersion: version, keyPeriod: Number(period[1]) };
  }
  const dir = folderOf(parts.slice(0, -1));
  if (dir === undefined) return undefined;
  if (PLAYLIST_RE.test(file)) return { kind: 'playlist', path, dir };
  if (INIT_RE.test(file)) return { kind: 'init', path, dir };
  const seg = SEGMENT_RE.exec(file);
  if (seg) {
    const object: LiveObject = { kind: 'segment', path, dir, seq: Number(seg[1]) };
    if (seg[2] !== undefined) object.part = Number(seg[2]);
    return object;
  }
  return undefined;
}

function folderOf(dirs: string[]): string | undefined {
  if (dirs.length > MAX_DIR_DEPTH || !dirs.every((d) => DIR_RE.test(d))) return undefined;
  return dirs.join('/');
}
