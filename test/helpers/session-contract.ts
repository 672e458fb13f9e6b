/**
 * The one contract every SessionStore passes (memory, Redis, Redis Cluster, Durable Object). Every call
 * carries an explicit `now`, so idle expiry and tombstones are tested without sleeping and on server-time
 * stores alike; every test uses its own accounts, so stores are shared across tests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStore, SessionStoreOptions } from '../../src/sessions/types.ts';
import { SessionInputError } from '../../src/sessions/validate.ts';

export const CONTRACT_OPTIONS = { idleSeconds: 20, refreshGraceSeconds: 60, tombstoneSeconds: 690 } as const;
const { idleSeconds: IDLE, refreshGraceSeconds: GRACE, tombstoneSeconds: TOMB } = CONTRACT_OPTIONS;

/** ms at `s` seconds into the test's timeline (a whole second, as stores keep whole seconds) */
const T0 = Date.UTC(2026, 0, 1, 12);
const at = (s: number) => T0 + s * 1000;
/** a token issued a minute before the timeline starts */
const IAT = T0 / 1000 - 60;

export function sessionStoreContract(
  name: string,
  makeStore: (opts: SessionStoreOptions) => SessionStore | Promise<SessionStore>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    let kick: SessionStore;
    let deny: SessionStore;
    const run = randomUUID().slice(0, 8);
    let n = 0;
    const account = () => `acct-${run}-${++n}`;

    beforeAll(async () => {
      kick = await makeStore({ policy: 'kick-oldest', ...CONTRACT_OPTIONS });
      deny = await makeStore({ policy: 'deny-new', ...CONTRACT_OPTIONS });
    });
    afterAll(async () => {
      await kick?.close();
      await deny?.close();
    });

    const sids = async (store: SessionStore, sub: string, s: number) =>
      (await store.list(sub, at(s))).map((x) => x.sid);

    describe('admission', () => {
      it('admits a first session, then heartbeats it', async () => {
        const sub = account();
        expect(await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: [],
        });
        expect(await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(5) })).toEqual({
          outcome: 'admitted',
          started: false,
          kicked: [],
        });
        expect(await kick.list(sub, at(5))).toEqual([{ sid: 'A', lastSeen: at(5) }]);
        expect(await kick.state({ sub, sid: 'A', iat: IAT, now: at(5) })).toBe('live');
      });

      it('kick-oldest: the newest session wins and the kicked one is told so', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        expect(await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(1) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: ['A'],
        });
        expect((await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(2) })).outcome).toBe('replaced');
        expect(await kick.state({ sub, sid: 'A', iat: IAT, now: at(2) })).toBe('replaced');
        expect((await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(2) })).outcome).toBe('admitted');
        expect(await sids(kick, sub, 2)).toEqual(['B']);
      });

      it('a kicked session cannot come back and kick the newer one until its tombstone is forgotten', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(1) });
        for (let s = 2; s <= 1 + TOMB; s += 10) {
          expect((await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(s) })).outcome).toBe(
            'replaced',
          );
          await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(s) });
        }
        const edge = 1 + TOMB;
        expect((await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(edge) })).outcome).toBe(
          'replaced',
        );
        expect(await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(edge + 1) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: ['B'],
        });
      });

      it('kick-oldest kicks the least recently seen session', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 2, iat: IAT, now: at(0) });
        await kick.admit({ sub, sid: 'B', max: 2, iat: IAT, now: at(1) });
        await kick.admit({ sub, sid: 'A', max: 2, iat: IAT, now: at(2) });
        expect((await kick.admit({ sub, sid: 'C', max: 2, iat: IAT, now: at(3) })).kicked).toEqual(['B']);
        expect(await kick.list(sub, at(3))).toEqual([
          { sid: 'A', lastSeen: at(2) },
          { sid: 'C', lastSeen: at(3) },
        ]);
      });

      it('kicks as many as the limit needs, oldest first, when a token carries a lower max', async () => {
        const sub = account();
        for (const [i, sid] of ['A', 'B', 'C'].entries())
          await kick.admit({ sub, sid, max: 3, iat: IAT, now: at(i) });
        expect((await kick.admit({ sub, sid: 'D', max: 1, iat: IAT, now: at(3) })).kicked).toEqual([
          'A',
          'B',
          'C',
        ]);
      });

      it('deny-new refuses a new session at the limit and leaves no trace of it', async () => {
        const sub = account();
        await deny.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        expect(await deny.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(1) })).toEqual({
          outcome: 'denied',
          started: false,
          kicked: [],
        });
        expect(await deny.state({ sub, sid: 'B', iat: IAT, now: at(1) })).toBe('ended');
        expect((await deny.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(2) })).outcome).toBe('admitted');
        expect(await sids(deny, sub, 2)).toEqual(['A']);
      });

      it('deny-new admits a new session once the old one is idle', async () => {
        const sub = account();
        await deny.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        expect((await deny.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(IDLE) })).outcome).toBe('denied');
        expect(await deny.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(IDLE + 1) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: [],
        });
      });

      it('the limit is per account', async () => {
        const [a, b] = [account(), account()];
        for (const store of [kick, deny]) {
          expect((await store.admit({ sub: a, sid: 'A', max: 1, iat: IAT, now: at(0) })).outcome).toBe(
            'admitted',
          );
          expect((await store.admit({ sub: b, sid: 'B', max: 1, iat: IAT, now: at(0) })).outcome).toBe(
            'admitted',
          );
        }
      });

      it('admission is atomic: 50 concurrent new sessions of one account', async () => {
        const [d, k] = [account(), account()];
        const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
        const denied = await Promise.all(
          ids.map((sid) => deny.admit({ sub: d, sid, max: 3, iat: IAT, now: at(0) })),
        );
        expect(denied.filter((r) => r.outcome === 'admitted')).toHaveLength(3);
        expect(denied.filter((r) => r.outcome === 'denied')).toHaveLength(47);
        expect(await sids(deny, d, 0)).toHaveLength(3);

        const kicked = await Promise.all(
          ids.map((sid) => kick.admit({ sub: k, sid, max: 3, iat: IAT, now: at(0) })),
        );
        expect(kicked.every((r) => r.outcome === 'admitted')).toBe(true);
        expect(kicked.flatMap((r) => r.kicked)).toHaveLength(47);
        expect(await sids(kick, k, 0)).toHaveLength(3);
      });
    });

    describe('idle sessions and refresh state', () => {
      it('an idle session stops counting, is remembered for the refresh grace, then ends', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        const state = (s: number) => kick.state({ sub, sid: 'A', iat: IAT, now: at(s) });
        expect(await state(IDLE)).toBe('live');
        expect(await state(IDLE + 1)).toBe('idle');
        expect(await kick.list(sub, at(IDLE + 1))).toEqual([]);
        expect(await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(IDLE + 1) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: [],
        });
        expect(await state(IDLE + GRACE)).toBe('idle');
        expect(await state(IDLE + GRACE + 1)).toBe('ended');
      });

      it('an idle session that comes back starts again, and under kick-oldest wins', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        await kick.admit({ sub, sid: 'B', max: 1, iat: IAT, now: at(IDLE + 1) });
        expect(await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(IDLE + 2) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: ['B'],
        });
      });

      it('the state of an unknown session is ended, and asking writes nothing', async () => {
        const sub = account();
        expect(await kick.state({ sub, sid: 'X', iat: IAT, now: at(0) })).toBe('ended');
        expect(await kick.list(sub, at(0))).toEqual([]);
      });
    });

    describe('revocation', () => {
      it('ends every live session and refuses tokens issued before it, by iat', async () => {
        const sub = account();
        await kick.admit({ sub, sid: 'A', max: 2, iat: IAT, now: at(0) });
        await kick.admit({ sub, sid: 'B', max: 2, iat: IAT, now: at(1) });
        expect(await kick.revoke(sub, at(10) + 500)).toEqual({ revoked: 2 });
        expect(await kick.list(sub, at(11))).toEqual([]);
        expect((await kick.admit({ sub, sid: 'A', max: 2, iat: IAT, now: at(11) })).outcome).toBe('revoked');
        expect(await kick.state({ sub, sid: 'B', iat: IAT, now: at(11) })).toBe('revoked');
        // iat has one-second resolution: a token of the revocation's own second is refused too
        const sameSecond = at(10) / 1000;
        expect((await kick.admit({ sub, sid: 'C', max: 2, iat: sameSecond, now: at(11) })).outcome).toBe(
          'revoked',
        );
        expect(await kick.admit({ sub, sid: 'C', max: 2, iat: sameSecond + 1, now: at(11) })).toEqual({
          outcome: 'admitted',
          started: true,
          kicked: [],
        });
      });

      it('counts only live sessions, and holds for an account that had none', async () => {
        const sub = account();
        await deny.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0) });
        expect(await deny.revoke(sub, at(IDLE + 5))).toEqual({ revoked: 0 });
        const fresh = account();
        expect(await deny.revoke(fresh, at(0))).toEqual({ revoked: 0 });
        expect((await deny.admit({ sub: fresh, sid: 'A', max: 1, iat: IAT, now: at(1) })).outcome).toBe(
          'revoked',
        );
      });

      it('is forgotten after tombstoneSeconds, when every token it refused has expired', async () => {
        const sub = account();
        await kick.revoke(sub, at(0));
        expect((await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(TOMB) })).outcome).toBe(
          'revoked',
        );
        expect((await kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(TOMB + 1) })).outcome).toBe(
          'admitted',
        );
      });
    });

    describe('identifiers and input', () => {
      it('keeps accounts apart whatever characters their ids hold', async () => {
        const subs = ['x', '{x}', 'x}', '}x', '}', '{', '%7Bx%7D', '%', 'x:z', 'x}:k', 'ü', '😀', 'a b'].map(
          (s) => `${s}${run}`,
        );
        for (const [i, sub] of subs.entries()) {
          const r = await kick.admit({ sub, sid: `s${i}`, max: 1, iat: IAT, now: at(0) });
          expect(r).toEqual({ outcome: 'admitted', started: true, kicked: [] });
        }
        for (const [i, sub] of subs.entries()) expect(await sids(kick, sub, 0)).toEqual([`s${i}`]);
      });

      it('kicks, revokes and lists within an account whose id would break a naive hash tag', async () => {
        const sub = `}{${run}`;
        await kick.admit({ sub, sid: '{A}', max: 1, iat: IAT, now: at(0) });
        expect((await kick.admit({ sub, sid: '}B{', max: 1, iat: IAT, now: at(1) })).kicked).toEqual(['{A}']);
        expect(await kick.state({ sub, sid: '{A}', iat: IAT, now: at(1) })).toBe('replaced');
        expect(await kick.revoke(sub, at(2))).toEqual({ revoked: 1 });
        expect(await kick.state({ sub, sid: '}B{', iat: IAT, now: at(3) })).toBe('revoked');
      });

      it('accepts ids of up to 128 UTF-8 bytes', async () => {
        const sub = `${run}${'é'.repeat(60)}`;
        const sid = 'x'.repeat(128);
        expect((await kick.admit({ sub, sid, max: 1, iat: IAT, now: at(0) })).outcome).toBe('admitted');
        expect(await sids(kick, sub, 0)).toEqual([sid]);
      });

      const badIds: [string, unknown][] = [
        ['empty', ''],
        ['129 bytes', 'x'.repeat(129)],
        ['129 bytes of 3-byte characters', '€'.repeat(43)],
        ['a number', 42],
        ['missing', undefined],
        ['a lone surrogate', 'a\ud800'],
        ['a control character', 'a\nb'],
      ];
      const badNumbers: [string, unknown][] = [
        ['max', 0],
        ['max', 101],
        ['max', 1.5],
        ['max', Number.NaN],
        ['max', '1'],
        ['iat', -1],
        ['iat', Number.POSITIVE_INFINITY],
        ['iat', '1'],
        ['now', -1],
        ['now', 1.5],
      ];
      const refused = async (p: Promise<unknown>, field: string) => {
        await expect(p).rejects.toThrow(SessionInputError);
        await expect(p).rejects.toThrow(new RegExp(`^${field} `));
      };

      it.each(badIds)('refuses a sub or sid that is %s, before storing anything', async (_, bad) => {
        const ok = { sub: account(), sid: 'A', max: 1, iat: IAT, now: at(0) };
        await refused(kick.admit({ ...ok, sub: bad as string }), 'sub');
        await refused(kick.admit({ ...ok, sid: bad as string }), 'sid');
        await refused(kick.state({ ...ok, sub: bad as string }), 'sub');
        await refused(kick.state({ ...ok, sid: bad as string }), 'sid');
        await refused(kick.revoke(bad as string, at(0)), 'sub');
        await refused(kick.list(bad as string, at(0)), 'sub');
        expect(await kick.state(ok)).toBe('ended');
      });

      it.each(badNumbers)('refuses %s = %s', async (field, bad) => {
        const sub = account();
        await refused(kick.admit({ sub, sid: 'A', max: 1, iat: IAT, now: at(0), [field]: bad }), field);
        expect(await kick.list(sub, at(0))).toEqual([]);
      });
    });

    it('answers ping', async () => {
      await expect(kick.ping()).resolves.toBeUndefined();
    });
  });
}
