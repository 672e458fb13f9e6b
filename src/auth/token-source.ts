/**
 * Where a token comes from (SPEC §3): `Authorization: Bearer`, then `?token=`, then cookie `edge_token`.
 */
import { ApiError } from '../errors.ts';

export type TokenSource = 'header' | 'query' | 'cookie';
export const TOKEN_PARAM = 'token';
export const TOKEN_COOKIE = 'edge_token';

export interface FoundToken {
  token: string;
  source: TokenSource;
}

export function extractToken(req: Request, url: URL): FoundToken | undefined {
  const auth = req.headers.get('authorization');
  if (auth) {
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(auth);
    if (m?.[1]) return { token: m[1], source: 'header' };
  }
  const fromQuery = url.searchParams.getAll(TOKEN_PARAM);
  if (fromQuery.length > 1) throw new ApiError('bad_request', 'More than one token parameter');
  if (fromQuery[0]) return { token: fromQuery[0], source: 'query' };
  const cookie = readCookie(req.headers.get('cookie'), TOKEN_COOKIE);
  if (cookie) return { token: cookie, source: 'cookie' };
  return undefined;
}

function readCookie(header: string | null, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The request path with its query removed, for logs (the query may hold the token). */
export function pathForLog(url: URL): string {
  return url.pathname.length > 256 ? `${url.pathname.slice(0, 256)}…` : url.pathname;
}
