/**
 * SessionStore on Redis (single node or Cluster) through ioredis: one atomic Lua script per operation
 * (redis-scripts.ts), loaded with defineCommand so calls are EVALSHA with an EVAL fallback after a restart
 * or SCRIPT FLUSH, and batched by the client's auto-pipelining.
 */
import type { Cluster, Redis } from 'ioredis';
import { SCRIPTS, type ScriptName } from './redis-scripts.ts';
import type {
  AdmitRequest,
  AdmitResult,
  SessionInfo,
  SessionState,
  SessionStore,
  SessionStoreOptions,
} from './types.ts';
import { checkIat, checkId, checkMax, checkNow, checkStoreOptions } from './validate.ts';

export interface RedisSessionStoreOptions extends SessionStoreOptions {
  /** key prefix, before the `{sub}` hash tag (default `sess:`) */
  prefix?: string;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

const ADMIT_OUTCOMES = new Set(['admitted', 'replaced', 'denied', 'revoked']);
const STATES = new Set(['live', 'idle', 'ended', 'replaced', 'revoked']);

/**
 * The hash tag carries the sub with `%`, `{` and `}` percent-encoded: the tag then always ends at our own
 * closing brace (a `}` in a sub would otherwise cut it short, and `}x` would leave an empty tag that
 * spreads one account over several slots), and the encoding stays injective.
 */
export function accountTag(sub: string): string {
  return sub.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

export class RedisSessionStore implements SessionStore {
  readonly #client: Redis | Cluster;
  readonly #opts: SessionStoreOptions;
  readonly #prefix: string;

  /** Takes ownership of the client: close() quits it. */
  constructor(client: Redis | Cluster, opts: RedisSessionStoreOptions) {
    checkStoreOptions(opts);
    this.#client = client;
    this.#opts = {
      policy: opts.policy,
      idleSeconds: opts.idleSeconds,
      refreshGraceSeconds: opts.refreshGraceSeconds,
      tombstoneSeconds: opts.tombstoneSeconds,
    };
    this.#prefix = opts.prefix ?? 'sess:';
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 3, lua });
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const sub = checkId('sub', req.sub);
    const sid = checkId('sid', req.sid);
    const max = checkMax(req.max);
    const iat = checkIat(req.iat);
    const now = checkNow(req.now);
    const { idleSeconds, refreshGraceSeconds, tombstoneSeconds, policy } = this.#opts;
    const reply = await this.#run(
      'edgeSessionAdmit',
      sub,
      sid,
      max,
      iat,
      idleSeconds,
      refreshGraceSeconds,
      tombstoneSeconds,
      policy,
      now ?? '',
    );
    if (!Array.isArray(reply) || !ADMIT_OUTCOMES.has(reply[0])) throw unexpected('admit', reply);
    const [outcome, started, ...kicked] = reply as [AdmitResult['outcome'], number, ...string[]];
    return { outcome, started: started === 1, kicked };
  }

  async state(req: { sub: string; sid: string; iat: number; now?: number }): Promise<SessionState> {
    const sub = checkId('sub', req.sub);
    const sid = checkId('sid', req.sid);
    const iat = checkIat(req.iat);
    const now = checkNow(req.now);
    const { idleSeconds, refreshGraceSeconds, tombstoneSeconds } = this.#opts;
    const reply = await this.#run(
      'edgeSessionState',
      sub,
      sid,
      iat,
      idleSeconds,
      refreshGraceSeconds,
      tombstoneSeconds,
      now ?? '',
    );
    if (typeof reply !== 'string' || !STATES.has(reply)) throw unexpected('state', reply);
    return reply as SessionState;
  }

  async revoke(sub: string, now?: number): Promise<{ revoked: number }> {
    const account = checkId('sub', sub);
    const at = checkNow(now);
    const reply = await this.#run(
      'edgeSessionRevoke',
      account,
      this.#opts.idleSeconds,
      this.#opts.tombstoneSeconds,
      at ?? '',
    );
    if (typeof reply !== 'number') throw unexpected('revoke', reply);
    return { revoked: reply };
  }

  async list(sub: string, now?: number): Promise<SessionInfo[]> {
    const account = checkId('sub', sub);
    const at = checkNow(now);
    const reply = await this.#run('edgeSessionList', account, this.#opts.idleSeconds, at ?? '');
    if (!Array.isArray(reply)) throw unexpected('list', reply);
    const sessions: SessionInfo[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      sessions.push({ sid: String(reply[i]), lastSeen: Number(reply[i + 1]) * 1000 });
    }
    return sessions;
  }

  async ping(): Promise<void> {
    await this.#client.ping();
  }

  async close(): Promise<void> {
    if (this.#client.status !== 'ready') {
      this.#client.disconnect();
      return;
    }
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  #run(script: ScriptName, sub: string, ...args: (string | number)[]): Promise<unknown> {
    const base = `${this.#prefix}{${accountTag(sub)}}`;
    const call = this.#client as unknown as Record<ScriptName, ScriptCall>;
    return call[script](`${base}:z`, `${base}:k`, `${base}:r`, ...args);
  }
}

function unexpected(op: string, reply: unknown): Error {
  return new Error(`redis session ${op}: unexpected reply ${String(JSON.stringify(reply)).slice(0, 200)}`);
}
