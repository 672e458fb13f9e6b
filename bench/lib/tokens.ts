/**
 * Tokens as players get them: signed by the product's own issuer (ES256, `auth_time`, random `sid` and
 * `jti`), bound to the loopback client address, entitled to the bench channel. Each simulated player has
 * its own account, so sessions never kick each other and every one is checked on its own.
 */
import { createTokenIssuer, type TokenIssuer } from '../../src/auth/issue.ts';
import { systemClock } from '../../src/clock.ts';
import { gatewayEnv, PROC_AUD, PROC_ISS } from '../../test/helpers/gateway-process.ts';
import { makeKey, type TestKey } from '../../test/helpers/keys.ts';
import { CHANNEL } from './data.ts';

export const CLIENT_ADDRESS = '127.0.0.1';
export const TOKEN_TTL = 600;

export interface Tokens {
  key: TestKey;
  issuer: string;
  audience: string;
  /** JWT_* and ISSUER_API_KEY for a gateway that verifies these tokens */
  gatewayEnv: Record<string, string>;
  /** `count` tokens of distinct accounts named `{label}-{i}`, bound to `ip` */
  mint(label: string, count: number, ip?: string): Promise<string[]>;
}

export async function createTokens(): Promise<Tokens> {
  const key = await makeKey('ES256', 'bench-1');
  const issuer: TokenIssuer = await createTokenIssuer({
    privateJwk: key.privateJwk,
    issuer: PROC_ISS,
    audience: PROC_AUD,
    clock: systemClock,
  });
  const run = Date.now().toString(36);
  return {
    key,
    issuer: PROC_ISS,
    audience: PROC_AUD,
    gatewayEnv: gatewayEnv(key),
    mint: async (label, count, ip = CLIENT_ADDRESS) => {
      const out: string[] = [];
      for (let i = 0; i < count; i++) {
        const t = await issuer.issue({ sub: `${label}-${i}-${run}`, ip, ch: [CHANNEL], ttl: TOKEN_TTL });
        out.push(t.token);
      }
      return out;
    },
  };
}
