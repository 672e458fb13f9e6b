import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/sessions/redis.ts';
import { createRedisClient, whenReady } from '../../src/sessions/redis-client.ts';
import type { SessionStoreOptions } from '../../src/sessions/types.ts';
import { SessionInputError } from '../../src/sessions/validate.ts';
import { type RedisServer, startRedis } from '../helpers/redis.ts';
import { CONTRACT_OPTIONS, sessionStoreContract } from '../helpers/session-contract.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const client = async () => {
  const c = createRedisClient({ url: redis.url, commandTimeoutMs: 2_000 }) as Redis;
  if (!(await whenReady(c, 15_000))) throw new Error('redis client did not connect');
  return c;
};

sessionStoreContract('redis', async (opts) => new RedisSessionStore(await client(), opts));

describe('RedisSessionStore on a single node', () => {
  const opts: SessionStoreOptions = { policy: 'kick-oldest', ...CONTRACT_OPTIONS };
  let store: RedisSessionStore;
  let probe: Redis;
  beforeAll(async () => {
    store = new RedisSessionStore(await client(), opts);
    probe = await client();
  });
  afterAll(async () => {
    await store?.close();
    await probe?.quit();
  });

  it('keeps an account in three keys of one hash tag, every one of them expiring', async () => {
    await probe.flushall();
    const sub = 'ttl-{x}';
    await store.admit({ sub, sid: 'A', max: 1, iat: 0 });
    await store.admit({ sub, sid: 'B', max: 1, iat: 0 });
    await store.revoke(sub);
    const [serverSeconds] = await probe.time();
    await store.admit({ sub, sid: 'C', max: 1, iat: Number(serverSeconds) + 1 });
    const keys = (await probe.keys('*')).sort();
    expect(keys).toEqual(['sess:{ttl-%7Bx%7D}:k', 'sess:{ttl-%7Bx%7D}:r', 'sess:{ttl-%7Bx%7D}:z']);
    for (const key of keys) expect(await probe.pttl(key)).toBeGreaterThan(0);
  });

  it('uses the server clock when no explicit time is passed', async () => {
    const [seconds] = await probe.time();
    await store.admit({ sub: 'clock', sid: 'A', max: 1, iat: 0 });
    const [{ lastSeen } = { lastSeen: 0 }] = await store.list('clock');
    expect(Math.abs(lastSeen / 1000 - Number(seconds))).toBeLessThanOrEqual(2);
    expect(await store.state({ sub: 'clock', sid: 'A', iat: 0 })).toBe('live');
  });

  it('writes nothing for bad input', async () => {
    await probe.flushall();
    const bad = [
      store.admit({ sub: 'x'.repeat(129), sid: 'A', max: 1, iat: 0 }),
      store.admit({ sub: 'u', sid: 'x'.repeat(1_000_000), max: 1, iat: 0 }),
      store.admit({ sub: 'u', sid: 'A', max: 1_000_000, iat: 0 }),
      store.admit({ sub: 'u', sid: 'A', max: -1, iat: 0 }),
      store.admit({ sub: { toString: () => 'u' } as unknown as string, sid: 'A', max: 1, iat: 0 }),
      store.admit({ sub: 'u', sid: ['A'] as unknown as string, max: 1, iat: 0 }),
      store.admit({ sub: 'u', sid: 'A', max: 1, iat: '0' as unknown as number }),
      store.revoke(''),
    ];
    for (const p of bad) await expect(p).rejects.toThrow(SessionInputError);
    expect(await probe.dbsize()).toBe(0);
  });

  it('reloads its scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    await probe.script('FLUSH');
    expect((await store.admit({ sub: 'flush', sid: 'A', max: 1, iat: 0 })).outcome).toBe('admitted');
    expect(await store.state({ sub: 'flush', sid: 'A', iat: 0 })).toBe('live');
  });

  it('holds 10k active sessions in at most 200 bytes each', async () => {
    await probe.flushall();
    const used = async () => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))?.[1]);
    // warm up the script cache and the client so only session data is measured
    await store.admit({ sub: 'warm', sid: 'A', max: 1, iat: 0 });
    await probe.del('sess:{warm}:z');
    const before = await used();
    const n = 10_000;
    // realistic ids: an account number and the 32-hex sid the issuer mints
    for (let i = 0; i < n; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          store.admit({ sub: `acct-${i + j}`, sid: (i + j).toString(16).padStart(32, '0'), max: 1, iat: 0 }),
        ),
      );
    }
    const perSession = ((await used()) - before) / n;
    console.log(
      `redis memory per active session: ${perSession.toFixed(1)} bytes (${n} sessions, 1 per account)`,
    );
    expect(await probe.dbsize()).toBe(n);
    expect(await probe.object('ENCODING', 'sess:{acct-1}:z')).toBe('listpack');
    expect(perSession).toBeLessThanOrEqual(200);
  });
});
