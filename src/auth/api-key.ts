/**
 * Bearer API keys (issuer backend, operators), several at once during rotation. Comparison is constant-time:
 * both sides are hashed to 32 bytes first so neither length nor content leaks through timing.
 */
import { ApiError } from '../errors.ts';

export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ]);
  const u = new Uint8Array(x);
  const v = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < u.length; i++) diff |= (u[i] as number) ^ (v[i] as number);
  return diff === 0;
}

/** Throws 401 unless `authorization` is `Bearer <one of keys>`. Every key is compared, match or not. */
export async function requireApiKey(
  authorization: string | undefined,
  keys: readonly string[],
): Promise<void> {
  const m = authorization ? /^Bearer[ \t]+([^\s]{1,512})[ \t]*$/i.exec(authorization) : null;
  const presented = m?.[1] ?? '';
  let ok = false;
  for (const k of keys) if (await constantTimeEqual(presented, k)) ok = true;
  if (!presented || !ok)
    throw new ApiError('unauthorized', undefined, { headers: { 'www-authenticate': 'Bearer' } });
}
