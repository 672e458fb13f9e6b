/**
 * The Workers OriginFetch (src/delivery/fetch-origin.ts) on Node's own Web `fetch`, against real sockets:
 * its bounds and error codes, and the shared-cache tier's rules (what is stored, under which key). The
 * same code runs on workerd in edge-worker.test.ts, against the real Cache API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFetchOriginFetch,
  type SharedCache,
  withSharedCache,
} from '../../src/delivery/fetch-origin.ts';
import { OriginFetchError } from '../../src/delivery/types.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { freePort } from '../helpers/net.ts';

let origin: FixtureOrigin;
/** answers headers and the first chunk of a body, then goes silent */
let stalling: Server;
let stallingUrl: string;

beforeAll(async () => {
  origin = await startFixtureOrigin();
  stalling = createServer((req, res) => {
    if (req.url === '/redirect') return res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    res.write('first chunk');
  });
  await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  stallingUrl = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
});
afterAll(async () => {
  stalling.closeAllConnections();
  await new Promise((resolve) => stalling.close(resolve));
  await origin.close();
});

const get = { method: 'GET' as const, headers: new Headers() };
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OriginFetchError);
  return (err as OriginFetchError).code;
};

describe('createFetchOriginFetch', () => {
  const originFetch = createFetchOriginFetch({ firstByteTimeoutMs: 300, bodyIdleTimeoutMs: 300 });

  it('answers the origin response, body streamed', async () => {
    const res = await originFetch(`${origin.url}/live/demo/100.ts`, get);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(9400);
  });

  it('a refused connection is a connect failure', async () => {
    expect(await failure(originFetch(`http://127.0.0.1:${await freePort()}/live/demo/100.ts`, get))).toBe(
      'connect',
    );
  });

  it('no response headers within the first-byte bound is a timeout', async () => {
    origin.setMode('hang');
    try {
      expect(await failure(originFetch(`${origin.url}/live/demo/100.ts`, get))).toBe('timeout');
    } finally {
      origin.setMode('serve');
    }
  });

  it("the caller's abort is a timeout too", async () => {
    const abort = new AbortController();
    abort.abort();
    expect(
      await failure(originFetch(`${origin.url}/live/demo/100.ts`, { ...get, signal: abort.signal })),
    ).toBe('timeout');
  });

  it('a body that goes silent is abandoned after the idle bound', async () => {
    const res = await originFetch(`${stallingUrl}/live/demo/1.ts`, get);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('a redirect is answered as it is, never followed', async () => {
    const res = await originFetch(`${stallingUrl}/redirect`, get);
    expect(res.status).toBe(302);
  });
});

describe('withSharedCache', () => {
  /** The two Cache API calls the tier makes, over a Map: enough to see what it stores and asks for. */
  const memoryCache = () => {
    const entries = new Map<string, { body: ArrayBuffer; headers: Headers }>();
    const cache: SharedCache = {
      async match(key) {
        const e = entries.get(key);
        return e && new Response(e.body.slice(0), { status: 200, headers: e.headers });
      },
      async put(key, res) {
        entries.set(key, { body: await res.arrayBuffer(), headers: res.headers });
      },
    };
    return { cache, entries };
  };
  const tier = (cache: SharedCache, pending: Promise<unknown>[]) =>
    withSharedCache(createFetchOriginFetch({ firstByteTimeoutMs: 1000 }), {
      cache,
      keyBase: 'http://primary.example',
      ttlSeconds: 120,
      maxObjectBytes: 1 << 20,
      defer: (work) => pending.push(work),
    });

  it('stores a segment under its path alone and answers the next request from it', async () => {
    const { cache, entries } = memoryCache();
    const pending: Promise<unknown>[] = [];
    const fetchVia = tier(cache, pending);
    origin.clearRequests();
    const first = await fetchVia(`${origin.url}/live/demo/101.ts`, get);
    const bytes = new Uint8Array(await first.arrayBuffer());
    await Promise.all(pending);
    expect([...entries.keys()]).toEqual(['http://primary.example/live/demo/101.ts']);
    expect(entries.get('http://primary.example/live/demo/101.ts')?.headers.get('cache-control')).toBe(
      'public, max-age=120',
    );
    const second = await fetchVia(`${origin.url}/live/demo/101.ts`, get);
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes);
    expect(origin.count('/live/demo/101.ts')).toBe(1);
  });

  it('leaves playlists, ranges, conditionals, errors and other methods to the origin', async () => {
    const { cache, entries } = memoryCache();
    const pending: Promise<unknown>[] = [];
    const fetchVia = tier(cache, pending);
    const calls: [string, { method: 'GET' | 'HEAD'; headers: Headers }][] = [
      [`${origin.url}/live/demo/index.m3u8`, get],
      [`${origin.url}/live/demo/102.ts`, { method: 'GET', headers: new Headers({ range: 'bytes=0-99' }) }],
      [`${origin.url}/live/demo/102.ts`, { method: 'GET', headers: new Headers({ 'if-none-match': '"x"' }) }],
      [`${origin.url}/live/demo/102.ts`, { method: 'HEAD', headers: new Headers() }],
      [`${origin.url}/live/demo/999.ts`, get],
    ];
    for (const [url, init] of calls) await (await fetchVia(url, init)).arrayBuffer();
    await Promise.all(pending);
    expect(entries.size).toBe(0);
  });
});
