/**
 * The whole admission decision for a player request, shared by `/live/…` and the nginx auth subrequest:
 * failed-auth budget → token → IP binding → entitlement → session. Also the refresh decision.
 */
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import type { Counter, Metrics } from '../metrics.ts';
import type { SessionGuard } from '../sessions/types.ts';
import type { Cidr } from './address.ts';
import { type Claims, grantsChannel } from './claims.ts';
import { assertBoundTo, type BindingPolicy, bindingFromClaim } from './ip-binding.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { TokenVerifier } from './verify.ts';

export interface Authenticator {
  /** Throws ApiError with the table's code; returns the claims of an admitted session. */
  authorizeLive(a: { token: string | undefined; client: string; channel: string }): Promise<Claims>;
  /** Claims of a token that may be refreshed now by this client; throws otherwise. */
  authorizeRefresh(a: { token: string | undefined; client: string }): Promise<Claims>;
}

export interface AuthenticatorOptions {
  verifier: TokenVerifier;
  sessions: SessionGuard;
  binding: BindingPolicy;
  failedAuth: RateLimiter;
  refreshByAddress: RateLimiter;
  refreshByAccount: RateLimiter;
  sessionMax: number;
  sessionMaxAge: number;
  refreshGrace: number;
  clock: Clock;
  metrics: Metrics;
}

export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const failures: Counter = o.metrics.counter({
    name: 'gateway_auth_failures_total',
    help: 'Refused player requests by error code',
    labelNames: ['code'],
  });

  // a verified token's claims object is reused from the verify cache, so its parsed binding can be too
  const bindings = new WeakMap<Claims, Cidr[]>();
  const bindingOf = (claims: Claims): Cidr[] => {
    let b = bindings.get(claims);
    if (!b) {
      b = bindingFromClaim(claims.ip, o.binding);
      bindings.set(claims, b);
    }
    return b;
  };

  const guarded = async <T>(client: string, fn: () => Promise<T>): Promise<T> => {
    o.failedAuth.check(client);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) {
        failures.inc({ code: err.code });
        if (err.status === 401 || err.status === 403) o.failedAuth.hit(client);
      }
      throw err;
    }
  };

  return {
    authorizeLive: ({ token, client, channel }) =>
      guarded(client, async () => {
        if (!token) throw new ApiError('token_missing');
        const claims = await o.verifier.verify(token);
        assertBoundTo(client, bindingOf(claims));
        if (!grantsChannel(claims, channel)) throw new ApiError('channel_forbidden');
        await o.sessions.admit({
          sub: claims.sub,
          sid: claims.sid,
          max: claims.max ?? o.sessionMax,
          iat: claims.iat,
        });
        return claims;
      }),

    authorizeRefresh: ({ token, client }) =>
      guarded(client, async () => {
        o.refreshByAddress.hit(client);
        if (!token) throw new ApiError('token_missing');
        const claims = await o.verifier.verifyExpiredWithin(token, o.refreshGrace);
        assertBoundTo(client, bindingFromClaim(claims.ip, o.binding));
        o.refreshByAccount.hit(claims.sub);
        const now = Math.floor(o.clock.now() / 1000);
        if (claims.auth_time + o.sessionMaxAge < now)
          throw new ApiError('token_expired', 'Session is too old to refresh; sign in again');
        await o.sessions.checkRefresh({ sub: claims.sub, sid: claims.sid, iat: claims.iat });
        return claims;
      }),
  };
}
