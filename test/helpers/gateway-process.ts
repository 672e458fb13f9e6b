/**
 * The gateway as a real process (`node src/node.ts`) on an ephemeral loopback port, and tokens for it.
 */
import { SignJWT } from 'jose';
import { makeKey, type TestKey } from './keys.ts';
import { freePort, waitFor } from './net.ts';
import { type Proc, start } from './process.ts';

export const PROC_ISS = 'https://issuer.test';
export const PROC_AUD = 'edge-gateway';
export const PROC_API_KEY = 'proc-issuer-key-0123456789';

export interface GatewayProcess {
  proc: Proc;
  url: string;
}

export async function signingKey(kid = 'proc-1'): Promise<TestKey> {
  return makeKey('ES256', kid);
}

/** Environment for a gateway that verifies (and can refresh) tokens signed with `key`. */
export function gatewayEnv(key: TestKey, extra: Record<string, string> = {}): Record<string, string> {
  return {
    JWT_ISSUER: PROC_ISS,
    JWT_AUDIENCE: PROC_AUD,
    JWT_PRIVATE_JWK: JSON.stringify(key.privateJwk),
    ISSUER_API_KEY: PROC_API_KEY,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const proc = start('node', ['src/node.ts'], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.exited()) throw new Error(`gateway exited: ${proc.output().slice(-1000)}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    { what: 'gateway /healthz', timeoutMs: 30_000 },
  );
  return { proc, url };
}

export async function mintFor(
  key: TestKey,
  claims: Record<string, unknown> & { sub: string; sid: string },
  ttl = 120,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ ip: '127.0.0.1', ch: ['demo'], jti: `j-${crypto.randomUUID()}`, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(PROC_ISS)
    .setAudience(PROC_AUD)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .sign(key.privateKey);
}
