/**
 * CORS for browser players on another origin (hls.js fetches playlists and segments with XHR/fetch).
 * Exact-match allow-list from CORS_ORIGINS; `*` only when it is configured (then without credentials, as
 * browsers require). Preflights are answered here with 204, before authentication: a browser never sends
 * credentials on a preflight.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export const CORS_ALLOW_METHODS = ['GET', 'HEAD', 'OPTIONS'];
export const CORS_ALLOW_HEADERS = ['Authorization', 'Range'];
export const CORS_EXPOSE_HEADERS = ['Content-Length', 'Content-Range', 'X-Request-Id'];
const MAX_AGE_SECONDS = 600;

export function corsFor(allowedOrigins: readonly string[]): MiddlewareHandler {
  const wildcard = allowedOrigins.includes('*');
  const exact = new Set(allowedOrigins);
  return cors({
    origin: wildcard ? '*' : (origin) => (exact.has(origin) ? origin : null),
    allowMethods: CORS_ALLOW_METHODS,
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: MAX_AGE_SECONDS,
    // With an explicit list the `edge_token` cookie may travel cross-origin; never with `*`.
    credentials: !wildcard && exact.size > 0,
  });
}
