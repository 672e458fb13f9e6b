/**
 * The Lua scripts of the Redis session store, one per operation, each atomic on one account.
 *
 * Keys of an account (all share the `{sub}` hash tag, so every script runs on Redis Cluster):
 *   KEYS[1] live    ZSET sid → last seen, whole seconds (an int32 in the listpack: small per session)
 *   KEYS[2] kicked  ZSET sid → kicked at, whole seconds (kick-oldest tombstones)
 *   KEYS[3] revoked STRING revoked at, ms (tokens with iat * 1000 < it are refused)
 * Every write refreshes a PEXPIRE on what it wrote, so an account that goes quiet leaves nothing behind.
 *
 * Time is the server's `TIME` so gateways with skewed clocks agree; the last ARGV is an explicit time in ms
 * that only the contract tests pass ('' otherwise), so expiry is tested without sleeping. Expiry is decided
 * from the stored times in the script, never from key TTLs, which are garbage collection only.
 */

/** Tombstones kept per account: bounds what an account minting sids in a loop can make Redis hold. */
export const MAX_TOMBSTONES = 256;

const PRELUDE = `
local function clock(explicit)
  local ms
  if explicit ~= '' then
    ms = tonumber(explicit)
  else
    local t = redis.call('TIME')
    ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return ms, math.floor(ms / 1000)
end

-- 'revoked' when a revocation after this token's iat is still remembered, 'replaced' when the sid was kicked
local function refusal(sid, iat, ms, now, tomb)
  local revoked_at = tonumber(redis.call('GET', KEYS[3]))
  if revoked_at and iat * 1000 < revoked_at and ms - revoked_at <= tomb * 1000 then return 'revoked' end
  local kicked_at = tonumber(redis.call('ZSCORE', KEYS[2], sid))
  if kicked_at and kicked_at >= now - tomb then return 'replaced' end
  return false
end
`;

/**
 * ARGV: sid, max, iat, idle, grace, tomb, policy, now → {outcome, started (0|1), kicked sids...}
 * Sessions idle longer than idle + grace are forgotten; those idle between idle and idle + grace no longer
 * count against the limit but are remembered for refresh. A live session's heartbeat is never refused for
 * the limit (a later token may carry a lower max): the next new session brings the account back to it.
 */
const ADMIT = `${PRELUDE}
local sid, max, iat = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local idle, grace, tomb = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ms, now = clock(ARGV[8])
local why = refusal(sid, iat, ms, now, tomb)
if why then return {why, 0} end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - idle - grace))
local live_since = now - idle
local seen = tonumber(redis.call('ZSCORE', KEYS[1], sid))
local started, kicked = 0, {}
if not seen or seen < live_since then
  started = 1
  local live = redis.call('ZCOUNT', KEYS[1], live_since, '+inf')
  if live >= max then
    if ARGV[7] == 'deny-new' then return {'denied', 0} end
    -- oldest first: by last seen, then by sid bytes
    kicked = redis.call('ZRANGEBYSCORE', KEYS[1], live_since, '+inf', 'LIMIT', 0, live - max + 1)
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tomb))
    for _, k in ipairs(kicked) do
      redis.call('ZREM', KEYS[1], k)
      redis.call('ZADD', KEYS[2], now, k)
    end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -${MAX_TOMBSTONES + 1})
    redis.call('PEXPIRE', KEYS[2], (tomb + 1) * 1000)
  end
end
redis.call('ZADD', KEYS[1], now, sid)
redis.call('PEXPIRE', KEYS[1], (idle + grace + 1) * 1000)
return {'admitted', started, unpack(kicked)}
`;

/** ARGV: sid, iat, idle, grace, tomb, now → 'live' | 'idle' | 'ended' | 'replaced' | 'revoked'. Writes nothing. */
const STATE = `${PRELUDE}
local sid, iat = ARGV[1], tonumber(ARGV[2])
local idle, grace, tomb = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ms, now = clock(ARGV[6])
local why = refusal(sid, iat, ms, now, tomb)
if why then return why end
local seen = tonumber(redis.call('ZSCORE', KEYS[1], sid))
if seen and seen >= now - idle then return 'live' end
if seen and seen >= now - idle - grace then return 'idle' end
return 'ended'
`;

/** ARGV: idle, tomb, now → number of live sessions ended. */
const REVOKE = `${PRELUDE}
local idle, tomb = tonumber(ARGV[1]), tonumber(ARGV[2])
local ms, now = clock(ARGV[3])
local live = redis.call('ZCOUNT', KEYS[1], now - idle, '+inf')
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[3], ms, 'PX', (tomb + 1) * 1000)
return live
`;

/** ARGV: idle, now → {sid, last seen (s), ...} of live sessions, oldest first. Writes nothing. */
const LIST = `${PRELUDE}
local idle = tonumber(ARGV[1])
local _, now = clock(ARGV[2])
return redis.call('ZRANGEBYSCORE', KEYS[1], now - idle, '+inf', 'WITHSCORES')
`;

/** Command names as registered on the ioredis client (defineCommand: EVALSHA with an EVAL fallback). */
export const SCRIPTS = {
  edgeSessionAdmit: ADMIT,
  edgeSessionState: STATE,
  edgeSessionRevoke: REVOKE,
  edgeSessionList: LIST,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
