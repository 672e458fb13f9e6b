/**
 * Rows 1–6: request and byte throughput of the gateway beside its baselines and peers, in four groups
 * measured side by side (lib/rounds.ts):
 * - 64 KB and 1 KB cached objects: bare Hono, gateway with memory sessions, gateway with Redis sessions
 *   (and at 1 KB nginx secure_link and Fastify + fast-jwt);
 * - 2 MB cached: nginx static sendfile, gateway;
 * - 2 MB proxy miss (gateway cache off): nginx proxy_pass, gateway; both in front of the same origin.
 * Each gateway request carries one of 32 tokens (distinct accounts), so every request verifies a token
 * (cache hit, as a player's segment requests do), checks the IP binding and the channel, and goes
 * through the session guard; the guard's counters are read around every round to show it.
 */
import { type ObjectRole, objectPath } from '../lib/data.ts';
import type { GatewaySubject } from '../lib/gateway.ts';
import { fmt, type Row } from '../lib/report.ts';
import {
  measureGroup,
  perRequest,
  type RoundSettings,
  ratio,
  type Subject,
  type SubjectResult,
} from '../lib/rounds.ts';
import type { Stack } from '../lib/stack.ts';
import { CLIENT_ADDRESS, TOKEN_TTL } from '../lib/tokens.ts';
import type { BenchRequest } from '../lib/wrk.ts';

const TOKENS = 32;
/** Share of a gateway's requests its guard counters must account for (lease hits + store commands). */
const GUARDED_SHARE = 0.99;

export async function throughputRows(
  stack: Stack,
  s: RoundSettings & { connections: { small: number; large: number } },
  between: () => Promise<void>,
): Promise<{ rows: Row[]; raw: Record<string, SubjectResult[]> }> {
  const tokens = await stack.tokens.mint('tput', TOKENS);
  const bearer = (role: ObjectRole): BenchRequest[] =>
    tokens.map((t) => ({ path: objectPath(role), headers: { authorization: `Bearer ${t}` } }));
  const expires = Math.floor(Date.now() / 1000) + TOKEN_TTL;
  const signedLinks: BenchRequest[] = [
    { path: objectPath('small') + stack.peers.secureLinkQuery(objectPath('small'), CLIENT_ADDRESS, expires) },
  ];
  const { memory, redis, noCache } = stack.gateways;
  const conns = (role: ObjectRole) => (role === 'large' ? s.connections.large : s.connections.small);
  const subject = (
    id: string,
    target: { url: string; proc: { child: { pid?: number | undefined } } },
    role: ObjectRole,
    counters?: Subject['counters'],
  ): Subject => ({
    id,
    url: target.url,
    pid: target.proc.child.pid,
    requests: bearer(role),
    connections: conns(role),
    ...(counters ? { counters } : {}),
  });
  const nginx = (url: string) => ({ url, proc: stack.peers.proc });
  const memCounters = () => guardCounters(memory);
  const redisCounters = async () => ({ ...(await guardCounters(redis)), redis: await redisCommands(stack) });

  const medium = await measureGroup(
    [
      subject('hono', stack.hono, 'medium'),
      subject('memory', memory, 'medium', memCounters),
      subject('redis', redis, 'medium', redisCounters),
    ],
    s,
    between,
  );
  const small = await measureGroup(
    [
      subject('hono', stack.hono, 'small'),
      subject('memory', memory, 'small', memCounters),
      subject('redis', redis, 'small', redisCounters),
      {
        id: 'secure_link',
        url: stack.peers.secureLinkUrl,
        pid: stack.peers.proc.child.pid,
        requests: signedLinks,
        connections: conns('small'),
      },
      subject('fastify', stack.fastify, 'small'),
    ],
    s,
    between,
  );
  const large = await measureGroup(
    [
      subject('nginx', nginx(stack.peers.staticUrl), 'large'),
      subject('memory', memory, 'large', memCounters),
    ],
    s,
    between,
  );
  const miss = await measureGroup(
    [subject('nginx', nginx(stack.peers.proxyUrl), 'large'), subject('no-cache', noCache, 'large')],
    s,
    between,
  );

  const get = (m: Map<string, SubjectResult>, id: string) => m.get(id) as SubjectResult;
  const auth1k = 'authenticated 1 KB, memory sessions';
  const rows: Row[] = [
    compare(
      '1',
      'authenticated cached 64 KB, memory sessions',
      'req',
      get(medium, 'memory'),
      get(medium, 'hono'),
      'bare Hono',
      0.85,
    ),
    compare('2', auth1k, 'req', get(small, 'memory'), get(small, 'hono'), 'bare Hono', 0.85),
    compare(
      '3a',
      'authenticated cached 64 KB, Redis sessions',
      'req',
      get(medium, 'redis'),
      get(medium, 'memory'),
      'memory sessions',
      0.9,
    ),
    compare(
      '3b',
      'authenticated 1 KB, Redis sessions',
      'req',
      get(small, 'redis'),
      get(small, 'memory'),
      'memory sessions',
      0.9,
    ),
    commandsRow(get(medium, 'redis'), get(small, 'redis')),
    compare('4a', auth1k, 'req', get(small, 'memory'), get(small, 'secure_link'), 'nginx secure_link', 0.75),
    compare('4b', auth1k, 'req', get(small, 'memory'), get(small, 'fastify'), 'Fastify + fast-jwt', 1.0),
    compare(
      '5',
      'cached 2 MB segment',
      'byte',
      get(large, 'memory'),
      get(large, 'nginx'),
      'nginx static sendfile',
      0.9,
    ),
    compare(
      '6',
      'proxy miss 2 MB (cache off)',
      'byte',
      get(miss, 'no-cache'),
      get(miss, 'nginx'),
      'nginx proxy_pass',
      1.0,
    ),
  ];
  const list = (m: Map<string, SubjectResult>) => [...m.values()];
  return { rows, raw: { '64KB': list(medium), '1KB': list(small), '2MB': list(large), miss: list(miss) } };
}

