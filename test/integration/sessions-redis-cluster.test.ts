import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/sessions/redis.ts';
import { createRedisClient, whenReady } from '../../src/sessions/redis-client.ts';
import { type RedisCluster, redisCli, startRedisCluster } from '../helpers/redis.ts';
import { CONTRACT_OPTIONS, sessionStoreContract } from '../helpers/session-contract.ts';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

const client = async () => {
  const c = createRedisClient({ clusterNodes: cluster.nodes, commandTimeoutMs: 2_000 }) as Cluster;
  if (!(await whenReady(c, 30_000))) throw new Error('cluster client did not become ready');
  return c;
};

sessionStoreContract(
  'redis cluster (3 masters)',
  async (opts) => new RedisSessionStore(await client(), opts),
);

describe('RedisSessionStore on Redis Cluster', () => {
  let store: RedisSessionStore;
  beforeAll(async () => {
    store = new RedisSessionStore(await client(), { policy: 'kick-oldest', ...CONTRACT_OPTIONS });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('spreads accounts over every master while each account stays in one slot', async () => {
    const subs = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    for (const sub of subs) {
      await store.admit({ sub, sid: 'A', max: 1, iat: 0 });
      await store.admit({ sub, sid: 'B', max: 1, iat: 0 });
    }
    const held = await Promise.all(
      cluster.ports.map(async (p) =>
        (await redisCli(p, '--scan', '--pattern', 'sess:{spread-*')).split('\n'),
      ),
    );
    // each account holds its live and kicked keys: 60 keys, and no master left empty
    expect(held.flat()).toHaveLength(60);
    for (const keys of held) expect(keys.length).toBeGreaterThan(0);
    for (const sub of subs)
      expect(held.find((keys) => keys.includes(`sess:{${sub}}:z`))).toContain(`sess:{${sub}}:k`);
    for (const sub of subs) expect((await store.list(sub)).map((s) => s.sid)).toEqual(['B']);
  });
});
