/**
 * Sessions (SPEC §5): one account = N active streams. A session is (sub, sid); it stays active while
 * requests keep arriving. The store is the shared truth (Redis, Durable Object, memory); the guard in front
 * of it adds the local lease and the outage policy and is what the app talks to.
 */
export type SessionPolicy = 'kick-oldest' | 'deny-new';

export type AdmitOutcome =
  /** this sid is (still) active */
  | 'admitted'
  /** this sid was kicked by a newer session of the account (kick-oldest) */
  | 'replaced'
  /** the account is at its limit and the policy is deny-new */
  | 'denied'
  /** the account was revoked after this token was issued */
  | 'revoked';

export interface AdmitRequest {
  sub: string;
  sid: string;
  /** streams allowed for this account (token `max` or SESSION_MAX) */
  max: number;
  /** token `iat`, seconds: tokens issued before a revocation are refused */
  iat: number;
  /** test-only explicit time in ms; implementations use their own (Redis: server TIME) when absent */
  now?: number;
}

export interface AdmitResult {
  outcome: AdmitOutcome;
  /** true when this call started the session (it was not live before); false for a heartbeat */
  started: boolean;
  /** sids this admission kicked out (kick-oldest) */
  kicked: string[];
}

/**
 * What refresh needs to know about a session:
 * - `live`: seen within `idleSeconds`;
 * - `idle`: not live, but seen within `idleSeconds + refreshGraceSeconds` (a paused player may still refresh);
 * - `ended`: no trace (never admitted, or idle for longer than that);
 * - `replaced` / `revoked`: kicked by a newer session / refused by a revocation of the account.
 */
export type SessionState = 'live' | 'idle' | 'ended' | 'replaced' | 'revoked';

export interface SessionInfo {
  sid: string;
  /** ms since epoch of the last admission or heartbeat, at one-second resolution */
  lastSeen: number;
}

export interface SessionStoreOptions {
  policy: SessionPolicy;
  /** seconds without a request before a session stops counting against the limit (SESSION_IDLE) */
  idleSeconds: number;
  /** seconds an idle session is still remembered so its token can be refreshed (REFRESH_GRACE) */
  refreshGraceSeconds: number;
  /**
   * seconds a kicked sid and a revocation mark are remembered: at least TOKEN_MAX_TTL + REFRESH_GRACE +
   * TOKEN_LEEWAY, so every token they refuse has expired beyond refresh before they are forgotten
   */
  tombstoneSeconds: number;
}

/** The port every store implements; one contract suite (test/helpers/session-contract.ts) runs on each. */
export interface SessionStore {
  /** Admission and heartbeat in one atomic step. */
  admit(req: AdmitRequest): Promise<AdmitResult>;
  /** For refresh: is this session live, idle, ended, kicked or revoked? Writes nothing. */
  state(req: { sub: string; sid: string; iat: number; now?: number }): Promise<SessionState>;
  /**
   * Ends every session of the account now and refuses tokens issued before now (`iat * 1000 < revokedAt`:
   * a token issued in the same second as the revocation is refused too). Returns how many were live.
   */
  revoke(sub: string, now?: number): Promise<{ revoked: number }>;
  /** The live sessions of an account, oldest first. */
  list(sub: string, now?: number): Promise<SessionInfo[]>;
  /** Readiness: resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What the app calls: admission with lease and outage policy; throws ApiError (session_*, store_unavailable). */
export interface SessionGuard {
  admit(req: { sub: string; sid: string; max: number; iat: number }): Promise<void>;
  /**
   * Refresh allowed for a live session or an idle one within the refresh grace; throws ApiError
   * session_replaced / session_revoked, token_expired when the session has ended, store_unavailable.
   */
  checkRefresh(req: { sub: string; sid: string; iat: number }): Promise<void>;
  revoke(sub: string): Promise<{ revoked: number }>;
  list(sub: string): Promise<SessionInfo[]>;
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
