/**
 * A hung origin: accepts TCP connections and never answers (a wedged process, a full accept queue behind
 * a load balancer), so the gateway meets it only through its first-byte bound and its health checks.
 *
 *   PORT=… node bench/subjects/hung-origin.ts
 */
import { createServer } from 'node:net';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT is required');
createServer((socket) => {
  // never read a request, never answer; a peer that gives up must not crash the process
  socket.on('error', () => {});
}).listen(port, '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
