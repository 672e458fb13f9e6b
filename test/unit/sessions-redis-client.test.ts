import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountTag } from '../../src/sessions/redis.ts';
import { createRedisClient } from '../../src/sessions/redis-client.ts';

describe('createRedisClient', () => {
  it.each([
    [{ commandTimeoutMs: 100 }, 'set exactly one of url and clusterNodes'],
    [{ url: 'redis://127.0.0.1:1', clusterNodes: ['127.0.0.1:2'], commandTimeoutMs: 100 }, 'exactly one'],
    [{ clusterNodes: [], commandTimeoutMs: 100 }, 'exactly one'],
    [{ url: 'redis://127.0.0.1:1', commandTimeoutMs: 0 }, 'commandTimeoutMs must be a positive number'],
    [{ clusterNodes: ['127.0.0.1'], commandTimeoutMs: 100 }, 'cluster node "127.0.0.1" is not host:port'],
    [{ clusterNodes: ['127.0.0.1:0'], commandTimeoutMs: 100 }, 'is not host:port'],
    [{ clusterNodes: [':6379'], commandTimeoutMs: 100 }, 'is not host:port'],
  ])('refuses %o before connecting anywhere', (opts, message) => {
    expect(() => createRedisClient(opts)).toThrow(message);
  });
});

describe('accountTag', () => {
  it('keeps every sub inside its own braces and two subs never share a tag', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (a, b) => {
          for (const tag of [accountTag(a), accountTag(b)]) {
            expect(tag).not.toMatch(/[{}]/);
            expect(tag.length).toBeGreaterThan(0);
          }
          if (a !== b) expect(accountTag(a)).not.toBe(accountTag(b));
        },
      ),
    );
  });

  it('leaves ordinary ids as they are', () => {
    expect(accountTag('acct-42')).toBe('acct-42');
    expect(accountTag('}{%')).toBe('%7D%7B%25');
  });
});
