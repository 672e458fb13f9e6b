import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createSessionGuard, type SessionGuardOptions } from '../../src/sessions/guard.ts';
import { MemorySessionStore } from '../../src/sessions/memory.ts';
import type { SessionPolicy } from '../../src/sessions/types.ts';
import { recordingMetrics } from '../helpers/session-metrics.ts';

const IDLE = 20;
const GRACE = 60;
const LEASE = 2_000;

/** One shared store and clock; each guard is a gateway process with its own local table and metrics. */
function setup(policy: SessionPolicy = 'kick-oldest', guardOpts: Partial<SessionGuardOptions> = {}) {
  const clock = manualClock();
  const store = new MemorySessionStore({
    policy,
    idleSeconds: IDLE,
    refreshGraceSeconds: GRACE,
    tombstoneSeconds: 690,
    clock,
  });
  const gateway = () => {
    const metrics = recordingMetrics();
    const guard = createSessionGuard({
      store,
      clock,
      leaseMs: LEASE,
      idleSeconds: IDLE,
      failure: 'closed',
      storeTimeoutMs: 1_000,
      metrics,
      ...guardOpts,
    });
    const commands = (op = 'admit') => metrics.value('gateway_session_store_commands_total', { op });
    return { guard, metrics, commands };
  };
  const iat = clock.now() / 1000 - 10;
  const session = (sid: string, sub = 'alice', max = 1) => ({ sub, sid, max, iat });
  return { clock, store, gateway, session, iat };
}

const refusedWith = (code: string, status = 409) =>
  expect.objectContaining({ name: 'ApiError', code, status });

describe('session guard: lease', () => {
  it('costs one store command per lease for a session, whatever its request rate', async () => {
    const { clock, gateway, session } = setup();
    const g = gateway();
    for (let t = 0; t < 10_000; t += 50) {
      await g.guard.admit(session('A'));
      clock.advance(50);
    }
    expect(g.commands()).toBe(5);
    expect(g.metrics.value('gateway_session_lease_hits_total')).toBe(195);
    expect(g.metrics.value('gateway_sessions_admitted_total')).toBe(1);
  });

  it('shares one store call among concurrent requests of a session whose lease ran out', async () => {
    const { clock, gateway, session } = setup();
    const g = gateway();
    await Promise.all(Array.from({ length: 20 }, () => g.guard.admit(session('A'))));
    expect(g.commands()).toBe(1);
    clock.advance(LEASE);
    await Promise.all(Array.from({ length: 20 }, () => g.guard.admit(session('A'))));
    expect(g.commands()).toBe(2);

    await g.guard.admit(session('B'));
    clock.advance(LEASE);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => g.guard.admit(session('A'))));
    expect(results.map((r) => r.status === 'rejected' && r.reason)).toEqual(
      Array.from({ length: 20 }, () => refusedWith('session_replaced')),
    );
    expect(g.commands()).toBe(4);
  });

  it('asks the store on every request when the lease is 0', async () => {
    const { gateway, session } = setup('kick-oldest', { leaseMs: 0 });
    const g = gateway();
    for (let i = 0; i < 5; i++) await g.guard.admit(session('A'));
    expect(g.commands()).toBe(5);
  });

  it('holds at most maxLocalSessions sessions, the least recently used leaving first', async () => {
    const { gateway, session } = setup('kick-oldest', { maxLocalSessions: 2 });
    const g = gateway();
    for (const sub of ['a', 'b', 'c']) await g.guard.admit(session('A', sub));
    expect(g.metrics.value('gateway_sessions_local')).toBe(2);
    await g.guard.admit(session('A', 'c'));
    expect(g.commands()).toBe(3);
    await g.guard.admit(session('A', 'a'));
    expect(g.commands()).toBe(4);
  });
});

