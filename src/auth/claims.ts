/**
 * The token's claims (SPEC §3) and their shape checks. jose has already checked signature, iss, aud,
 * exp/nbf/iat against the injected clock; this is what jose cannot know about our contract.
 */
import { ApiError } from '../errors.ts';

export interface Claims {
  iss: string;
  aud: string | string[];
  sub: string;
  sid: string;
  ip: string | string[];
  ch: string[] | '*';
  iat: number;
  exp: number;
  jti: string;
  nbf?: number;
  max?: number;
  /** when the issuer authenticated the account; refresh keeps it (defaults to iat) */
  auth_time: number;
}

export const ID_RE = /^[\x21-\x7e]{1,128}$/;
export const CHANNEL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MAX_CHANNELS = 256;
export const MAX_STREAMS = 100;

/** Checks claim types and bounds; throws token_invalid naming the claim. */
export function checkClaims(p: Record<string, unknown>, maxTtl: number, now: number, leeway: number): Claims {
  const bad = (claim: string, why: string) => new ApiError('token_invalid', `claim ${claim} ${why}`);
  for (const c of ['sub', 'sid', 'jti'] as const) {
    if (typeof p[c] !== 'string' || !ID_RE.test(p[c]))
      throw bad(c, 'must be 1-128 printable ASCII characters');
  }
  for (const c of ['iat', 'exp'] as const) {
    if (typeof p[c] !== 'number' || !Number.isFinite(p[c])) throw bad(c, 'must be a number');
  }
  const iat = p.iat as number;
  const exp = p.exp as number;
  if (exp - iat > maxTtl) throw bad('exp', `is more than ${maxTtl}s after iat`);
  if (exp <= iat) throw bad('exp', 'must be after iat');
  // whatever the claims say, nothing is accepted past now + TOKEN_MAX_TTL
  if (exp > now + maxTtl + leeway) throw bad('exp', 'is too far in the future');
  if (iat > now + leeway) throw bad('iat', 'is in the future');
  const ch = p.ch;
  if (ch !== '*') {
    if (!Array.isArray(ch) || ch.length === 0 || ch.length > MAX_CHANNELS)
      throw bad('ch', 'must be "*" or 1-256 ids');
    for (const id of ch)
      if (typeof id !== 'string' || !CHANNEL_RE.test(id)) throw bad('ch', 'holds an invalid id');
  }
  const ip = p.ip;
  if (typeof ip !== 'string' && !Array.isArray(ip)) throw bad('ip', 'must be an address, a prefix or a list');
  if (
    p.max !== undefined &&
    !(Number.isInteger(p.max) && (p.max as number) >= 1 && (p.max as number) <= MAX_STREAMS)
  )
    throw bad('max', `must be an integer 1-${MAX_STREAMS}`);
  // absent means a fresh sign-in (iat); present must be a number, null included in the refusal
  const authTime = p.auth_time === undefined ? iat : p.auth_time;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime) || authTime > iat + leeway)
    throw bad('auth_time', 'must be a number not after iat');
  return { ...(p as unknown as Claims), auth_time: authTime };
}

export function grantsChannel(claims: Claims, channel: string): boolean {
  return claims.ch === '*' || claims.ch.includes(channel);
}
