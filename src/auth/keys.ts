/**
 * Verification keys: a local JWKS (config) or a remote one (JWKS_URL, cached by jose with a cooldown on
 * refetch and a bounded timeout), plus the issuer's own public key when this gateway signs tokens.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';

export const ALGORITHMS = ['ES256', 'EdDSA'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface VerificationKeys {
  getKey: JWTVerifyGetKey;
  /** Cheap pre-check before any signature work: false means the kid cannot verify (local sets only). */
  mayKnow(kid: string): boolean;
  /** Public keys to publish at /.well-known/jwks.json. */
  publicJwks(): JSONWebKeySet;
}

/** Validates one public JWK from configuration; throws a message naming the problem (never key material). */
export function checkPublicJwk(jwk: unknown, where: string): JWK {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new Error(`${where}: not a JWK object`);
  const k = jwk as JWK;
  if (typeof k.kid !== 'string' || !KID_RE.test(k.kid))
    throw new Error(`${where}: needs a kid of [A-Za-z0-9._-]`);
  if ('d' in k) throw new Error(`${where} (${k.kid}): holds private key material; publish public keys only`);
  const ok = (k.kty === 'EC' && k.crv === 'P-256') || (k.kty === 'OKP' && k.crv === 'Ed25519');
  if (!ok)
    throw new Error(`${where} (${k.kid}): only EC P-256 (ES256) and OKP Ed25519 (EdDSA) keys are accepted`);
  if (k.alg !== undefined && k.alg !== algOf(k))
    throw new Error(`${where} (${k.kid}): alg ${k.alg} does not fit the key`);
  return { ...k, alg: algOf(k) };
}

export function algOf(k: JWK): Algorithm {
  return k.kty === 'OKP' ? 'EdDSA' : 'ES256';
}

export const KID_RE = /^(?!.*\.\.)[A-Za-z0-9._-]{1,128}$/;

export function createLocalKeys(jwks: readonly JWK[]): VerificationKeys {
  const keys = jwks.map((k, i) => checkPublicJwk(k, `key ${i}`));
  const kids = new Set(keys.map((k) => k.kid as string));
  if (kids.size !== keys.length) throw new Error('two keys share a kid');
  const set: JSONWebKeySet = { keys };
  const getKey = createLocalJWKSet(set);
  return { getKey, mayKnow: (kid) => kids.has(kid), publicJwks: () => set };
}

export function createRemoteKeys(
  url: string,
  extra: readonly JWK[],
  opts: { timeoutMs?: number; cooldownMs?: number; cacheMaxAgeMs?: number } = {},
): VerificationKeys {
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: opts.timeoutMs ?? 2000,
    cooldownDuration: opts.cooldownMs ?? 30_000,
    cacheMaxAge: opts.cacheMaxAgeMs ?? 600_000,
  });
  const local = extra.length ? createLocalKeys(extra) : undefined;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (local && header.kid && local.mayKnow(header.kid)) return local.getKey(header, token);
    return remote(header, token);
  };
  return {
    getKey,
    mayKnow: () => true,
    publicJwks: () => ({ keys: [...(local?.publicJwks().keys ?? []), ...(remote.jwks()?.keys ?? [])] }),
  };
}
