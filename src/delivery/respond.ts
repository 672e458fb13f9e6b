/**
 * Responses for objects the gateway holds in full (cache hits and completed fills): HEAD, a single Range,
 * If-Range and If-None-Match are answered here without touching an origin.
 */
import { ApiError } from '../errors.ts';
import { bytesToHex } from './keys.ts';
import { ifNoneMatchHits, ifRangeHolds, parseRange } from './ranges.ts';

export interface HeldObject {
  bytes: Uint8Array;
  /** strong ETag, quoted */
  etag: string;
  lastModified: string | undefined;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  vtt: 'text/vtt; charset=utf-8',
  key: 'application/octet-stream',
};

/** Content type from the object name; origins (nginx without a types map) are not trusted on this. */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

/** A strong ETag from the bytes, for origins that send none: one SHA-256 per fill, never per hit. */
export async function computeEtag(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as BufferSource);
  return `"${bytesToHex(new Uint8Array(digest, 0, 16))}"`;
}

/** The origin's ETag when it is strong (a weak one cannot back byte ranges). */
export function strongEtag(value: string | null): string | undefined {
  return value && /^"[^"]*"$/.test(value) ? value : undefined;
}

export function respondWithObject(
  obj: HeldObject,
  req: { method: 'GET' | 'HEAD'; headers: Headers },
  headers: Record<string, string>,
): Response {
  // a plain record, not Headers: this is every cache hit's path, and Headers normalisation costs more than
  // the rest of the response (names here are already lower case)
  const out: Record<string, string> = {
    ...headers,
    'content-type': obj.contentType,
    etag: obj.etag,
    'accept-ranges': 'bytes',
  };
  if (obj.lastModified) out['last-modified'] = obj.lastModified;
  if (ifNoneMatchHits(req.headers.get('if-none-match'), obj.etag)) {
    delete out['content-type'];
    return new Response(null, { status: 304, headers: out });
  }
  const size = obj.bytes.byteLength;
  const range = ifRangeHolds(req.headers.get('if-range'), obj.etag, obj.lastModified)
    ? parseRange(req.headers.get('range'), size)
    : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    throw new ApiError('range_not_satisfiable', undefined, {
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  let status = 200;
  let body = obj.bytes;
  if (range.kind === 'partial') {
    status = 206;
    body = obj.bytes.subarray(range.start, range.end + 1);
    out['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  }
  out['content-length'] = String(body.byteLength);
  return new Response(req.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), {
    status,
    headers: out,
  });
}
