/**
 * The Node `OriginFetch`: undici with a keep-alive connection pool per origin and explicit, separate
 * bounds — connect, response headers (first byte) and body (idle time between chunks) — and undici's error
 * codes mapped to the `OriginFetchError` codes failover decides on. Only the Node entry imports this file.
 */
import { Agent, fetch } from 'undici';
import { type OriginFailure, type OriginFetch, OriginFetchError } from './types.ts';

export interface NodeOriginFetchOptions {
  /** TCP connect bound (ORIGIN_CONNECT_TIMEOUT_MS, default 500) */
  connectTimeoutMs: number;
  /** response headers bound (ORIGIN_FIRST_BYTE_TIMEOUT_MS, default 1500) */
  firstByteTimeoutMs: number;
  /** longest silence inside a body before it is abandoned (default 10 s) */
  bodyIdleTimeoutMs?: number;
  /** idle keep-alive connections are kept this long (default 4 s) */
  keepAliveMs?: number;
}

export type NodeOriginFetch = OriginFetch & { close(): Promise<void> };

const CODES: Record<string, OriginFailure> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'body',
  ECONNREFUSED: 'connect',
  EHOSTUNREACH: 'connect',
  ENETUNREACH: 'connect',
  ENOTFOUND: 'connect',
  EAI_AGAIN: 'connect',
  EADDRNOTAVAIL: 'connect',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  UND_ERR_DESTROYED: 'reset',
};

export function createNodeOriginFetch(opts: NodeOriginFetchOptions): NodeOriginFetch {
  const agent = new Agent({
    connect: { timeout: opts.connectTimeoutMs },
    headersTimeout: opts.firstByteTimeoutMs,
    bodyTimeout: opts.bodyIdleTimeoutMs ?? 10_000,
    keepAliveTimeout: opts.keepAliveMs ?? 4_000,
  });
  const originFetch: OriginFetch = async (url, init) => {
    try {
      const res = await fetch(url, {
        method: init.method,
        headers: Object.fromEntries(init.headers),
        signal: init.signal,
        dispatcher: agent,
        // An origin never sends a player elsewhere; a redirect is an origin fault, judged as a bad status.
        redirect: 'manual',
      });
      return res as unknown as Response;
    } catch (err) {
      throw toOriginFetchError(err, init.signal);
    }
  };
  return Object.assign(originFetch, { close: () => agent.close() });
}

function toOriginFetchError(err: unknown, signal: AbortSignal | undefined): OriginFetchError {
  if (signal?.aborted) return new OriginFetchError('timeout', 'origin request aborted', { cause: err });
  const cause = (err as { cause?: unknown })?.cause ?? err;
  const code = (cause as { code?: unknown })?.code;
  const failure = (typeof code === 'string' && CODES[code]) || 'connect';
  return new OriginFetchError(
    failure,
    `origin request failed (${typeof code === 'string' ? code : 'unknown'})`,
    {
      cause: err,
    },
  );
}
