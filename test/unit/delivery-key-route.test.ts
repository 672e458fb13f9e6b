import { describe, expect, it } from 'vitest';
import { KeyRoute } from '../../src/delivery/key-route.ts';
import { bytesToHex, parseChannelKeySecrets } from '../../src/delivery/keys.ts';
import { parseLiveObject } from '../../src/delivery/paths.ts';
import type { LiveRequest } from '../../src/delivery/types.ts';
import { ApiError } from '../../src/errors.ts';

const SECRET = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('');
const OTHER = 'ff'.repeat(32);

function route(opts: { secrets?: string; edge?: number; keyPeriod?: number } = {}) {
  return new KeyRoute({
    channelKeys:
      opts.secrets === '' ? [] : parseChannelKeySecrets(opts.secrets ?? `v2:${OTHER},v1:${SECRET}`),
    keyPeriod: opts.keyPeriod ?? 150,
    liveEdge: async () => opts.edge,
  });
}

function ask(r: KeyRoute, channel: string, path: string, method: 'GET' | 'HEAD' = 'GET') {
  const req: LiveRequest = {
    channel,
    object: path,
    method,
    headers: new Headers(),
    queryToken: undefined,
    sub: 'acct-1',
    requestId: 'req-1',
  };
  return r.serve(req, parseLiveObject(channel, path));
}

async function codeOf(p: Promise<Response>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof ApiError ? err.code : String(err);
  }
}

describe('key route', () => {
  it.each([
    ['demo', 0, '8bec14790595932f0c7d4c2baeb807d5'],
    ['demo', 1, '75d86aa6d50ef2260e34a4f198726388'],
    ['news1', 7, 'a2260deb3d14d6ce967ba9802655a932'],
  ])('SPEC test vector %s/%i', async (channel, period, hex) => {
    const res = await ask(route(), channel, `key/v1/${period}.key`);
    expect(res.status).toBe(200);
    expect(bytesToHex(new Uint8Array(await res.arrayBuffer()))).toBe(hex);
  });

  it('answers 16 bytes that no cache may keep and no referrer may carry', async () => {
    const res = await ask(route(), 'demo', 'key/v1/0.key');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe('16');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await res.arrayBuffer()).byteLength).toBe(16);
  });

  it('HEAD: headers only', async () => {
    const res = await ask(route(), 'demo', 'key/v1/0.key', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
  });

  it('serves every configured version (old periods stay decryptable after a rotation)', async () => {
    const v2 = await ask(route(), 'demo', 'key/v2/0.key');
    const v1 = await ask(route(), 'demo', 'key/v1/0.key');
    expect(bytesToHex(new Uint8Array(await v1.arrayBuffer()))).toBe('8bec14790595932f0c7d4c2baeb807d5');
    expect(bytesToHex(new Uint8Array(await v2.arrayBuffer()))).not.toBe('8bec14790595932f0c7d4c2baeb807d5');
  });

  it('unknown version, or no secrets configured → 404 not_found', async () => {
    expect(await codeOf(ask(route(), 'demo', 'key/v3/0.key'))).toBe('not_found');
    expect(await codeOf(ask(route({ secrets: '' }), 'demo', 'key/v1/0.key'))).toBe('not_found');
  });

  it('no key ahead of the live edge: the current and next period only', async () => {
    // edge = segment 1049 with 150 segments per period → current period 6
    const r = route({ edge: 1049 });
    expect(await codeOf(ask(r, 'demo', 'key/v1/6.key'))).toBe('ok');
    expect(await codeOf(ask(r, 'demo', 'key/v1/7.key'))).toBe('ok');
    expect(await codeOf(ask(r, 'demo', 'key/v1/8.key'))).toBe('not_found');
    expect(await codeOf(ask(r, 'demo', 'key/v1/0.key'))).toBe('ok');
  });
});
