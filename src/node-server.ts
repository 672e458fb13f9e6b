/**
 * The Node HTTP server under a Hono app, shared by the gateway and the origin node, so that every answer a
 * client can provoke is in the contract's JSON shape (SPEC §4), including the ones the app never sees:
 * - requests the HTTP parser refuses (malformed, oversized head, headers or body too slow);
 * - requests @hono/node-server cannot turn into a `Request` (bad `Host`, backslash in the path, `*`) or
 *   that carry no `Host` at all, which Node and the adapter would answer with an empty 400;
 * - an `Expect` other than `100-continue`, which Node answers 417 (not in the table): RFC 9110 lets a
 *   server ignore an expectation it does not know, so the request is served as if it had none.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { ApiError, errorResponse } from './errors.ts';

type FetchCallback = Parameters<typeof getRequestListener>[0];

export function createNodeServer(fetch: FetchCallback, options: ServerOptions): Server {
  const listener = getRequestListener(fetch, {
    errorHandler: (err) => refusal(new ApiError('bad_request', requestErrorMessage(err), { cause: err })),
  });
  const server = createServer({ ...options, requireHostHeader: false }, listener);
  server.on('checkExpectation', listener);
  server.on('clientError', rejectAtParser);
  return server;
}

function refusal(err: ApiError): Response {
  const requestId = crypto.randomUUID();
  const res = errorResponse(err, requestId);
  res.headers.set('x-error-code', err.code);
  res.headers.set('x-request-id', requestId);
  return res;
}

/** The adapter's reasons are short and name no input ("Invalid host header", "Backslash in request path"). */
function requestErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  return /^[\w .-]{1,60}$/.test(message) ? `Malformed request: ${message}` : 'Malformed request';
}

/** Requests the HTTP parser refuses never reach the app: answer them in the same JSON shape. */
export function rejectAtParser(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) {
    socket.destroy();
    return;
  }
  const e = new ApiError(parserRefusal(err));
  const body = JSON.stringify({ error: e.code, message: e.message, requestId: crypto.randomUUID() });
  socket.end(
    `HTTP/1.1 ${e.status} ${REASONS[e.status] ?? 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-error-code: ${e.code}\r\nconnection: close\r\n\r\n${body}`,
  );
  // end() only half-closes: a client that never reads nor closes would keep its connection slot for good
  socket.once('finish', () => socket.destroy());
}

const REASONS: Record<number, string> = { 414: 'URI Too Long', 431: 'Request Header Fields Too Large' };

/** The parser counts the request line against the header bound: when the packet it choked on starts a
 * request whose first line never ended, the URL is what was too long (414), otherwise the headers (431). */
function parserRefusal(err: NodeJS.ErrnoException & { rawPacket?: Buffer }) {
  if (err.code !== 'HPE_HEADER_OVERFLOW') return 'bad_request' as const;
  const packet = err.rawPacket;
  const startsRequest =
    packet !== undefined && /^[A-Z]{1,20} /.test(packet.subarray(0, 21).toString('latin1'));
  return startsRequest && !packet.includes(10) ? ('uri_too_long' as const) : ('headers_too_large' as const);
}
