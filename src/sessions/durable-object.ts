/**
 * SessionStore on Cloudflare Durable Objects (SPEC §5): one object per account (`idFromName(sub)`), so an
 * account's admissions are serialised by the object itself, the way one Lua script serialises them on Redis.
 * The semantics are those of redis-scripts.ts, rule for rule: per-account sids with their last-seen second,
 * kicked tombstones (bounded), a revocation mark, idle expiry decided from stored times on access.
 *
 * Storage is the object's SQLite database; every operation runs in one `transactionSync`, with no await
 * inside, so it is atomic and nothing can interleave. What Redis does with PEXPIRE is done with deadlines in
 * real time (each write pushes the deadline of what it wrote) and one alarm: a part past its deadline is
 * gone, whether the alarm already ran or the next access finds it first; an object left empty deletes its
 * storage. Decisions use the object's clock, or the explicit `now` the contract tests pass.
 *
 * The Worker talks to the object over its `fetch` interface (JSON in, JSON out): that needs no
 * `cloudflare:workers` import, so this file type-checks and loads under Node like the rest of the core.
 * Types below are the structural subset of the Workers API that is used.
 */
import { MAX_TOMBSTONES } from './redis-scripts.ts';
import type {
  AdmitRequest,
  AdmitResult,
  SessionInfo,
  SessionPolicy,
  SessionState,
  SessionStore,
  SessionStoreOptions,
} from './types.ts';
import { checkIat, checkId, checkMax, checkNow, checkStoreOptions } from './validate.ts';

type SqlValue = string | number | null | ArrayBuffer;
interface SqlStorage {
  exec(query: string, ...bindings: SqlValue[]): { toArray(): Record<string, SqlValue>[] };
}
export interface DurableObjectStateLike {
  storage: {
    sql: SqlStorage;
    transactionSync<T>(fn: () => T): T;
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
    deleteAll(): Promise<void>;
  };
}
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> };
}

