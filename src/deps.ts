/**
 * What every runtime entry builds the same way from a parsed config: the issuer, the verification keys,
 * and the option sets of the session store, the session guard and delivery. Runtime-neutral (no node:
 * imports), so node.ts and worker.ts differ only in what really differs: sockets, store client, fetch.
 */
import type { JWK } from 'jose';
import { createTokenIssuer, type TokenIssuer } from './auth/issue.ts';
import { createLocalKeys, createRemoteKeys, type VerificationKeys } from './auth/keys.ts';
import type { Clock } from './clock.ts';
import { type Config, ConfigError } from './config.ts';
import type { DeliveryDeps } from './delivery/index.ts';
import type { SessionGuardOptions } from './sessions/guard.ts';
import type { SessionStoreOptions } from './sessions/types.ts';

export async function buildIssuer(config: Config, clock: Clock): Promise<TokenIssuer | undefined> {
  if (config.jwtPrivateJwk === undefined) return undefined;
  try {
    return await createTokenIssuer({
      privateJwk: config.jwtPrivateJwk,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      clock,
    });
  } catch (err) {
    throw new ConfigError([`JWT_PRIVATE_JWK: ${(err as Error).message.replace(/^JWT_PRIVATE_JWK: /, '')}`]);
  }
}

/** Configured public keys plus the issuer's own public key (so issuing needs no second copy of it). */
export function buildKeys(config: Config, issuer: TokenIssuer | undefined): VerificationKeys {
  const local: JWK[] = [];
  if (config.jwtPublicJwks !== undefined) {
    const set = config.jwtPublicJwks as { keys?: unknown };
    if (!Array.isArray(set?.keys)) throw new ConfigError(['JWT_PUBLIC_JWKS: must be {"keys":[…]}']);
    local.push(...(set.keys as JWK[]));
  }
  if (issuer && !local.some((k) => k.kid === issuer.publicJwk.kid)) local.push(issuer.publicJwk);
  try {
    return config.jwksUrl ? createRemoteKeys(config.jwksUrl, local) : createLocalKeys(local);
  } catch (err) {
    throw new ConfigError([`JWT_PUBLIC_JWKS: ${(err as Error).message}`]);
  }
}

export function storeOptions(config: Config): SessionStoreOptions {
  return {
    policy: config.sessionPolicy,
    idleSeconds: config.sessionIdle,
    refreshGraceSeconds: config.refreshGrace,
    // a kicked sid is remembered as long as any of its tokens could still be presented or refreshed
    tombstoneSeconds: config.tokenMaxTtl + config.refreshGrace + config.tokenLeeway,
  };
}

export function guardOptions(
  config: Config,
): Pick<SessionGuardOptions, 'leaseMs' | 'idleSeconds' | 'failure' | 'storeTimeoutMs'> {
  return {
    leaseMs: config.sessionLeaseMs,
    idleSeconds: config.sessionIdle,
    failure: config.storeFailure,
    storeTimeoutMs: config.storeTimeoutMs,
  };
}

export function deliveryOptions(
  config: Config,
): Pick<
  DeliveryDeps,
  'origins' | 'mode' | 'originSecret' | 'channelKeys' | 'keyPeriod' | 'watermarkSecret' | 'cache' | 'timeouts'
> {
  // the schema lets ORIGINS be empty, but every runtime builds delivery, which cannot work without one
  if (config.origins.length === 0)
    throw new ConfigError(['ORIGINS: at least one origin base URL is required']);
  return {
    origins: config.origins,
    mode: config.originMode,
    originSecret: config.originSecret,
    channelKeys: config.channelKeys,
    keyPeriod: config.keyPeriod,
    watermarkSecret: config.watermarkSecret,
    cache: {
      maxBytes: config.segmentCacheBytes,
      maxObjectBytes: config.segmentCacheObjectMaxBytes,
      segmentTtlMs: config.segmentCacheTtl * 1000,
      playlistTtlMs: 1000,
    },
    timeouts: { firstByteMs: config.originFirstByteTimeoutMs },
  };
}
