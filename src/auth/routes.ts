/**
 * Token and session endpoints (SPEC §4): issuing for the issuer backend, refresh for players, revocation,
 * the public JWKS, and the dev-only token for the local demo.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import { type AppEnv, readJson } from '../http.ts';
import type { Logger } from '../log.ts';
import type { SessionGuard } from '../sessions/types.ts';
import { requireApiKey } from './api-key.ts';
import type { Authenticator } from './authenticate.ts';
import { CHANNEL_RE, ID_RE, MAX_CHANNELS, MAX_STREAMS } from './claims.ts';
import { bindingFromClaim } from './ip-binding.ts';
import type { TokenIssuer } from './issue.ts';
import type { VerificationKeys } from './keys.ts';
import type { RateLimiter } from './rate-limit.ts';
import { extractToken, TOKEN_COOKIE } from './token-source.ts';

export interface TokenRouteDeps {
  config: Config;
  keys: VerificationKeys;
  issuer: TokenIssuer | undefined;
  auth: Authenticator;
  sessions: SessionGuard;
  issueLimit: RateLimiter;
  logger: Logger;
}

const channels = z.union([
  z.literal('*'),
  z.array(z.string().regex(CHANNEL_RE, 'invalid channel id')).min(1).max(MAX_CHANNELS),
]);

export function tokenRoutes(d: TokenRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { config } = d;

  const issueBody = z.strictObject({
    sub: z.string().regex(ID_RE, 'must be 1-128 printable ASCII characters'),
    ip: z.union([z.string().max(64), z.array(z.string().max(64)).min(1).max(4)]),
    channels,
    max: z.number().int().min(1).max(MAX_STREAMS).optional(),
    ttl: z.number().int().min(10).max(config.tokenMaxTtl).optional(),
  });

  const requireIssuer = (): TokenIssuer => {
    if (!d.issuer) throw new ApiError('not_found', 'Token issuing is not configured on this gateway');
    return d.issuer;
  };
  const requireIssuerKey = async (authorization: string | undefined) => {
    if (config.issuerApiKeys.length === 0)
      throw new ApiError('not_found', 'The issuer API is not configured');
    await requireApiKey(authorization, config.issuerApiKeys);
  };

  app.post('/v1/tokens', async (c) => {
    const client = c.get('clientAddress') ?? 'unknown';
    d.issueLimit.hit(`issue:${client}`);
    await requireIssuerKey(c.req.header('authorization'));
    const issuer = requireIssuer();
    const body = await readJson(c, issueBody, config.maxBodyBytes);
    try {
      bindingFromClaim(body.ip, { v4: config.ipBindPrefixV4, v6: config.ipBindPrefixV6 });
    } catch (err) {
      throw new ApiError('bad_request', `ip: ${(err as Error).message.replace(/^ip claim /, '')}`);
    }
    const t = await issuer.issue({
      sub: body.sub,
      ip: body.ip,
      ch: body.channels,
      ttl: body.ttl ?? config.tokenMaxTtl,
      ...(body.max === undefined ? {} : { max: body.max }),
    });
    d.logger.info('token issued', { sub: body.sub, sid: t.sid, requestId: c.get('requestId') });
    return c.json(tokenBody(t), 201, { 'cache-control': 'no-store' });
  });

  app.post('/v1/tokens/refresh', async (c) => {
    const issuer = requireIssuer();
    const client = c.get('clientAddress');
    if (!client) throw new ApiError('bad_request', 'Client address could not be determined');
    const found = extractToken(c.req.raw, new URL(c.req.url));
    const claims = await d.auth.authorizeRefresh({ token: found?.token, client });
    const t = await issuer.issue({
      sub: claims.sub,
      sid: claims.sid,
      ip: claims.ip,
      ch: claims.ch,
      ttl: Math.min(claims.exp - claims.iat, config.tokenMaxTtl),
      authTime: claims.auth_time,
      ...(claims.max === undefined ? {} : { max: claims.max }),
    });
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (found?.source === 'cookie')
      headers['set-cookie'] = tokenCookie(t.token, t.exp - t.iat + config.refreshGrace, c.req.url);
    return c.json(tokenBody(t), 200, headers);
  });

  app.get('/v1/sessions/:sub', async (c) => {
    await requireIssuerKey(c.req.header('authorization'));
    const sub = c.req.param('sub');
    if (!ID_RE.test(sub)) throw new ApiError('bad_request', 'sub: must be 1-128 printable ASCII characters');
    return c.json({ sub, sessions: await d.sessions.list(sub) }, 200, { 'cache-control': 'no-store' });
  });

  app.delete('/v1/sessions/:sub', async (c) => {
    await requireIssuerKey(c.req.header('authorization'));
    const sub = c.req.param('sub');
    if (!ID_RE.test(sub)) throw new ApiError('bad_request', 'sub: must be 1-128 printable ASCII characters');
    const { revoked } = await d.sessions.revoke(sub);
    d.logger.info('sessions revoked', { sub, revoked, requestId: c.get('requestId') });
    return c.json({ sub, revoked }, 200, { 'cache-control': 'no-store' });
  });

  app.get('/.well-known/jwks.json', (c) =>
    c.json(d.keys.publicJwks(), 200, { 'cache-control': 'public, max-age=300' }),
  );

  if (config.devMode) {
    const devBody = z.strictObject({
      sub: z.string().regex(ID_RE, 'must be 1-128 printable ASCII characters').optional(),
      channels: channels.optional(),
      ttl: z.number().int().min(10).max(config.tokenMaxTtl).optional(),
    });
    app.post('/dev/token', async (c) => {
      const client = c.get('clientAddress');
      if (!client) throw new ApiError('bad_request', 'Client address could not be determined');
      d.issueLimit.hit(`dev:${client}`);
      const body = await readJson(c, devBody, config.maxBodyBytes, { emptyAs: {} });
      const t = await requireIssuer().issue({
        sub: body.sub ?? 'demo-viewer',
        ip: client,
        ch: body.channels ?? '*',
        ttl: body.ttl ?? config.tokenMaxTtl,
      });
      return c.json(tokenBody(t), 201, {
        'cache-control': 'no-store',
        'set-cookie': tokenCookie(t.token, t.exp - t.iat + config.refreshGrace, c.req.url),
      });
    });
  }

  return app;
}

function tokenBody(t: { token: string; exp: number; iat: number; sid: string }) {
  return { token: t.token, expires_at: t.exp, expires_in: t.exp - t.iat, sid: t.sid };
}

function tokenCookie(token: string, maxAge: number, url: string): string {
  const secure = url.startsWith('https:') ? '; Secure' : '';
  return `${TOKEN_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
}
