/**
 * Hostile clients for the hardening suites, on raw sockets so the exact bytes reach the server (no client
 * library repairs a request): one-shot exchanges, slow senders (Slowloris, bodies that never end), floods of
 * idle connections, a small HTTP/1.1 response reader, the error-contract check every answer must pass, and
 * the resident memory of a child process.
 */
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { ERRORS, type ErrorCode } from '../../src/errors.ts';

export interface RawResponse {
  status: number;
  /** lower-cased names; repeated headers joined with ", " */
  headers: Record<string, string>;
  body: string;
}

export interface Exchange {
  /** everything the server wrote (latin1) */
  received: string;
  /** final responses in order (interim 1xx skipped) */
  responses: RawResponse[];
  /** the server ended the connection (FIN or reset) before the client gave up on it */
  closedByServer: boolean;
  /** trickled pieces written before the connection ended */
  piecesSent: number;
  /** a write failed because the server had already closed (EPIPE/ECONNRESET) */
  writeRefused: boolean;
}

export interface ExchangeOptions {
  /** written at once on connect */
  head: string | Uint8Array;
  /** then this, piece by piece */
  trickle?: { piece: string; everyMs: number; pieces: number };
  /** a bound on the whole exchange; reaching it means the server did NOT close the connection */
  giveUpMs: number;
  /** the request was HEAD: responses carry no body */
  headRequest?: boolean;
  /** finish as soon as one whole response has arrived (keep-alive servers do not hang up) */
  untilResponse?: boolean;
  /** never read what the server sends (a slow reader): only a real close by the server is noticed */
  paused?: boolean;
  /** ends the exchange from the client side */
  signal?: AbortSignal;
}

/** Connects, writes, optionally trickles, and reports what the server answered and whether it hung up. */
export function exchange(port: number, opts: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let piecesSent = 0;
    let writeRefused = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      sock.destroy();
      const received = Buffer.concat(chunks).toString('latin1');
      resolve({
        received,
        responses: parseResponses(received, opts.headRequest ?? false),
        closedByServer,
        piecesSent,
        writeRefused,
      });
    };
    const giveUp = setTimeout(() => finish(false), opts.giveUpMs);
    opts.signal?.addEventListener('abort', () => finish(false));
    if (opts.paused) sock.pause();
    else
      sock.on('data', (d) => {
        chunks.push(d);
        if (opts.untilResponse && parseResponses(Buffer.concat(chunks).toString('latin1')).length > 0)
          finish(false);
      });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') writeRefused = true;
      finish(true);
    });
    sock.on('close', () => finish(true));
    sock.on('end', () => sock.end());
    sock.once('connect', () => {
      sock.write(opts.head);
      const t = opts.trickle;
      if (!t) return;
      timer = setInterval(() => {
        if (sock.destroyed || !sock.writable || piecesSent >= t.pieces) return clearInterval(timer);
        sock.write(t.piece);
        piecesSent++;
      }, t.everyMs);
    });
  });
}

/** Reads whole HTTP/1.1 responses off a byte string; a truncated one is dropped, 1xx interim answers skipped.
 * A response without length or chunking runs to the end of the bytes. */
export function parseResponses(text: string, headRequest = false): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200) continue;
    let body = '';
    if (headRequest || status === 204 || status === 304) {
      // no body
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      let ended = false;
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = nl < 0 ? Number.NaN : Number.parseInt(rest.slice(0, nl), 16);
        if (!Number.isFinite(size) || rest.length < nl + 2 + size + 2) break;
        body += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 2 + size + 2);
        if (size === 0) {
          ended = true;
          break;
        }
      }
      if (!ended) break;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) break;
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** What an answer may be: a success, or an error of the table with its status and a JSON body. */
export const SUCCESS_STATUSES = new Set([200, 201, 202, 204, 206, 304]);
const TABLE_STATUSES = new Set<number>(Object.values(ERRORS).map((e) => e.status));