type Retention = Pick<SessionStoreOptions, 'idleSeconds' | 'refreshGraceSeconds' | 'tombstoneSeconds'>;
type Ask = { now?: number | undefined; idle: number; grace: number; tomb: number };
type AdmitAsk = Ask & { sid: string; max: number; iat: number; policy: SessionPolicy };
type StateAsk = Ask & { sid: string; iat: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS live (sid TEXT PRIMARY KEY, seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kicked (sid TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`;
/** What a part of the account's state is called in `marks`, with its garbage-collection deadline. */
const PARTS = { live: 'gc:live', kicked: 'gc:kicked', revoked: 'gc:revoked' } as const;
const CLEAR = {
  live: 'DELETE FROM live',
  kicked: 'DELETE FROM kicked',
  revoked: "DELETE FROM marks WHERE name = 'revoked_at'",
} as const;

/** The Durable Object: one instance per account. Export it from the Worker's main module. */
export class SessionDO {
  readonly #state: DurableObjectStateLike;
  readonly #sql: SqlStorage;
  #schema = false;
  /** the alarm as last read or set; undefined until read */
  #alarm: number | null | undefined;

  constructor(state: DurableObjectStateLike, _env: unknown) {
    this.#state = state;
    this.#sql = state.storage.sql;
  }

  async fetch(request: Request): Promise<Response> {
    const op = new URL(request.url).pathname.slice(1);
    if (op === 'ping') return new Response(null, { status: 204 });
    const ask = (await request.json()) as AdmitAsk;
    const result = this.#state.storage.transactionSync(() => {
      this.#ensureSchema();
      this.#collect(Date.now());
      if (op === 'admit') return this.#admit(ask);
      if (op === 'state') return this.#stateOf(ask);
      if (op === 'revoke') return this.#revoke(ask);
      if (op === 'list') return this.#list(ask);
      return undefined;
    });
    if (result === undefined) return new Response(`unknown operation ${op.slice(0, 32)}`, { status: 404 });
    await this.#scheduleCollection();
    return Response.json(result);
  }

  /** Drops what is past its deadline; an account with nothing left deletes its storage. */
  async alarm(): Promise<void> {
    this.#alarm = null;
    const next = this.#state.storage.transactionSync(() => {
      this.#ensureSchema();
      this.#collect(Date.now());
      return this.#lastDeadline();
    });
    if (next !== undefined) return this.#scheduleCollection();
    await this.#state.storage.deleteAll();
    this.#schema = false;
  }

  #admit(a: AdmitAsk): AdmitResult {
    const [ms, now] = clock(a.now);
    const why = this.#refusal(a.sid, a.iat, ms, now, a.tomb);
    if (why) return { outcome: why, started: false, kicked: [] };
    this.#sql.exec('DELETE FROM live WHERE seen < ?', now - a.idle - a.grace);
    const seen = this.#seen(a.sid);
    let kicked: string[] = [];
    const started = seen === undefined || seen < now - a.idle;
    if (started) {
      const live = this.#liveSince(now - a.idle);
      if (live.length >= a.max) {
        if (a.policy === 'deny-new') return { outcome: 'denied', started: false, kicked: [] };
        kicked = live.slice(0, live.length - a.max + 1).map((s) => s.sid);
        this.#sql.exec('DELETE FROM kicked WHERE at < ?', now - a.tomb);
        for (const sid of kicked) {
          this.#sql.exec('DELETE FROM live WHERE sid = ?', sid);
          this.#sql.exec(
            'INSERT INTO kicked (sid, at) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET at = excluded.at',
            sid,
            now,
          );
        }
        // keep the newest tombstones, as ZREMRANGEBYRANK does: by time, then by sid bytes
        this.#sql.exec(
          'DELETE FROM kicked WHERE sid NOT IN (SELECT sid FROM kicked ORDER BY at DESC, sid DESC LIMIT ?)',
          MAX_TOMBSTONES,
        );
        this.#setDeadline('kicked', a.tomb + 1);
      }
    }
    this.#sql.exec(
      'INSERT INTO live (sid, seen) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET seen = excluded.seen',
      a.sid,
      now,
    );
    this.#setDeadline('live', a.idle + a.grace + 1);
    return { outcome: 'admitted', started, kicked };
  }

  #stateOf(a: StateAsk): SessionState {
    const [ms, now] = clock(a.now);
    const why = this.#refusal(a.sid, a.iat, ms, now, a.tomb);
    if (why) return why;
    const seen = this.#seen(a.sid);
    if (seen !== undefined && seen >= now - a.idle) return 'live';
    if (seen !== undefined && seen >= now - a.idle - a.grace) return 'idle';
    return 'ended';
  }

  #revoke(a: Ask): { revoked: number } {
    const [ms, now] = clock(a.now);
    const revoked = this.#liveSince(now - a.idle).length;
    this.#sql.exec(CLEAR.live);
    this.#sql.exec('DELETE FROM marks WHERE name = ?', PARTS.live);
    this.#setMark('revoked_at', ms);
    this.#setDeadline('revoked', a.tomb + 1);
    return { revoked };
  }

  #list(a: Ask): SessionInfo[] {
    const [, now] = clock(a.now);
    return this.#liveSince(now - a.idle).map((s) => ({ sid: s.sid, lastSeen: s.seen * 1000 }));
  }

  #refusal(
    sid: string,
    iat: number,
    ms: number,
    now: number,
    tomb: number,
  ): 'revoked' | 'replaced' | undefined {
    const revokedAt = this.#mark('revoked_at');
    if (revokedAt !== undefined && iat * 1000 < revokedAt && ms - revokedAt <= tomb * 1000) return 'revoked';
    const [row] = this.#sql.exec('SELECT at FROM kicked WHERE sid = ?', sid).toArray();
    if (row && Number(row.at) >= now - tomb) return 'replaced';
    return undefined;
  }

  #seen(sid: string): number | undefined {
    const [row] = this.#sql.exec('SELECT seen FROM live WHERE sid = ?', sid).toArray();
    return row ? Number(row.seen) : undefined;
  }

  /** Live sessions, oldest first: by last seen, then by sid bytes (ZSET order; SQLite's BINARY collation). */
  #liveSince(since: number): { sid: string; seen: number }[] {
    return this.#sql
      .exec('SELECT sid, seen FROM live WHERE seen >= ? ORDER BY seen, sid', since)
      .toArray()
      .map((r) => ({ sid: String(r.sid), seen: Number(r.seen) }));
  }

  #mark(name: string): number | undefined {
    const [row] = this.#sql.exec('SELECT value FROM marks WHERE name = ?', name).toArray();
    return row ? Number(row.value) : undefined;
  }

  #setMark(name: string, value: number): void {
    this.#sql.exec(
      'INSERT INTO marks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      name,
      value,
    );
  }

  /** Like PEXPIRE: the part is forgotten `seconds` of real time after this write. */
  #setDeadline(part: keyof typeof PARTS, seconds: number): void {
    this.#setMark(PARTS[part], Date.now() + seconds * 1000);
  }

  #collect(realNow: number): void {
    for (const part of Object.keys(PARTS) as (keyof typeof PARTS)[]) {
      const deadline = this.#mark(PARTS[part]);
      if (deadline === undefined || deadline > realNow) continue;
      this.#sql.exec(CLEAR[part]);
      this.#sql.exec('DELETE FROM marks WHERE name = ?', PARTS[part]);
    }
  }

  #lastDeadline(): number | undefined {
    const [row] = this.#sql.exec(`SELECT max(value) AS last FROM marks WHERE name LIKE 'gc:%'`).toArray();
    return row?.last === null || row?.last === undefined ? undefined : Number(row.last);
  }

  /** One alarm at a time: when it fires it collects, then re-arms for what is left. */
  async #scheduleCollection(): Promise<void> {
    this.#alarm ??= await this.#state.storage.getAlarm();
    if (this.#alarm !== null) return;
    const last = this.#lastDeadline();
    if (last === undefined) return;
    await this.#state.storage.setAlarm(last);
    this.#alarm = last;
  }

  #ensureSchema(): void {
    if (this.#schema) return;
    this.#sql.exec(SCHEMA);
    this.#schema = true;
  }
}

function clock(explicit: number | undefined): [ms: number, seconds: number] {
  const ms = explicit ?? Date.now();
  return [ms, Math.floor(ms / 1000)];
}

const ADMIT_OUTCOMES = new Set(['admitted', 'replaced', 'denied', 'revoked']);
const STATES = new Set(['live', 'idle', 'ended', 'replaced', 'revoked']);
/** Cannot be an account id (control characters are refused), so it never meets an account's object. */
const PING_OBJECT = '\u0000ping';

/** The SessionStore the Worker uses: validates, then asks the account's object. */
export class DurableObjectSessionStore implements SessionStore {
  readonly #ns: DurableObjectNamespaceLike;
  readonly #opts: SessionStoreOptions;

  constructor(ns: DurableObjectNamespaceLike, opts: SessionStoreOptions) {
    checkStoreOptions(opts);
    this.#ns = ns;
    this.#opts = opts;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const sub = checkId('sub', req.sub);
    const ask: AdmitAsk = {
      ...this.#retention(),
      sid: checkId('sid', req.sid),
      max: checkMax(req.max),
      iat: checkIat(req.iat),
      now: checkNow(req.now),
      policy: this.#opts.policy,
    };
    const reply = (await this.#call(sub, 'admit', ask)) as AdmitResult;
    if (!ADMIT_OUTCOMES.has(reply?.outcome) || !Array.isArray(reply.kicked)) throw unexpected('admit', reply);
    return { outcome: reply.outcome, started: reply.started === true, kicked: reply.kicked.map(String) };
  }

  async state(req: { sub: string; sid: string; iat: number; now?: number }): Promise<SessionState> {
    const sub = checkId('sub', req.sub);
    const ask: StateAsk = {
      ...this.#retention(),
      sid: checkId('sid', req.sid),
      iat: checkIat(req.iat),
      now: checkNow(req.now),
    };
    const reply = await this.#call(sub, 'state', ask);
    if (typeof reply !== 'string' || !STATES.has(reply)) throw unexpected('state', reply);
    return reply as SessionState;
  }

  async revoke(sub: string, now?: number): Promise<{ revoked: number }> {
    const account = checkId('sub', sub);
    const reply = (await this.#call(account, 'revoke', { ...this.#retention(), now: checkNow(now) })) as {
      revoked: unknown;
    };
    if (typeof reply?.revoked !== 'number') throw unexpected('revoke', reply);
    return { revoked: reply.revoked };
  }

  async list(sub: string, now?: number): Promise<SessionInfo[]> {
    const account = checkId('sub', sub);
    const reply = await this.#call(account, 'list', { ...this.#retention(), now: checkNow(now) });
    if (!Array.isArray(reply)) throw unexpected('list', reply);
    return reply.map((s: SessionInfo) => ({ sid: String(s.sid), lastSeen: Number(s.lastSeen) }));
  }

  async ping(): Promise<void> {
    const res = await this.#ns.get(this.#ns.idFromName(PING_OBJECT)).fetch('https://session/ping');
    if (res.status !== 204) throw new Error(`session object ping: status ${res.status}`);
  }

  /** Nothing to release: the namespace binding belongs to the runtime. */
  async close(): Promise<void> {}

  #retention(): Ask {
    const o: Retention = this.#opts;
    return { idle: o.idleSeconds, grace: o.refreshGraceSeconds, tomb: o.tombstoneSeconds };
  }

  async #call(sub: string, op: string, ask: Ask): Promise<unknown> {
    const stub = this.#ns.get(this.#ns.idFromName(sub));
    const res = await stub.fetch(`https://session/${op}`, { method: 'POST', body: JSON.stringify(ask) });
    if (!res.ok)
      throw new Error(`session object ${op}: status ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res.json();
  }
}

function unexpected(op: string, reply: unknown): Error {
  return new Error(`session object ${op}: unexpected reply ${String(JSON.stringify(reply)).slice(0, 200)}`);
}
