/**
 * Reachability checks of `npm run doctor`: the session store (Redis) and an origin node, each with a short
 * bound so a black-holed address fails in seconds rather than hanging the doctor.
 */
import { Redis } from 'ioredis';
import type { Check } from './doctor-checks.ts';

const TIMEOUT_MS = 3_000;

/** host:port of a URL without its credentials (a Redis URL may carry a password). */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

export async function checkRedis(url: string): Promise<Check> {
  const where = safeUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // the connection error itself arrives as an event; the rejected call only says the connection closed
  let connectionError: Error | undefined;
  client.on('error', (err: Error) => {
    connectionError ??= err;
  });
  try {
    const started = performance.now();
    await client.connect();
    await client.ping();
    const ms = performance.now() - started;
    const info = await client.info('server');
    const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    const mode = /^redis_mode:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    return {
      name: 'redis',
      status: 'ok',
      summary: `${where}: PONG in ${ms.toFixed(1)} ms (redis ${version}, ${mode})`,
      details: { url: where, version, mode, pingMs: ms },
    };
  } catch (err) {
    return {
      name: 'redis',
      status: 'fail',
      summary: `${where}: ${(connectionError ?? (err as Error)).message}`,
      details: { url: where },
    };
  } finally {
    client.disconnect();
  }
}

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
}

/** An origin node: alive (/healthz), ready (/readyz), and what its /metrics says it is doing. */
export async function checkOrigin(url: string): Promise<Check> {
  const base = url.replace(/\/+$/, '');
  const where = safeUrl(base);
  try {
    const health = await get(`${base}/healthz`);
    if (!health.ok) throw new Error(`/healthz answered ${health.status}`);
    const { nodeId } = (await health.json()) as { nodeId?: string };
    const ready = await get(`${base}/readyz`);
    await ready.body?.cancel();
    const metrics = await (await get(`${base}/metrics`)).text();
    const encoder = /^origin_encoder_info\{encoder="([^"]+)",device="([^"]+)"\} 1$/m.exec(metrics);
    const running = [...metrics.matchAll(/^origin_channel_state\{[^}]*state="running"[^}]*\} 1$/gm)].length;
    const used = /^origin_capacity_used (\S+)$/m.exec(metrics)?.[1];
    const doing =
      `node ${nodeId ?? '?'}, encoder ${encoder ? `${encoder[1]} on ${encoder[2]}` : 'unknown'}, ` +
      `${running} channel${running === 1 ? '' : 's'} running, capacity used ${used ?? '?'}`;
    const details = {
      url: where,
      nodeId,
      ready: ready.ok,
      running,
      capacityUsed: used ? Number(used) : null,
    };
    if (!ready.ok) {
      return {
        name: 'origin',
        status: 'fail',
        summary: `${where}: not ready (${ready.status}); ${doing}`,
        details,
      };
    }
    return { name: 'origin', status: 'ok', summary: `${where}: ready; ${doing}`, details };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { name: 'origin', status: 'fail', summary: `${where}: ${why}`, details: { url: where } };
  }
}
