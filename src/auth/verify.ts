/**
 * Token verification, cheapest checks first (SPEC §3): size and shape, then header (alg allow-list, kid,
 * crit), then the caches (verified tokens, recently rejected tokens), and only then an ECDSA/EdDSA verify
 * with jose. The verified cache is keyed by a hash of the token and never serves a token past its `exp`.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { type Claims, checkClaims } from './claims.ts';
import { ALGORITHMS, KID_RE, type VerificationKeys } from './keys.ts';

export const MAX_TOKEN_BYTES = 4096;
const SHAPE_RE = /^[A-Za-z0-9_-]{2,1024}\.[A-Za-z0-9_-]{2,3072}\.[A-Za-z0-9_-]{2,1024}$/;
const NEGATIVE_TTL_MS = 30_000;

export interface TokenVerifier {
  /** Verifies a token for use now; throws ApiError token_invalid / token_expired. */
  verify(token: string): Promise<Claims>;
  /** As `verify`, but a token expired by at most `graceSeconds` is accepted (for refresh). */
  verifyExpiredWithin(token: string, graceSeconds: number): Promise<Claims>;
}

export interface VerifierOptions {
  keys: VerificationKeys;
  issuer: string;
  audience: string;
  maxTtl: number;
  leeway: number;
  clock: Clock;
  cacheSize: number;
  metrics: Metrics;
  /** cache-key hash of a token; defaults to WebCrypto SHA-256 (async). Node passes a synchronous one: the
   * async digest round-trips through the thread pool and was a fifth of the hot path's CPU there. */
  hash?: TokenHasher;
}

export type TokenHasher = (token: string) => string | Promise<string>;

export function createTokenVerifier(o: VerifierOptions): TokenVerifier {
  const verified = o.cacheSize > 0 ? new LRUCache<string, Claims>({ max: o.cacheSize }) : undefined;
  const rejected = new LRUCache<string, ApiError>({
    max: Math.max(1000, o.cacheSize / 10),
    ttl: NEGATIVE_TTL_MS,
  });
  const lookups = o.metrics.counter({
    name: 'gateway_token_cache_total',
    help: 'Token verification cache lookups by result (hit, miss, negative)',
    labelNames: ['result'],
  });
  const nowSeconds = () => Math.floor(o.clock.now() / 1000);
  const hash = o.hash ?? tokenHash;

  async function verifySignature(token: string, graceSeconds: number): Promise<Claims> {
    precheck(token, o.keys);
    const now = nowSeconds();
    let payload: Record<string, unknown>;
    try {
      const res = await jwtVerify(token, o.keys.getKey, {
        algorithms: [...ALGORITHMS],
        issuer: o.issuer,
        audience: o.audience,
        clockTolerance: o.leeway,
        currentDate: new Date(o.clock.now()),
        requiredClaims: ['sub', 'sid', 'ip', 'ch', 'iat', 'exp', 'jti'],
      });
      payload = res.payload;
    } catch (err) {
      // jose checks the signature before the claims, so an expired error carries a verified payload
      if (err instanceof joseErrors.JWTExpired && graceSeconds > 0) {
        const exp = err.payload.exp;
        if (typeof exp !== 'number' || exp + graceSeconds + o.leeway < now) throw mapJoseError(err);
        payload = err.payload;
        checkIssuerAudience(payload, o.issuer, o.audience);
      } else {
        throw mapJoseError(err);
      }
    }
    return checkClaims(payload, o.maxTtl, now, o.leeway);
  }

  return {
    async verify(token) {
      const key = await hash(token);
      const bad = rejected.get(key);
      if (bad) {
        lookups.inc({ result: 'negative' });
        throw bad;
      }
      const hit = verified?.get(key);
      if (hit) {
        lookups.inc({ result: 'hit' });
        if (hit.exp + o.leeway < nowSeconds()) throw new ApiError('token_expired');
        if (hit.nbf !== undefined && hit.nbf - o.leeway > nowSeconds())
          throw new ApiError('token_invalid', 'Token is not valid yet');
        return hit;
      }
      lookups.inc({ result: 'miss' });
      try {
        const claims = await verifySignature(token, 0);
        const ttlMs = (claims.exp + o.leeway) * 1000 - o.clock.now();
        if (verified && ttlMs > 0) verified.set(key, claims, { ttl: Math.min(ttlMs, o.maxTtl * 1000) });
        return claims;
      } catch (err) {
        if (err instanceof ApiError && isPermanent(err)) rejected.set(key, err);
        throw err;
      }
    },
    verifyExpiredWithin: (token, graceSeconds) => verifySignature(token, graceSeconds),
  };
}

/** Reject malformed, oversize, wrong-alg and unknown-kid tokens without touching a key. */
export function precheck(token: string, keys: VerificationKeys): void {
  if (token.length > MAX_TOKEN_BYTES) throw permanent('Token is too large');
  if (!SHAPE_RE.test(token)) throw permanent('Token is not a compact JWS');
  let header: unknown;
  try {
    header = JSON.parse(base64UrlDecode(token.slice(0, token.indexOf('.'))));
  } catch {
    throw permanent('Token header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw permanent('Token header is not an object');
  const h = header as Record<string, unknown>;
  if (!(ALGORITHMS as readonly unknown[]).includes(h.alg)) throw permanent('Token algorithm is not allowed');
  // we recognise no critical extensions; jku/x5u/jwk are never consulted, so they need no check
  if (h.crit !== undefined)
    throw permanent('Token has critical header parameters this gateway does not support');
  if (h.b64 !== undefined) throw permanent('Token uses the b64 extension');
  if (h.kid !== undefined) {
    if (typeof h.kid !== 'string' || !KID_RE.test(h.kid)) throw permanent('Token kid is malformed');
    if (!keys.mayKnow(h.kid)) throw new ApiError('token_invalid', 'Token kid is unknown');
  }
}

function checkIssuerAudience(p: Record<string, unknown>, iss: string, aud: string): void {
  const auds = Array.isArray(p.aud) ? p.aud : [p.aud];
  if (p.iss !== iss || !auds.includes(aud)) throw permanent('Token issuer or audience is wrong');
}

const PERMANENT = Symbol('permanent');
function permanent(message: string): ApiError {
  const e = new ApiError('token_invalid', message);
  (e as unknown as Record<symbol, boolean>)[PERMANENT] = true;
  return e;
}
function isPermanent(e: ApiError): boolean {
  return (e as unknown as Record<symbol, boolean>)[PERMANENT] === true || e.message.startsWith('claim ');
}

function mapJoseError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof joseErrors.JWTExpired) return new ApiError('token_expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    // nbf and iat can become valid with time: not cached as a permanent rejection
    if (err.claim === 'nbf') return new ApiError('token_invalid', 'Token is not valid yet');
    if (err.claim === 'iat') return new ApiError('token_invalid', 'claim iat is in the future');
    return permanent(`Token claim ${err.claim} is wrong or missing`);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return new ApiError('token_invalid', 'Token kid is unknown');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid)
    return new ApiError('not_ready', 'Verification keys are unavailable');
  if (err instanceof joseErrors.JOSEError) return permanent('Token signature or format is invalid');
  return permanent('Token could not be verified');
}

function base64UrlDecode(s: string): string {
  if (s.length > 1024) throw new Error('too long');
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** Hash used for cache keys and rate-limit keys: the token itself is never kept or logged. */
export async function tokenHash(token: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  let s = '';
  for (let i = 0; i < 16; i++) s += (d[i] as number).toString(16).padStart(2, '0');
  return s;
}