/** A throughput ratio row: requests/s or bytes/s, with CPU time per request beside each figure (it tells
 * a costly subject from one starved by its neighbours), judged against `target`. A row also fails when a
 * request failed, or when a gateway let requests past its session guard. */
function compare(
  id: string,
  measure: string,
  unit: 'req' | 'byte',
  x: SubjectResult,
  base: SubjectResult,
  baseName: string,
  target: number,
): Row {
  const metric = unit === 'req' ? 'reqPerSec' : 'bytesPerSec';
  const show = (r: SubjectResult) => {
    const v = unit === 'req' ? fmt.reqs(r.reqPerSec) : fmt.gbps(r.bytesPerSec);
    return Number.isFinite(r.cpuUsPerRequest) ? `${v}, ${fmt.cpu(r.cpuUsPerRequest)}` : v;
  };
  const r = ratio(x, base, metric);
  const errors = x.errors + base.errors;
  const sum = (f: (round: SubjectResult['rounds'][number]) => number) =>
    x.rounds.reduce((n, round) => n + f(round), 0);
  const guarded = sum((round) => (round.counters.admit ?? 0) + (round.counters.lease ?? 0));
  const requests = sum((round) => round.requests);
  // a request that joins a store call already in flight for its session is counted by neither counter
  const unguarded = 'lease' in (x.rounds[0]?.counters ?? {}) && guarded < GUARDED_SHARE * requests;
  const notes = [
    errors ? `${errors} failed requests (socket errors or non-2xx)` : '',
    unguarded ? `only ${guarded} of ${requests} requests went through the session guard` : '',
  ].filter(Boolean);
  return {
    id,
    measure: `${measure} (${unit === 'req' ? 'req/s' : 'GB/s'})`,
    value: show(x),
    baseline: `${baseName} ${show(base)}`,
    ratio: r,
    target: `≥ ${target.toFixed(2)}×`,
    met: errors === 0 && !unguarded && r >= target,
    ...(notes.length ? { note: notes.join('; ') } : {}),
    raw: { subject: x, baseline: base },
  };
}

function commandsRow(medium: SubjectResult, small: SubjectResult): Row {
  const gw = (perRequest(medium, 'admit') + perRequest(small, 'admit')) / 2;
  const seen = (perRequest(medium, 'redis') + perRequest(small, 'redis')) / 2;
  return {
    id: '3c',
    measure: 'Redis commands per request (64 KB + 1 KB runs, 32 sessions)',
    value: `${gw.toFixed(4)} (Redis EVALSHA: ${seen.toFixed(4)})`,
    baseline: '—',
    target: '≤ 0.1',
    met: gw <= 0.1 && seen <= 0.1,
    raw: { gatewayCommandsPerRequest: gw, redisCommandsPerRequest: seen },
  };
}

async function guardCounters(gw: GatewaySubject): Promise<Record<string, number>> {
  return {
    admit: await gw.counter('gateway_session_store_commands_total', { op: 'admit' }),
    lease: await gw.counter('gateway_session_lease_hits_total'),
  };
}

/** Scripts Redis ran (EVALSHA/EVAL calls, INFO commandstats): the store's round trips, whatever each
 * script calls inside (commandstats counts those too, as separate commands). */
export async function redisCommands(stack: Stack): Promise<number> {
  const text = await stack.redis.cli('info', 'commandstats');
  let calls = 0;
  for (const m of text.matchAll(/^cmdstat_(eval|evalsha|eval_ro|evalsha_ro|fcall):calls=(\d+)/gm))
    calls += Number(m[2]);
  return calls;
}
