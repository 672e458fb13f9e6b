/**
 * The auth subrequest for nginx edge mode (nginx/edge.conf): nginx asks `GET /_edge/auth` before it serves
 * a segment from its cache or an origin, and this answers with the same admission decision as `/live/…`
 * (the Authenticator: token, IP binding, entitlement, session heartbeat), so both paths share every code.
 *
 * What nginx sends: the player's own headers (Authorization, Cookie), the original query string as this
 * request's query (so a `?token=` is found where the player put it), the original path without its query in
 * `X-Original-URI`, and the address it accepted the connection from in `X-Forwarded-For`, replacing any
 * copy the player sent (and `Forwarded` cleared). That header is believed only because the peer is nginx:
 * the app resolves the client through `TRUSTED_PROXIES`, so the gateway must list nginx's address there
 * and nothing else trusts it. Without that entry the client is nginx itself and every bound token is
 * refused (`ip_mismatch`): a mistake fails closed.
 *
 * nginx's auth_request passes 2xx, 401 and 403 only, so a refusal answers 401 (the 401 codes) or 403
 * (everything else) and carries the contract's status, code and JSON body in headers that nginx copies
 * with auth_request_set and renders in an error_page location (SPEC §10). A success may be cached by nginx
 * for `X-Accel-Expires` seconds: half the session lease, so that nginx's cache and the gateway's lease
 * together let a kick or a revocation through within about one lease.
 *
 * Browser players on another origin: the answer carries the CORS headers `/live/` would (CORS_ORIGINS),
 * computed from the player's Origin, which nginx copies onto what it serves; preflights never come here
 * (nginx passes them to the gateway's `/live/` route, which answers them before any authentication).
 */
import type { Hono } from 'hono';
import type { Config } from '../config.ts';
import { corsFor } from '../delivery/cors.ts';
import { parseLiveObject } from '../delivery/paths.ts';
import { ApiError, errorResponse } from '../errors.ts';
import type { AppEnv } from '../http.ts';
import type { Authenticator } from './authenticate.ts';
import { extractToken } from './token-source.ts';

export const NGINX_AUTH_PATH = '/_edge/auth';
const LIVE_URI = /^\/live\/([^/]+)\/(.+)$/;

/** Mounts the auth subrequest route; call it from `AppDeps.extraRoutes` with the app's Authenticator. */
export function mountNginxAuth(
  app: Hono<AppEnv>,
  ctx: { auth: Authenticator },
  config: Pick<Config, 'sessionLeaseMs' | 'corsOrigins'>,
): void {
  const cacheSeconds = Math.floor(config.sessionLeaseMs / 2000);
  // the CORS headers /live/ would carry, for nginx to copy onto the segment (or refusal) it serves
  if (config.corsOrigins.length) app.use(NGINX_AUTH_PATH, corsFor(config.corsOrigins));
  app.get(NGINX_AUTH_PATH, async (c) => {
    try {
      const uri = c.req.header('x-original-uri') ?? '';
      const m = LIVE_URI.exec(uri);
      if (!m) throw new ApiError('bad_request', 'X-Original-URI must be a /live/{channel}/{object} path');
      const channel = m[1] as string;
      parseLiveObject(channel, m[2] as string);
      const client = c.get('clientAddress');
      if (!client) throw new ApiError('bad_request', 'Client address could not be determined');
      const found = extractToken(c.req.raw, new URL(c.req.url));
      await ctx.auth.authorizeLive({ token: found?.token, client, channel });
      return c.body(null, 200, {
        'x-auth-status': '200',
        'x-accel-expires': String(cacheSeconds),
        'cache-control': 'no-store',
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return refusalForNginx(err, c.get('requestId'));
    }
  });
}

/** A refusal in the shape auth_request can pass on: 401 or 403, the real answer in headers. */
async function refusalForNginx(err: ApiError, requestId: string): Promise<Response> {
  const body = asciiJson(await errorResponse(err, requestId).text());
  const headers = new Headers(err.headers);
  headers.set('cache-control', 'no-store');
  headers.set('x-auth-status', String(err.status));
  headers.set('x-auth-error', err.code);
  // one line of ASCII JSON, which nginx renders as the body
  headers.set('x-auth-body', body);
  headers.set('x-error-code', err.code);
  headers.set('x-request-id', requestId);
  return new Response(null, { status: err.status === 401 ? 401 : 403, headers });
}

/** Header values are bytes: escape anything outside ASCII the JSON way (a message may quote input). */
function asciiJson(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
