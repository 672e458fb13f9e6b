/**
 * Before anything is measured: every subject answers the bench's requests with the right bytes, and the
 * authenticating ones refuse what they must — no token, a token bound to another address, a channel the
 * token does not grant (nginx: a tampered or other-address link). A throughput number for a subject that
 * skips its checks would be meaningless, so a failed check stops the bench.
 */
import { OBJECTS, objectPath } from '../lib/data.ts';
import type { Stack } from '../lib/stack.ts';
import { CLIENT_ADDRESS, TOKEN_TTL } from '../lib/tokens.ts';

interface Check {
  what: string;
  url: string;
  headers?: Record<string, string>;
  status: number;
  bytes?: number;
}

export async function preflight(stack: Stack): Promise<void> {
  const [token] = await stack.tokens.mint('preflight', 1);
  const [elsewhere] = await stack.tokens.mint('preflight-elsewhere', 1, '10.1.2.3');
  const bearer = (t: string | undefined) => ({ authorization: `Bearer ${t}` });
  const small = objectPath('small');
  const checks: Check[] = [];
  const authenticating = [
    ...Object.values(stack.gateways).map((g) => [`gateway ${g.name}`, g.url] as const),
    ['fastify', stack.fastify.url] as const,
  ];
  for (const [name, url] of authenticating) {
    // the hung-primary gateway is left to its row: its first answer may wait out the first-byte bound
    if (url !== stack.gateways.hung.url)
      checks.push({
        what: `${name}: valid token`,
        url: url + small,
        headers: bearer(token),
        status: 200,
        bytes: OBJECTS.small.bytes,
      });
    checks.push(
      { what: `${name}: no token`, url: url + small, status: 401 },
      {
        what: `${name}: token bound to another address`,
        url: url + small,
        headers: bearer(elsewhere),
        status: 403,
      },
      {
        what: `${name}: channel not granted`,
        url: `${url}/live/other/10.ts`,
        headers: bearer(token),
        status: 403,
      },
    );
  }
  for (const g of [stack.gateways.memory, stack.gateways.noCache]) {
    checks.push({
      what: `gateway ${g.name}: 2 MB`,
      url: g.url + objectPath('large'),
      headers: bearer(token),
      status: 200,
      bytes: OBJECTS.large.bytes,
    });
  }
  const expires = Math.floor(Date.now() / 1000) + TOKEN_TTL;
  const link = (address: string) =>
    stack.peers.secureLinkUrl + small + stack.peers.secureLinkQuery(small, address, expires);
  checks.push(
    { what: 'secure_link: valid link', url: link(CLIENT_ADDRESS), status: 200, bytes: OBJECTS.small.bytes },
    { what: 'secure_link: link for another address', url: link('10.1.2.3'), status: 403 },
    { what: 'secure_link: no link', url: stack.peers.secureLinkUrl + small, status: 403 },
    { what: 'bare Hono', url: stack.hono.url + small, status: 200, bytes: OBJECTS.small.bytes },
    {
      what: 'nginx static',
      url: stack.peers.staticUrl + objectPath('large'),
      status: 200,
      bytes: OBJECTS.large.bytes,
    },
    {
      what: 'nginx proxy',
      url: stack.peers.proxyUrl + objectPath('large'),
      status: 200,
      bytes: OBJECTS.large.bytes,
    },
  );
  const failed: string[] = [];
  for (const c of checks) {
    const res = await fetch(c.url, c.headers ? { headers: c.headers } : {});
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status !== c.status || (c.bytes !== undefined && body.byteLength !== c.bytes))
      failed.push(
        `${c.what}: expected ${c.status}${c.bytes ? ` with ${c.bytes} bytes` : ''}, got ${res.status} with ${body.byteLength} bytes`,
      );
  }
  if (failed.length) throw new Error(`preflight checks failed:\n  ${failed.join('\n  ')}`);
}
