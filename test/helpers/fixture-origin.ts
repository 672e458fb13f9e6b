/**
 * A small real origin for gateway tests: a Node HTTP server on loopback serving a copy of
 * test/fixtures/hls/origin (channel `demo`: index.m3u8 and 100.ts–104.ts) at `/live/{channel}/{path}`,
 * the way an origin node or nginx serves its segment directory (ETag, Last-Modified, single ranges).
 *
 * It records every request (method, URL, headers) so tests can count origin fetches and check that no
 * token ever arrives, and it can be broken on purpose: killed (connections refused), hung (accepts and
 * never answers), made to answer 5xx or 404, or to reset connections. Each instance works in its own
 * temporary directory; `put` changes what it serves (e.g. node-specific segment bytes).
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_HLS = fileURLToPath(new URL('../fixtures/hls/origin', import.meta.url));

export type FixtureMode = 'serve' | 'hang' | 'error' | 'not-found' | 'reset';

export interface FixtureRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface FixtureOrigin {
  url: string;
  port: number;
  /** every request received so far, `/healthz` included */
  requests(): FixtureRequest[];
  /** GET/HEAD requests received for exactly this path (query ignored) */
  count(path: string): number;
  clearRequests(): void;
  /** how the node behaves from now on (for every path, `/healthz` included) */
  setMode(mode: FixtureMode): void;
  /** writes `{channel}/{path}` into the served directory */
  put(path: string, content: string | Uint8Array): Promise<void>;
  remove(path: string): Promise<void>;
  /** stops listening and drops every connection: new connections are refused */
  kill(): Promise<void>;
  /** listens again on the same port */
  revive(): Promise<void>;
  close(): Promise<void>;
}

export interface FixtureOriginOptions {
  /** when set, `/live/` requests without this `X-Origin-Secret` get 403 */
  secret?: string;
  /** directory copied as the served content (default: test/fixtures/hls/origin) */
  from?: string;
}

const TYPES: Record<string, string> = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t' };

export async function startFixtureOrigin(opts: FixtureOriginOptions = {}): Promise<FixtureOrigin> {
  const root = await mkdtemp(join(tmpdir(), 'fixture-origin-'));
  await cp(opts.from ?? FIXTURE_HLS, root, { recursive: true });
  const log: FixtureRequest[] = [];
  const sockets = new Set<Socket>();
  let mode: FixtureMode = 'serve';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    log.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    if (mode === 'hang') return;
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'error') return send(res, 500, 'fixture: broken on purpose');
    const path = new URL(req.url ?? '/', 'http://fixture').pathname;
    if (path === '/healthz') return send(res, 200, 'ok');
    if (mode === 'not-found' || !path.startsWith('/live/')) return send(res, 404, 'not found');
    if (opts.secret !== undefined && req.headers['x-origin-secret'] !== opts.secret) {
      return send(res, 403, 'missing or wrong X-Origin-Secret');
    }
    const file = normalize(join(root, decodeURIComponent(path.slice('/live/'.length))));
    if (!file.startsWith(root + '/')) return send(res, 400, 'bad path');
    await serveFile(req, res, file);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;
  let listening = true;

  const kill = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => log.map((r) => ({ ...r, headers: { ...r.headers } })),
    count: (path) =>
      log.filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.url.split('?')[0] === path).length,
    clearRequests: () => {
      log.length = 0;
    },
    setMode: (m) => {
      mode = m;
    },
    put: async (path, content) => {
      const file = join(root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    },
    remove: (path) => unlink(join(root, path)).catch(() => {}),
    kill,
    revive: async () => {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    close: async () => {
      await kill();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch {
    return send(res, 404, 'not found');
  }
  if (!info.isFile()) return send(res, 404, 'not found');
  const body = await readFile(file);
  const etag = `"${info.mtimeMs.toString(16)}-${info.size.toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    etag,
    'last-modified': info.mtime.toUTCString(),
    'accept-ranges': 'bytes',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] || range[2])) {
    const size = body.byteLength;
    const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
    const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size || end < start) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(end - start + 1);
    res.writeHead(206, headers).end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    return;
  }
  headers['content-length'] = String(body.byteLength);
  res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
}

function send(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(text)) })
    .end(text);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
