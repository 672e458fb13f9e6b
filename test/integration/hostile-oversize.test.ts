/**
 * Oversized inputs against the gateway as a real process: a 1 MB header block, a 100 KB URL and a 10 MB
 * body to the token endpoint (declared and chunked) are answered with the table's 431 / 414 / 413 and a JSON
 * body, without the server reading what it refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import {
  type GatewayProcess,
  gatewayEnv,
  PROC_API_KEY,
  signingKey,
  startGatewayProcess,
} from '../helpers/gateway-process.ts';
import { contractBreach, exchange } from '../helpers/hostile.ts';

let origin: FixtureOrigin;
let gw: GatewayProcess;
let port: number;

beforeAll(async () => {
  origin = await startFixtureOrigin();
  gw = await startGatewayProcess(gatewayEnv(await signingKey(), { ORIGINS: origin.url }));
  port = Number(new URL(gw.url).port);
});
afterAll(async () => {
  await gw?.proc.stop();
  await origin?.close();
});

const MB = 1024 * 1024;
const tokenHead = (extra: string) =>
  `POST /v1/tokens HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${PROC_API_KEY}\r\n` +
  `Content-Type: application/json\r\n${extra}\r\n`;

/** Sends `head` (and `body`) and returns the one answer, checked against the error contract. */
async function refused(head: string, body?: Uint8Array) {
  const bytes = body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head;
  const ex = await exchange(port, { head: bytes, giveUpMs: 30_000, untilResponse: true });
  expect(ex.responses, ex.received.slice(0, 300)).toHaveLength(1);
  const res = ex.responses[0]!;
  expect(contractBreach(res)).toBeUndefined();
  return { res, code: JSON.parse(res.body).error as string };
}

describe('oversized inputs', () => {
  it('a 1 MB header block → 431 headers_too_large', async () => {
    const { res, code } = await refused(
      `GET /live/demo/100.ts HTTP/1.1\r\nHost: gw\r\nX-Pad: ${'a'.repeat(MB)}\r\n\r\n`,
    );
    expect([res.status, code]).toEqual([431, 'headers_too_large']);
    expect(res.headers.connection).toBe('close');
  });

  it('a thousand small headers adding up past the bound → 431', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'v'.repeat(40)}\r\n`).join('');
    const { res, code } = await refused(`GET /healthz HTTP/1.1\r\nHost: gw\r\n${many}\r\n`);
    expect([res.status, code]).toEqual([431, 'headers_too_large']);
  });

  it('a 100 KB URL → 414 uri_too_long', async () => {
    const { res, code } = await refused(
      `GET /live/demo/${'a'.repeat(100 * 1024)}.ts HTTP/1.1\r\nHost: gw\r\n\r\n`,
    );
    expect([res.status, code]).toEqual([414, 'uri_too_long']);
  });

  it('a 100 KB query string → 414 uri_too_long', async () => {
    const { res, code } = await refused(
      `GET /live/demo/100.ts?token=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: gw\r\n\r\n`,
    );
    expect([res.status, code]).toEqual([414, 'uri_too_long']);
  });

  it('a 10 MB body declared in Content-Length → 413 payload_too_large before the body is read', async () => {
    const { res, code } = await refused(
      tokenHead(`Content-Length: ${10 * MB}\r\n`),
      Buffer.alloc(10 * MB, 0x20),
    );
    expect([res.status, code]).toEqual([413, 'payload_too_large']);
  });

  it('a 10 MB chunked body (no length to refuse up front) → 413 once it passes the bound', async () => {
    const size = 10 * MB;
    const body = Buffer.concat([
      Buffer.from(`${size.toString(16)}\r\n`),
      Buffer.alloc(size, 0x20),
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    const { res, code } = await refused(tokenHead('Transfer-Encoding: chunked\r\n'), body);
    expect([res.status, code]).toEqual([413, 'payload_too_large']);
  });

  it('the gateway still serves afterwards', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
  });
});
