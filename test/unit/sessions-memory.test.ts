import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { MemorySessionStore } from '../../src/sessions/memory.ts';
import { SessionInputError } from '../../src/sessions/validate.ts';
import { CONTRACT_OPTIONS, sessionStoreContract } from '../helpers/session-contract.ts';

sessionStoreContract('memory', (opts) => new MemorySessionStore(opts));

describe('MemorySessionStore', () => {
  const base = { policy: 'kick-oldest', ...CONTRACT_OPTIONS } as const;

  it('reads its injected clock when no explicit time is passed', async () => {
    const clock = manualClock();
    const store = new MemorySessionStore({ ...base, clock });
    await store.admit({ sub: 'u', sid: 'A', max: 1, iat: 0 });
    expect(await store.list('u')).toEqual([{ sid: 'A', lastSeen: clock.now() }]);
    clock.advance((CONTRACT_OPTIONS.idleSeconds + 1) * 1000);
    expect(await store.list('u')).toEqual([]);
    expect(await store.state({ sub: 'u', sid: 'A', iat: 0 })).toBe('idle');
  });

  it('keeps an account as long as its longest-lived record: tombstones outlive idle sessions', async () => {
    const clock = manualClock();
    const store = new MemorySessionStore({ ...base, clock });
    await store.admit({ sub: 'u', sid: 'A', max: 1, iat: 0 });
    await store.admit({ sub: 'u', sid: 'B', max: 1, iat: 0 });
    clock.advance((CONTRACT_OPTIONS.idleSeconds + CONTRACT_OPTIONS.refreshGraceSeconds + 5) * 1000);
    expect(await store.state({ sub: 'u', sid: 'B', iat: 0 })).toBe('ended');
    expect((await store.admit({ sub: 'u', sid: 'A', max: 1, iat: 0 })).outcome).toBe('replaced');
    clock.advance(CONTRACT_OPTIONS.tombstoneSeconds * 1000);
    expect((await store.admit({ sub: 'u', sid: 'A', max: 1, iat: 0 })).outcome).toBe('admitted');
  });

  it('holds at most maxAccounts accounts, dropping the least recently used', async () => {
    const store = new MemorySessionStore({ ...base, maxAccounts: 2, clock: manualClock() });
    for (const sub of ['a', 'b', 'c']) await store.admit({ sub, sid: 'A', max: 1, iat: 0 });
    expect(await store.list('a')).toEqual([]);
    expect(await store.list('c')).toHaveLength(1);
  });

  it.each([
    [{ idleSeconds: 0 }, 'idleSeconds'],
    [{ idleSeconds: 1.5 }, 'idleSeconds'],
    [{ refreshGraceSeconds: -1 }, 'refreshGraceSeconds'],
    [{ tombstoneSeconds: Number.NaN }, 'tombstoneSeconds'],
    [{ policy: 'newest' }, 'policy'],
  ])('refuses options %o', (bad, field) => {
    expect(() => new MemorySessionStore({ ...base, ...(bad as object) })).toThrow(SessionInputError);
    expect(() => new MemorySessionStore({ ...base, ...(bad as object) })).toThrow(new RegExp(`^${field} `));
  });
});