/**
 * Checks one response against the error contract (SPEC §4); returns a description of the breach, or
 * undefined when it conforms. An error answer names its code in the JSON body `{error, message, requestId}`
 * and the status is the table's for that code; 500 is always a breach. An answer to HEAD has no body: its
 * status must be one of the table's, and the code, when `x-error-code` names it, must fit the status.
 */
export function contractBreach(res: RawResponse, opts: { bodyless?: boolean } = {}): string | undefined {
  if (SUCCESS_STATUSES.has(res.status)) return undefined;
  if (res.status === 500) return `500: ${res.body.slice(0, 200)}`;
  let code: string | undefined = res.headers['x-error-code'];
  if (opts.bodyless) {
    if (!TABLE_STATUSES.has(res.status)) return `${res.status} is not a status of the table`;
    if (code === undefined) return undefined;
  } else {
    let body: { error?: unknown; message?: unknown; requestId?: unknown };
    try {
      body = JSON.parse(res.body);
    } catch {
      return `${res.status} without a JSON error body: ${JSON.stringify(res.body.slice(0, 120))}`;
    }
    if (typeof body.message !== 'string' || typeof body.requestId !== 'string')
      return `${res.status} body lacks message/requestId: ${res.body.slice(0, 200)}`;
    code = typeof body.error === 'string' ? body.error : undefined;
  }
  return codeBreach(code, res.status);
}

/** The nginx auth subrequest answers 200, 401 or 403 and carries the contract's answer in headers. */
export function authSubrequestBreach(res: RawResponse): string | undefined {
  if (res.status === 200) return undefined;
  if (res.status !== 401 && res.status !== 403) return `auth subrequest answered ${res.status}`;
  const code = res.headers['x-auth-error'];
  return codeBreach(code, Number(res.headers['x-auth-status']));
}

function codeBreach(code: string | undefined, status: number): string | undefined {
  if (code === undefined || !(code in ERRORS)) return `${status} with unknown code ${code}`;
  const expected = ERRORS[code as ErrorCode].status;
  if (expected !== status) return `${code} answered with ${status}, table says ${expected}`;
  if (code === 'internal') return 'internal';
  return undefined;
}

export interface IdleFlood {
  sockets: Socket[];
  /** connections the server has closed so far */
  closed(): number;
  /** connections that reached the connected state */
  connected: number;
  destroy(): void;
}

/**
 * Opens `count` connections that never send a byte (in batches, so the listen backlog is not the test).
 * `read: false` models the worst attacker, who also never reads: it cannot even see the server hang up,
 * so only a server that really closes the connection (not half-closes it) gets its slot back.
 */
export async function idleConnections(
  port: number,
  count: number,
  opts: { read?: boolean; batch?: number } = {},
): Promise<IdleFlood> {
  const sockets: Socket[] = [];
  const batch = opts.batch ?? 100;
  let closed = 0;
  let connected = 0;
  for (let i = 0; i < count; i += batch) {
    const opened = Array.from({ length: Math.min(batch, count - i) }, () => {
      const s = connect({ port, host: '127.0.0.1' });
      sockets.push(s);
      s.on('error', () => {});
      s.on('close', () => closed++);
      if (opts.read ?? true) s.resume();
      return new Promise<void>((resolve) => {
        s.once('connect', () => {
          connected++;
          resolve();
        });
        s.once('close', () => resolve());
      });
    });
    await Promise.all(opened);
  }
  return {
    sockets,
    closed: () => closed,
    connected,
    destroy: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** Resident set size of a process, in bytes (Linux /proc). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`);
  return kb * 1024;
}

/** Runs `tasks` with at most `concurrency` in flight; resolves with their results in order. */
export async function bounded<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}

/** A fetch `Response` in the shape `contractBreach` reads. */
export async function rawOf(res: Response): Promise<RawResponse> {
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}
