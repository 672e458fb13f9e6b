/**
 * The Worker on real workerd beyond the shared conformance suite: misses coalesced across concurrent
 * requests (promises shared between request contexts), a hung origin bounded by abort signals, revocation
 * through the Durable Object, what Workers leave out (/metrics), the Cache API as the segment tier, and a
 * bad configuration. For the Cache API a second Worker runs without the in-memory segment cache
 * (SEGMENT_CACHE_BYTES=0), so a segment it serves while both origins are down can only come from there.
 */
import { randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ADDRESS, type ConformanceBase, conformanceBase } from '../helpers/conformance.ts';
import { waitFor } from '../helpers/net.ts';
import { startWorkerd, type Workerd } from '../helpers/workerd.ts';

let base: ConformanceBase;
let worker: Workerd;
let cacheOnly: Workerd;
const player = new Agent({ localAddress: CLIENT_ADDRESS });
const run = Math.random().toString(36).slice(2, 8);
let n = 0;

beforeAll(async () => {
  base = await conformanceBase();
  worker = await startWorkerd({ env: base.env });
  cacheOnly = await startWorkerd({ env: { ...base.env, SEGMENT_CACHE_BYTES: '0' } });
});
afterAll(async () => {
  await worker?.stop();
  await cacheOnly?.stop();
  await base?.close();
  await player.close();
});

async function issue(sub = `worker-${run}-${++n}`, on = worker): Promise<string> {
  const res = await undiciFetch(`${on.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${base.env.ISSUER_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sub, ip: CLIENT_ADDRESS, channels: ['demo'] }),
    dispatcher: player,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function get(path: string, token?: string, on = worker) {
  const res = await undiciFetch(`${on.url}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    dispatcher: player,
  });
  return {
    status: res.status,
    cache: res.headers.get('x-cache'),
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}
const originFetches = (path: string) => base.primary.count(path) + base.secondary.count(path);
const put = async (name: string, bytes: Uint8Array) => {
  await base.primary.put(`demo/${name}`, bytes);
  await base.secondary.put(`demo/${name}`, bytes);
};

describe('Worker on workerd', () => {
  it('concurrent misses for one segment are one origin fetch, shared across requests', async () => {
    const bytes = new Uint8Array(randomBytes(256 * 1024));
    await put('922.ts', bytes);
    const token = await issue();
    const all = await Promise.all(Array.from({ length: 8 }, () => get('/live/demo/922.ts', token)));
    for (const res of all) {
      expect(res.status).toBe(200);
      expect(Buffer.from(res.bytes).equals(Buffer.from(bytes))).toBe(true);
    }
    // one leader; the others waited for its fetch, or came after it and found the object held
    expect(all.filter((r) => r.cache === 'MISS')).toHaveLength(1);
    expect(all.every((r) => ['MISS', 'COALESCED', 'HIT'].includes(r.cache ?? ''))).toBe(true);
    expect(originFetches('/live/demo/922.ts')).toBe(1);
  });

  it('bounds a hung primary by the first-byte timeout and fails over within the request', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(8 * 1024));
    await put('921.ts', bytes);
    const token = await issue();
    base.primary.setMode('hang');
    try {
      const res = await get('/live/demo/921.ts', token);
      expect(res.status).toBe(200);
      expect(Buffer.from(res.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(base.primary.count('/live/demo/921.ts')).toBe(1);
    } finally {
      base.primary.setMode('serve');
    }
  });

  it('a revocation in the Durable Object ends the session on its next request', async () => {
    const sub = `worker-${run}-revoked`;
    const token = await issue(sub);
    expect((await get('/live/demo/100.ts', token)).status).toBe(200);
    const res = await undiciFetch(`${worker.url}/v1/sessions/${sub}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${base.env.ISSUER_API_KEY}` },
    });
    expect(await res.json()).toEqual({ sub, revoked: 1 });
    const after = await get('/live/demo/100.ts', token);
    expect(after.status).toBe(409);
    expect(JSON.parse(new TextDecoder().decode(after.bytes))).toMatchObject({ error: 'session_revoked' });
  });

  it('has no /metrics route (no Prometheus registry on Workers)', async () => {
    expect((await get('/metrics')).status).toBe(404);
  });
});

describe('Worker without the in-memory segment cache', () => {
  it('serves a segment from the Cache API once it is there, with both origins down', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32 * 1024));
    await put('920.ts', bytes);
    const token = await issue(undefined, cacheOnly);
    expect((await get('/live/demo/920.ts', token, cacheOnly)).status).toBe(200);
    expect(originFetches('/live/demo/920.ts')).toBe(1);
    // the copy is written in the background (waitUntil): wait until a request no longer reaches an origin
    await waitFor(
      async () => {
        const before = originFetches('/live/demo/920.ts');
        return (
          (await get('/live/demo/920.ts', token, cacheOnly)).status === 200 &&
          originFetches('/live/demo/920.ts') === before
        );
      },
      { what: 'the segment in the Cache API', timeoutMs: 20_000, intervalMs: 200 },
    );
    await base.primary.kill();
    await base.secondary.kill();
    try {
      const res = await get('/live/demo/920.ts', token, cacheOnly);
      expect(res.status).toBe(200);
      expect(Buffer.from(res.bytes).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      await base.primary.revive();
      await base.secondary.revive();
    }
  });
});

describe('Worker with a bad configuration', () => {
  it('answers 500 internal and names the variable in its log, not to the client', async () => {
    const { JWT_AUDIENCE: _, ...env } = base.env;
    // wrangler.toml holds a JWT_AUDIENCE var: an empty value is "unset" to the schema
    const broken = await startWorkerd({ env: { ...env, JWT_AUDIENCE: '', SESSION_MAX: 'many' } });
    try {
      const direct = await fetch(`${broken.url}/healthz`);
      expect(direct.status).toBe(500);
      const body = (await direct.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: 'internal', message: 'The gateway is misconfigured' });
      expect(JSON.stringify(body)).not.toContain('SESSION_MAX');
      await waitFor(
        () => /JWT_AUDIENCE/.test(broken.proc.output()) && /SESSION_MAX/.test(broken.proc.output()),
        {
          what: 'the configuration error in the Worker log',
        },
      );
    } finally {
      await broken.stop();
    }
  });
});
