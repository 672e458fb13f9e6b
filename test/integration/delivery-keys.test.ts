/**
 * The AES-128 key route end to end: a segment encrypted by the origin side (openssl, with a key derived
 * by node:crypto's own HKDF) decrypts with the key the gateway serves; keys ahead of the live edge are
 * refused; the key path never reaches an origin.
 */
import { execFile } from 'node:child_process';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { createDelivery } from '../../src/delivery/index.ts';
import { parseChannelKeySecrets } from '../../src/delivery/keys.ts';
import { createNodeOriginFetch, type NodeOriginFetch } from '../../src/delivery/node-fetch.ts';
import type { Delivery, LiveRequest } from '../../src/delivery/types.ts';
import { ApiError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { noopMetrics } from '../../src/metrics.ts';
import { FIXTURE_HLS, type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';

const run = promisify(execFile);
const SECRET_HEX = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('');
const KEY_PERIOD = 10;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY2N0LTEifQ.c2lnbmF0dXJl';

let a: FixtureOrigin;
let b: FixtureOrigin;
let fetcher: NodeOriginFetch;
let work: string;
let plain: Buffer;

/** The origin's view of the key: HKDF-SHA256 straight from node:crypto, not the gateway's code. */
function originKey(channel: string, period: number): Buffer {
  const ikm = Buffer.from(SECRET_HEX, 'hex');
  return Buffer.from(hkdfSync('sha256', ikm, 'edge-gw/aes-128/v1', `${channel}/${period}`, 16));
}

function ivOf(seq: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  return iv;
}

function build(): Delivery {
  return createDelivery({
    origins: [a.url, b.url],
    mode: 'primary',
    fetch: fetcher,
    clock: manualClock(),
    metrics: noopMetrics,
    logger: silentLogger,
    channelKeys: parseChannelKeySecrets(`v1:${SECRET_HEX}`),
    keyPeriod: KEY_PERIOD,
    cache: {
      maxBytes: 16 * 1024 * 1024,
      maxObjectBytes: 4 * 1024 * 1024,
      segmentTtlMs: 60_000,
      playlistTtlMs: 1000,
    },
    timeouts: { firstByteMs: 1500 },
    healthIntervalMs: 0,
  });
}

function live(object: string, init: Partial<LiveRequest> = {}): LiveRequest {
  return {
    channel: 'demo',
    object,
    method: 'GET',
    headers: new Headers(),
    queryToken: TOKEN,
    sub: 'acct-1',
    requestId: 'req-1',
    ...init,
  };
}

async function codeOf(d: Delivery, object: string, channel = 'demo'): Promise<string> {
  try {
    const res = await d.serve(live(object, { channel }));
    await res.arrayBuffer();
    return String(res.status);
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
}

beforeAll(async () => {
  a = await startFixtureOrigin();
  b = await startFixtureOrigin();
  work = await mkdtemp(join(tmpdir(), 'delivery-keys-'));
  plain = await readFile(join(FIXTURE_HLS, 'demo/100.ts'));
  await writeFile(join(work, 'plain.ts'), plain);
  // What the origin's muxer does: AES-128-CBC, PKCS#7, key of period floor(100 / 10), IV = sequence number.
  await run('openssl', [
    'enc',
    '-aes-128-cbc',
    '-K',
    originKey('demo', 10).toString('hex'),
    '-iv',
    ivOf(100).toString('hex'),
    '-in',
    join(work, 'plain.ts'),
    '-out',
    join(work, 'enc.ts'),
  ]);
  const encrypted = await readFile(join(work, 'enc.ts'));
  const playlist = (await readFile(join(FIXTURE_HLS, 'demo/index.m3u8'), 'utf8')).replace(
    '#EXT-X-MEDIA-SEQUENCE:100\n',
    '#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-KEY:METHOD=AES-128,URI="key/v1/10.key"\n',
  );
  for (const o of [a, b]) {
    await o.put('demo/100.ts', encrypted);
    await o.put('demo/index.m3u8', playlist);
  }
  fetcher = createNodeOriginFetch({ connectTimeoutMs: 500, firstByteTimeoutMs: 1500 });
});

afterAll(async () => {
  await fetcher?.close();
  await Promise.all([a?.close(), b?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('key route end to end', () => {
  it('the served key decrypts a segment the origin encrypted', async () => {
    const d = build();
    try {
      const text = new TextDecoder().decode(await (await d.serve(live('index.m3u8'))).arrayBuffer());
      const uri = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(text)?.[1];
      expect(uri).toBe(`key/v1/10.key?token=${TOKEN}`);
      const keyRes = await d.serve(live((uri as string).split('?')[0] as string));
      expect(keyRes.headers.get('cache-control')).toBe('private, no-store');
      const key = Buffer.from(await keyRes.arrayBuffer());
      expect(key.equals(originKey('demo', 10))).toBe(true);

      const segment = Buffer.from(await (await d.serve(live('100.ts'))).arrayBuffer());
      const decipher = createDecipheriv('aes-128-cbc', key, ivOf(100));
      const decrypted = Buffer.concat([decipher.update(segment), decipher.final()]);
      expect(decrypted.equals(plain)).toBe(true);
    } finally {
      await d.close();
    }
  });

  it('no key ahead of the live edge, learnt from the playlist even before any was served', async () => {
    const d = build();
    try {
      // edge = segment 104, 10 segments per period → current period 10, next 11
      expect(await codeOf(d, 'key/v1/12.key')).toBe('not_found');
      expect(await codeOf(d, 'key/v1/11.key')).toBe('200');
      expect(await codeOf(d, 'key/v1/10.key')).toBe('200');
      expect(await codeOf(d, 'key/v1/3.key')).toBe('200');
      expect(await codeOf(d, 'key/v2/10.key')).toBe('not_found');
      expect(await codeOf(d, 'key/v1/0.key', 'ghost')).toBe('not_found');
    } finally {
      await d.close();
    }
  });

  it('the key path is never forwarded to an origin', async () => {
    const all = [...a.requests(), ...b.requests()].map((r) => r.url);
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((u) => u.includes('/key/'))).toEqual([]);
  });
});