describe('session guard: kick-oldest', () => {
  it('a kick made by another gateway takes effect here within one lease', async () => {
    const { clock, gateway, session } = setup();
    const [g1, g2] = [gateway(), gateway()];
    await g1.guard.admit(session('A'));
    await g2.guard.admit(session('B'));
    expect(g2.metrics.value('gateway_sessions_replaced_total')).toBe(1);
    // the documented staleness: A's lease still stands on the first gateway
    await g1.guard.admit(session('A'));
    clock.advance(LEASE);
    await expect(g1.guard.admit(session('A'))).rejects.toEqual(refusedWith('session_replaced'));
    await g2.guard.admit(session('B'));
  });

  it('a kick made in this process takes effect at the next request', async () => {
    const { gateway, session } = setup();
    const g = gateway();
    await g.guard.admit(session('A'));
    await g.guard.admit(session('B'));
    await expect(g.guard.admit(session('A'))).rejects.toEqual(refusedWith('session_replaced'));
    expect(g.commands()).toBe(2);
    expect(g.metrics.value('gateway_session_refusals_total', { code: 'session_replaced' })).toBe(1);
  });

  it('a kicked device cannot come back and kick the newer one', async () => {
    const { clock, gateway, session } = setup();
    const g = gateway();
    await g.guard.admit(session('A'));
    await g.guard.admit(session('B'));
    for (let i = 0; i < 30; i++) {
      clock.advance(LEASE);
      await expect(g.guard.admit(session('A'))).rejects.toEqual(refusedWith('session_replaced'));
      await g.guard.admit(session('B'));
    }
  });
});

describe('session guard: deny-new', () => {
  it('refuses a second session with session_limit until the first one is idle', async () => {
    const { clock, gateway, session } = setup('deny-new');
    const g = gateway();
    await g.guard.admit(session('A'));
    await expect(g.guard.admit(session('B'))).rejects.toEqual(refusedWith('session_limit'));
    await expect(g.guard.admit(session('B'))).rejects.toEqual(refusedWith('session_limit'));
    expect(g.commands()).toBe(2);
    expect(g.metrics.value('gateway_sessions_denied_total')).toBe(1);
    clock.advance((IDLE + 1) * 1000);
    await g.guard.admit(session('B'));
    clock.advance(LEASE);
    await expect(g.guard.admit(session('A'))).rejects.toEqual(refusedWith('session_limit'));
  });

  it('lets an account stream as many sessions as its max', async () => {
    const { gateway, session } = setup('deny-new');
    const g = gateway();
    for (const sid of ['A', 'B', 'C']) await g.guard.admit(session(sid, 'family', 3));
    await expect(g.guard.admit(session('D', 'family', 3))).rejects.toEqual(refusedWith('session_limit'));
    expect((await g.guard.list('family')).map((s) => s.sid)).toEqual(['A', 'B', 'C']);
  });
});

describe('session guard: revocation', () => {
  it('revokes in the store and drops the account’s leases here at once', async () => {
    const { clock, gateway, session } = setup();
    const g = gateway();
    await g.guard.admit(session('A', 'alice', 2));
    await g.guard.admit(session('B', 'alice', 2));
    await g.guard.admit(session('A', 'bob'));
    expect(await g.guard.revoke('alice')).toEqual({ revoked: 2 });
    expect(g.metrics.value('gateway_sessions_revoked_total')).toBe(2);
    await expect(g.guard.admit(session('A', 'alice', 2))).rejects.toEqual(refusedWith('session_revoked'));
    await g.guard.admit(session('A', 'bob'));
    // a token issued after the revocation starts a new session
    clock.advance(1_000);
    await g.guard.admit({ sub: 'alice', sid: 'C', max: 1, iat: clock.now() / 1000 });
  });

  it('a revocation made by another gateway takes effect here within one lease', async () => {
    const { clock, gateway, session } = setup();
    const [g1, g2] = [gateway(), gateway()];
    await g1.guard.admit(session('A'));
    await g2.guard.revoke('alice');
    await g1.guard.admit(session('A'));
    clock.advance(LEASE);
    await expect(g1.guard.admit(session('A'))).rejects.toEqual(refusedWith('session_revoked'));
  });
});

