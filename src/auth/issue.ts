/**
 * Issuing: signs tokens with the private JWK (`/v1/tokens`, refresh, the dev endpoint). The private key
 * never leaves this object; its public half is published and trusted for verification.
 */
import { type CryptoKey, importJWK, type JWK, SignJWT } from 'jose';
import type { Clock } from '../clock.ts';
import { type Algorithm, algOf, checkPublicJwk } from './keys.ts';

export interface IssueRequest {
  sub: string;
  ip: string | string[];
  ch: string[] | '*';
  ttl: number;
  sid?: string;
  max?: number;
  /** seconds; defaults to now (a fresh sign-in) */
  authTime?: number;
}

export interface IssuedToken {
  token: string;
  sid: string;
  iat: number;
  exp: number;
}

export interface TokenIssuer {
  issue(req: IssueRequest): Promise<IssuedToken>;
  publicJwk: JWK;
}

export async function createTokenIssuer(opts: {
  privateJwk: unknown;
  issuer: string;
  audience: string;
  clock: Clock;
}): Promise<TokenIssuer> {
  const jwk = opts.privateJwk as JWK;
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string')
    throw new Error('JWT_PRIVATE_JWK: not a private JWK');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, key_ops: _ops, ...pub } = jwk;
  const publicJwk = checkPublicJwk(pub, 'JWT_PRIVATE_JWK');
  const alg: Algorithm = algOf(publicJwk);
  const key = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
  const kid = publicJwk.kid as string;

  return {
    publicJwk,
    async issue(req) {
      const iat = Math.floor(opts.clock.now() / 1000);
      const sid = req.sid ?? randomId();
      const payload: Record<string, unknown> = {
        sid,
        ip: req.ip,
        ch: req.ch,
        auth_time: req.authTime ?? iat,
      };
      if (req.max !== undefined) payload.max = req.max;
      const token = await new SignJWT(payload)
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(req.sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + req.ttl)
        .setJti(randomId())
        .sign(key);
      return { token, sid, iat, exp: iat + req.ttl };
    },
  };
}

export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
