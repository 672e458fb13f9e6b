/**
 * Slow and idle clients against the gateway as a real process, started with small server bounds
 * (SERVER_HEADERS_TIMEOUT_MS 2 s, SERVER_REQUEST_TIMEOUT_MS 4 s) so the attacks end quickly: Slowloris
 * headers at a byte a second, token bodies that never end (declared and chunked), a thousand idle
 * connections, and a connection flood past SERVER_MAX_CONNECTIONS. Each attack is cut off by the server
 * within its bound (counted in pieces the attacker managed to send, not in elapsed time), every answer it
 * gets follows the error contract, no request is counted as a 500, and a player is served meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import {
  type GatewayProcess,
  gatewayEnv,
  mintFor,
  PROC_API_KEY,
  signingKey,
  startGatewayProcess,
} from '../helpers/gateway-process.ts';
import { contractBreach, type Exchange, exchange, idleConnections } from '../helpers/hostile.ts';
import type { TestKey } from '../helpers/keys.ts';
import { waitFor } from '../helpers/net.ts';

const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
/** a piece a second: the server must hang up after about bound/1 s pieces; the slack absorbs a slow host */
const PIECE_MS = 1000;
const SLACK_PIECES = 8;

let origin: FixtureOrigin;
let key: TestKey;
let gw: GatewayProcess;
let port: number;

const limits = (extra: Record<string, string> = {}) =>
  gatewayEnv(key, {
    ORIGINS: origin.url,
    SERVER_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    SERVER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    SERVER_KEEPALIVE_TIMEOUT_MS: '2000',
    SERVER_MAX_CONNECTIONS: '2000',
    ...extra,
  });

beforeAll(async () => {
  origin = await startFixtureOrigin();
  key = await signingKey('slow-1');
  gw = await startGatewayProcess(limits());
  port = Number(new URL(gw.url).port);
});
afterAll(async () => {
  await gw?.proc.stop();
  await origin?.close();
});

/** A normal player fetching a segment with a valid token. */
async function playerGets(base: string): Promise<number> {
  const token = await mintFor(key, { sub: 'viewer', sid: 'viewer-1' });
  const res = await fetch(`${base}/live/demo/100.ts`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

function expectCutOff(ex: Exchange, boundMs: number, pieces: number) {
  expect(ex.closedByServer, 'the server hung up').toBe(true);
  expect(ex.piecesSent).toBeLessThan(Math.min(pieces, boundMs / PIECE_MS + SLACK_PIECES));
  for (const res of ex.responses) expect(contractBreach(res)).toBeUndefined();
}

async function no500s(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const fivehundreds = text.split('\n').filter((l) => /^gateway_requests_total\{.*status="5\d\d"/.test(l));
  expect(fivehundreds).toEqual([]);
}

describe('slow clients are cut off by the server bounds', () => {
  it('Slowloris: headers a byte a second are cut at SERVER_HEADERS_TIMEOUT_MS; a player plays meanwhile', async () => {
    const pieces = 60;
    const attack = Promise.all(
      Array.from({ length: 20 }, () =>
        exchange(port, {
          head: 'GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Slow: ',
          trickle: { piece: 'a', everyMs: PIECE_MS, pieces },
          giveUpMs: 50_000,
        }),
      ),
    );
    expect(await playerGets(gw.url)).toBe(200);
    for (const ex of await attack) expectCutOff(ex, HEADERS_TIMEOUT_MS, pieces);
  });

  it('a token body that never ends (Content-Length) is cut at SERVER_REQUEST_TIMEOUT_MS, never a 500', async () => {
    const pieces = 60;
    const attack = exchange(port, {
      head:
        `POST /v1/tokens HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${PROC_API_KEY}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      trickle: { piece: ' ', everyMs: PIECE_MS, pieces },
      giveUpMs: 50_000,
    });
    expect(await playerGets(gw.url)).toBe(200);
    expectCutOff(await attack, REQUEST_TIMEOUT_MS, pieces);
    await no500s(gw.url);
  });

  it('a chunked token body that never ends is cut at SERVER_REQUEST_TIMEOUT_MS, never a 500', async () => {
    const pieces = 60;
    const attack = exchange(port, {
      head:
        `POST /v1/tokens HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${PROC_API_KEY}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
      trickle: { piece: '1\r\n \r\n', everyMs: PIECE_MS, pieces },
      giveUpMs: 50_000,
    });
    expect(await playerGets(gw.url)).toBe(200);
    expectCutOff(await attack, REQUEST_TIMEOUT_MS, pieces);
    await no500s(gw.url);
  });

  it('1,000 idle connections: a player plays while they are open, and the server closes every one', async () => {
    const flood = await idleConnections(port, 1000);
    try {
      expect(flood.connected).toBe(1000);
      expect(await playerGets(gw.url)).toBe(200);
      await waitFor(() => flood.closed() === 1000, {
        timeoutMs: 60_000,
        what: 'idle connections closed by the server',
      });
    } finally {
      flood.destroy();
    }
    expect(await playerGets(gw.url)).toBe(200);
  });
});

describe('SERVER_MAX_CONNECTIONS', () => {
  it('connections past the bound are dropped at once; silent ones that never read lose their slot at the timeout', async () => {
    const small = await startGatewayProcess(limits({ SERVER_MAX_CONNECTIONS: '50' }));
    try {
      const smallPort = Number(new URL(small.url).port);
      // 50 take every slot and then neither send nor read nor close; the 150 after them are turned away
      const silent = await idleConnections(smallPort, 50, { read: false });
      const late = await idleConnections(smallPort, 150);
      try {
        await waitFor(() => late.closed() === 150, {
          timeoutMs: 30_000,
          what: 'connections over the bound dropped',
        });
        // while the silent ones stay open on the attacker's side, the server must still free their slots
        await waitFor(async () => (await playerGets(small.url).catch(() => 0)) === 200, {
          timeoutMs: 30_000,
          intervalMs: 500,
          what: 'a player served while the silent connections are still open',
        });
      } finally {
        silent.destroy();
        late.destroy();
      }
    } finally {
      await small.proc.stop();
    }
  });
});

describe('SERVER_SOCKET_TIMEOUT_MS', () => {
  it('a client that stops reading a large answer loses its connection once nothing moves', async () => {
    await origin.put('demo/900.ts', new Uint8Array(8 * 1024 * 1024));
    // one connection slot: while the stalled reader holds it, nobody else gets in
    const small = await startGatewayProcess(
      limits({ SERVER_SOCKET_TIMEOUT_MS: '3000', SERVER_MAX_CONNECTIONS: '1' }),
    );
    try {
      const token = await mintFor(key, { sub: 'reader', sid: 'reader-1' });
      // asks for 8 MB and reads none of it: the socket buffers fill and the server's writes stall
      const done = new AbortController();
      const stalled = exchange(Number(new URL(small.url).port), {
        head: `GET /live/demo/900.ts HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n\r\n`,
        giveUpMs: 60_000,
        paused: true,
        signal: done.signal,
      });
      await waitFor(async () => (await playerGets(small.url).catch(() => 0)) === 200, {
        timeoutMs: 45_000,
        intervalMs: 500,
        what: 'the stalled connection closed by the server, so a player gets its slot',
      });
      done.abort();
      await stalled;
    } finally {
      await small.proc.stop();
    }
  });
});