describe('session guard: refresh', () => {
  it('allows a live session and an idle one within the refresh grace, then refuses an ended one', async () => {
    const { clock, gateway, session, iat } = setup();
    const g = gateway();
    await g.guard.admit(session('A'));
    await g.guard.checkRefresh({ sub: 'alice', sid: 'A', iat });
    clock.advance((IDLE + 1) * 1000);
    await g.guard.checkRefresh({ sub: 'alice', sid: 'A', iat });
    clock.advance(GRACE * 1000);
    await expect(g.guard.checkRefresh({ sub: 'alice', sid: 'A', iat })).rejects.toEqual(
      refusedWith('token_expired', 401),
    );
    await expect(g.guard.checkRefresh({ sub: 'alice', sid: 'never-seen', iat })).rejects.toEqual(
      refusedWith('token_expired', 401),
    );
  });

  it('refuses a kicked session and a revoked one, whichever gateway did it', async () => {
    const { gateway, session, iat } = setup();
    const [g1, g2] = [gateway(), gateway()];
    await g1.guard.admit(session('A'));
    await g2.guard.admit(session('B'));
    await expect(g1.guard.checkRefresh({ sub: 'alice', sid: 'A', iat })).rejects.toEqual(
      refusedWith('session_replaced'),
    );
    await g2.guard.revoke('alice');
    await expect(g1.guard.checkRefresh({ sub: 'alice', sid: 'B', iat })).rejects.toEqual(
      refusedWith('session_revoked'),
    );
    expect(g1.commands('state')).toBe(2);
  });
});

describe('session guard: input', () => {
  it.each([
    [{ sub: '' }, 'claim sub must be 1-128 bytes'],
    [{ sid: 'x'.repeat(200) }, 'claim sid must be 1-128 bytes'],
    [{ sid: 7 }, 'claim sid must be a string'],
    [{ iat: 'yesterday' }, 'claim iat must be a non-negative number of seconds'],
  ])('refuses %o as token_invalid without asking the store', async (bad, message) => {
    const { gateway, session } = setup();
    const g = gateway();
    const req = { ...session('A'), ...bad } as ReturnType<typeof session>;
    const invalid = expect.objectContaining({ code: 'token_invalid', status: 401, message });
    await expect(g.guard.admit(req)).rejects.toEqual(invalid);
    await expect(g.guard.checkRefresh(req)).rejects.toEqual(invalid);
    expect(g.commands('admit') + g.commands('state')).toBe(0);
  });

  it.each([1000, 0, 2.5])('refuses max %s as token_invalid without asking the store', async (max) => {
    const { gateway, session } = setup();
    const g = gateway();
    await expect(g.guard.admit({ ...session('A'), max })).rejects.toEqual(
      expect.objectContaining({ code: 'token_invalid', message: 'claim max must be an integer 1-100' }),
    );
    expect(g.commands()).toBe(0);
  });

  it('refuses a bad account id on revoke and list as bad_request', async () => {
    const { gateway } = setup();
    const g = gateway();
    await expect(g.guard.revoke('')).rejects.toEqual(refusedWith('bad_request', 400));
    await expect(g.guard.list('a\u0000b')).rejects.toEqual(refusedWith('bad_request', 400));
    expect(g.commands('revoke') + g.commands('list')).toBe(0);
  });

  it('refuses options it cannot honour', () => {
    const { store } = setup();
    const base = {
      store,
      leaseMs: LEASE,
      idleSeconds: IDLE,
      failure: 'closed',
      storeTimeoutMs: 100,
    } as const;
    expect(() => createSessionGuard({ ...base, failure: 'sometimes' as 'open' })).toThrow(/failure/);
    expect(() => createSessionGuard({ ...base, leaseMs: -1 })).toThrow(/leaseMs/);
    expect(() => createSessionGuard({ ...base, storeTimeoutMs: Number.NaN })).toThrow(/storeTimeoutMs/);
  });

  it('is ready when the store answers', async () => {
    const { gateway } = setup();
    expect(await gateway().guard.ready()).toBe(true);
  });
});
