/** The session guard's instruments (SPEC §8), created once per guard. */
import { LATENCY_BUCKETS, type Metrics } from '../metrics.ts';

export type StoreOp = 'admit' | 'state' | 'revoke' | 'list' | 'ping';

export function sessionMetrics(m: Metrics) {
  return {
    admitted: m.counter({
      name: 'gateway_sessions_admitted_total',
      help: 'Sessions started: a sid that was not live was admitted by the store',
    }),
    replaced: m.counter({
      name: 'gateway_sessions_replaced_total',
      help: 'Sessions kicked out by a newer session of the same account (kick-oldest)',
    }),
    denied: m.counter({
      name: 'gateway_sessions_denied_total',
      help: 'New sessions refused because the account was at its limit (deny-new)',
    }),
    revoked: m.counter({
      name: 'gateway_sessions_revoked_total',
      help: 'Live sessions ended by a revocation of their account',
    }),
    refusals: m.counter({
      name: 'gateway_session_refusals_total',
      help: 'Requests refused by the session guard, by error code',
      labelNames: ['code'],
    }),
    leaseHits: m.counter({
      name: 'gateway_session_lease_hits_total',
      help: 'Requests decided from the local lease, without a store command',
    }),
    commands: m.counter({
      name: 'gateway_session_store_commands_total',
      help: 'Commands sent to the session store',
      labelNames: ['op'],
    }),
    errors: m.counter({
      name: 'gateway_session_store_errors_total',
      help: 'Session store commands that failed or timed out',
      labelNames: ['op', 'kind'],
    }),
    latency: m.histogram({
      name: 'gateway_session_store_duration_seconds',
      help: 'Session store command latency',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS,
    }),
    bypass: m.counter({
      name: 'gateway_session_store_bypass_total',
      help: 'Requests served without the store because it was unreachable, by STORE_FAILURE policy',
      labelNames: ['policy'],
    }),
    local: m.gauge({
      name: 'gateway_sessions_local',
      help: 'Sessions held in the local lease table of this process',
    }),
  };
}

export type SessionMetrics = ReturnType<typeof sessionMetrics>;
