/**
 * HLS playlist text: token rewriting and the few facts the gateway reads from a playlist.
 *
 * Rewriting adds `token=<t>` to every URI a player will request (segment and variant lines, and the URI
 * attributes of the tags below), so that sub-requests authenticate when the token came in the query.
 * Everything else is kept byte for byte: other query parameters and their order, fragments, line endings
 * (LF or CRLF, per line), a leading BOM, comments and unknown tags.
 *
 * Which URIs get the token: relative references (`1.ts`, `../a/b.m3u8`, `/live/x/1.ts`) always, because
 * they resolve to this gateway. Absolute URIs (`https://…`, `//host/…`, `skd://…`, `data:…`) only when their
 * origin is listed in `sameOrigins` (the gateway's own public origins): a token must never leak to a
 * foreign host, and the gateway cannot know by itself which host names are its own.
 */

/** Tag → attributes that hold a URI the player fetches. */
const URI_ATTRIBUTES: Record<string, readonly string[]> = {
  'EXT-X-KEY': ['URI'],
  'EXT-X-SESSION-KEY': ['URI'],
  'EXT-X-MAP': ['URI'],
  'EXT-X-MEDIA': ['URI'],
  'EXT-X-I-FRAME-STREAM-INF': ['URI'],
  'EXT-X-PART': ['URI'],
  'EXT-X-PRELOAD-HINT': ['URI'],
  'EXT-X-RENDITION-REPORT': ['URI'],
  'EXT-X-SESSION-DATA': ['URI'],
  'EXT-X-CONTENT-STEERING': ['SERVER-URI'],
};

const BOM = '\uFEFF';
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** `NAME=value,` with the blanks players tolerate around a name (hls.js trims them: `A=1, URI="k"`). */
const ATTRIBUTE_RE = /([ \t]*([A-Z0-9-]+)[ \t]*)=("[^"\r\n]*"|[^,]*)(,|$)/y;

export interface RewriteOptions {
  /** origins (`https://tv.example.com`) whose absolute URIs also get the token */
  sameOrigins?: readonly string[];
}

/** Decodes an origin's playlist body; `undefined` when it is not a playlist (no `#EXTM3U`, not UTF-8, NUL). */
export function decodePlaylist(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const start = text.startsWith(BOM) ? 1 : 0;
  if (!text.startsWith('#EXTM3U', start) || text.includes('\u0000')) return undefined;
  return text;
}

/** Puts `token` on every URI of a playlist; rewriting twice gives the same text as rewriting once. */
export function rewritePlaylist(text: string, token: string, opts: RewriteOptions = {}): string {
  const encoded = encodeURIComponent(token);
  const same = new Set((opts.sameOrigins ?? []).map(normaliseOrigin));
  const withToken = (uri: string) => (carriesToken(uri, same) ? setTokenParam(uri, encoded) : uri);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const bom = i === 0 && line.startsWith(BOM) ? BOM : '';
    const body = line.slice(bom.length);
    const rewritten = body.startsWith('#') ? rewriteTag(body, withToken) : rewriteUriLine(body, withToken);
    if (rewritten !== body) lines[i] = bom + rewritten;
  }
  return lines.join('\n');
}

export interface PlaylistPosition {
  /** EXT-X-MEDIA-SEQUENCE (0 when absent, as the HLS spec says) */
  mediaSequence: number;
  /** number of media segments listed */
  segments: number;
}

/** Where a media playlist stands in the stream; `undefined` for a master playlist. One cheap pass. */
export function playlistPosition(text: string): PlaylistPosition | undefined {
  let media = false;
  let mediaSequence = 0;
  let segments = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.charCodeAt(0) !== 35 /* # */) {
      segments++;
    } else if (line.startsWith('#EXT-X-TARGETDURATION:')) {
      media = true;
    } else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      const n = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
      if (Number.isSafeInteger(n) && n >= 0) mediaSequence = n;
    }
  }
  return media ? { mediaSequence, segments } : undefined;
}

/** EXT-X-MEDIA-SEQUENCE of a media playlist, `undefined` for a master playlist. */
export function parseMediaSequence(text: string): number | undefined {
  return playlistPosition(text)?.mediaSequence;
}

/** True when `a` is older than `b`: it starts earlier or ends earlier in the stream. */
export function isBehind(a: PlaylistPosition, b: PlaylistPosition): boolean {
  return a.mediaSequence < b.mediaSequence || a.mediaSequence + a.segments < b.mediaSequence + b.segments;
}

function rewriteTag(line: string, withToken: (uri: string) => string): string {
  const colon = line.indexOf(':');
  if (colon < 0) return line;
  const names = URI_ATTRIBUTES[line.slice(1, colon)];
  if (!names) return line;
  const attrs = line.slice(colon + 1).replace(/\r$/, '');
  const tail = line.slice(colon + 1 + attrs.length);
  let out = '';
  ATTRIBUTE_RE.lastIndex = 0;
  while (ATTRIBUTE_RE.lastIndex < attrs.length) {
    const m = ATTRIBUTE_RE.exec(attrs);
    // An attribute list we cannot read is left exactly as it was rather than half rewritten.
    if (!m) return line;
    const [, head, name, value, comma] = m as unknown as [string, string, string, string, string];
    const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"');
    out += quoted && names.includes(name) ? `${head}="${withToken(value.slice(1, -1))}"${comma}` : m[0];
    if (comma === '') break;
  }
  return line.slice(0, colon + 1) + out + tail;
}

function rewriteUriLine(line: string, withToken: (uri: string) => string): string {
  const m = /^(\s*)(\S.*?)(\s*)$/s.exec(line);
  if (!m) return line;
  const [, lead, uri, trail] = m as unknown as [string, string, string, string];
  if (uri.startsWith('#')) return line;
  return lead + withToken(uri) + trail;
}

function carriesToken(uri: string, same: ReadonlySet<string>): boolean {
  if (uri === '') return false;
  if (uri.startsWith('//')) return [...same].some((o) => o.slice(o.indexOf('//')) === authorityOf(uri));
  if (!SCHEME_RE.test(uri)) return true;
  if (same.size === 0) return false;
  try {
    return same.has(new URL(uri).origin);
  } catch {
    return false;
  }
}

function authorityOf(networkPath: string): string {
  const end = networkPath.slice(2).search(/[/?#]/);
  return (end < 0 ? networkPath : networkPath.slice(0, end + 2)).toLowerCase();
}

function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

/** Sets `token` in the query of `uri`: replaces the first `token` parameter, drops any other, keeps the rest.
 * A parameter is `token` when a URL parser reads it so (`tok%65n=` too): the player must send one token only. */
function setTokenParam(uri: string, encodedToken: string): string {
  const hash = uri.indexOf('#');
  const fragment = hash < 0 ? '' : uri.slice(hash);
  const beforeFragment = hash < 0 ? uri : uri.slice(0, hash);
  const q = beforeFragment.indexOf('?');
  const path = q < 0 ? beforeFragment : beforeFragment.slice(0, q);
  const query = q < 0 ? '' : beforeFragment.slice(q + 1);
  const param = `token=${encodedToken}`;
  const kept: string[] = [];
  let placed = false;
  for (const p of query === '' ? [] : query.split('&')) {
    const [name] = new URLSearchParams(p).keys();
    if (name !== 'token') kept.push(p);
    else if (!placed) {
      kept.push(param);
      placed = true;
    }
  }
  if (!placed) kept.push(param);
  return `${path}?${kept.join('&')}${fragment}`;
}
