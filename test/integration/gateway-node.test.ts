/**
 * The Node entry as a real process (`node src/node.ts`): the client address comes from the socket,
 * forwarding headers only count from trusted proxies, bad configuration names the variable, SIGTERM drains.
 */
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { gatewayEnv, mintFor, signingKey, startGatewayProcess } from '../helpers/gateway-process.ts';
import type { TestKey } from '../helpers/keys.ts';
import { type Proc, start } from '../helpers/process.ts';

let origin: FixtureOrigin;
let key: TestKey;
let gw: Proc;
let base: string;
let env: Record<string, string>;

/** GET over a socket bound to `localAddress` (127.0.0.x are all loopback on Linux). */
function get(path: string, opts: { localAddress?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = httpRequest(
        `${base}${path}`,
        { localAddress: opts.localAddress ?? '127.0.0.1', headers: opts.headers },
        (res) => {
          let body = '';
          res.setEncoding('latin1');
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

/** Writes bytes on a raw socket and returns everything the server answered before closing. */
function rawRequest(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(Number(new URL(base).port), '127.0.0.1');
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.write(bytes);
  });
}

const mint = (ip: string | string[]) => mintFor(key, { sub: 'acct-n', sid: 'sid-n', ip });

async function startGateway(extra: Record<string, string> = {}): Promise<{ proc: Proc; url: string }> {
  return startGatewayProcess({ ...env, ...extra });
}

beforeAll(async () => {
  origin = await startFixtureOrigin();
  key = await signingKey('node-1');
  env = gatewayEnv(key, { ORIGINS: origin.url });
  const g = await startGateway();
  gw = g.proc;
  base = g.url;
});
afterAll(async () => {
  await gw?.stop();
  await origin?.close();
});

describe('Node entry', () => {
  it('binds to the socket address: 127.0.0.1 plays, 127.0.0.2 gets ip_mismatch', async () => {
    const token = await mint('127.0.0.1');
    const ok = await get('/live/demo/100.ts', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const other = await get('/live/demo/100.ts', {
      localAddress: '127.0.0.2',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body)).toMatchObject({
      error: 'ip_mismatch',
      message: 'Token Leakage Detected - IP Mismatch',
    });
  });

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const token = await mint('198.51.100.10');
    const res = await get('/live/demo/100.ts', {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.10' },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toBe('ip_mismatch');
  });

  it('believes X-Forwarded-For from a trusted proxy', async () => {
    const g = await startGateway({ TRUSTED_PROXIES: '127.0.0.1/32' });
    try {
      const token = await mint('198.51.100.10');
      const h = { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.1, 198.51.100.10' };
      const res = await fetch(`${g.url}/live/demo/100.ts`, { headers: h });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    } finally {
      await g.proc.stop();
    }
  });

  it('answers an oversized header block with 431 and a long URL with 414', async () => {
    const raw = await rawRequest(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1.1 431 /);
    expect(raw).toContain('"error":"headers_too_large"');
    const res = await get(`/live/demo/${'a'.repeat(9000)}.ts`);
    expect(res.status).toBe(414);
    expect(JSON.parse(res.body).error).toBe('uri_too_long');
  });

  it('exposes Prometheus metrics by route pattern, never by raw path', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toContain('gateway_requests_total{route="/live/:channel/*"');
    expect(res.body).not.toContain('100.ts');
  });

  it('stops with a message naming a bad variable', async () => {
    const proc = start('node', ['src/node.ts'], { env: { ...env, SESSION_POLICY: 'whatever', PORT: '0' } });
    const [code] = (await once(proc.child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(proc.output()).toContain('SESSION_POLICY');
  });

  it('drains on SIGTERM and exits 0', async () => {
    const g = await startGateway();
    const token = await mint('127.0.0.1');
    const inflight = fetch(`${g.url}/live/demo/100.ts`, { headers: { authorization: `Bearer ${token}` } });
    const res = await inflight;
    g.proc.child.kill('SIGTERM');
    const [code] = (await once(g.proc.child, 'exit')) as [number];
    expect(res.status).toBe(200);
    expect(code).toBe(0);
  });
});
