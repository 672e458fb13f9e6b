/**
 * The gateway's half of forensic watermarking, HTTP in and HTTP out, in front of two real loopback origins
 * holding a watermarked channel (`wm`: a playlist tagged `#EXT-X-EDGE-WATERMARK`, segments as `{seq}.a.ts` /
 * `{seq}.b.ts` only) and a plain one (`demo`). The expected variant of every request is computed from the
 * published code layout (account code → RS codeword → keyed mask), independently of the gateway's caches.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { codeword, type Variant, variantOf } from '../../src/delivery/watermark-code.ts';
import { accountCode, importWatermarkKey, maskBlock } from '../../src/delivery/watermark-keys.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { type TestGateway, testGateway } from '../helpers/gateway.ts';

const ORIGIN_SECRET = 'origin-secret-0123456789';
const WATERMARK_SECRET = 'watermark-secret-for-tests-0123';
const FIRST = 1000;
const SEQS = Array.from({ length: 64 }, (_, i) => FIRST + i);
const PLAYLIST = [
  '#EXTM3U',
  '#EXT-X-VERSION:3',
  '#EXT-X-TARGETDURATION:1',
  `#EXT-X-MEDIA-SEQUENCE:${FIRST}`,
  '#EXT-X-EDGE-WATERMARK:AB',
  ...SEQS.flatMap((s) => ['#EXTINF:1.000,', `${s}.ts`]),
  '',
].join('\n');
const body = (v: Variant, seq: number) => `variant ${v} of ${seq}`;

let a: FixtureOrigin;
let b: FixtureOrigin;
let gw: TestGateway;

async function expectedVariants(sub: string): Promise<Variant[]> {
  const key = await importWatermarkKey(WATERMARK_SECRET);
  const cw = codeword(await accountCode(key, sub));
  const masks = new Map<number, Uint8Array>();
  const out: Variant[] = [];
  for (const seq of SEQS) {
    const block = Math.floor(seq / 256);
    if (!masks.has(block)) masks.set(block, await maskBlock(key, 'wm', block));
    out.push(variantOf(cw, masks.get(block)!, seq));
  }
  return out;
}

/** What the gateway served `sub` for every sequence number, read from the bodies. */
async function served(gateway: TestGateway, sub: string): Promise<Variant[]> {
  const token = await gateway.mint({ sub, sid: `sid-${sub}`, ch: ['wm', 'demo'] });
  const out: Variant[] = [];
  for (const seq of SEQS) {
    const res = await gateway.get(`/live/wm/${seq}.ts`, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^private, /);
    expect(res.headers.get('content-type')).toBe('video/mp2t');
    const text = await res.text();
    expect(text).toMatch(new RegExp(`^variant [ab] of ${seq}$`));
    out.push(text[8] as Variant);
  }
  return out;
}

const originRequests = () => [...a.requests(), ...b.requests()].filter((r) => r.url.startsWith('/live/wm/'));

beforeAll(async () => {
  a = await startFixtureOrigin({ secret: ORIGIN_SECRET });
  b = await startFixtureOrigin({ secret: ORIGIN_SECRET });
  for (const origin of [a, b]) {
    await origin.put('wm/index.m3u8', PLAYLIST);
    for (const seq of SEQS)
      for (const v of ['a', 'b'] as const) await origin.put(`wm/${seq}.${v}.ts`, body(v, seq));
  }
  gw = await testGateway({ ORIGINS: `${a.url},${b.url}`, ORIGIN_SECRET, WATERMARK_SECRET });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([a?.close(), b?.close()]);
});

beforeEach(() => {
  a.clearRequests();
  b.clearRequests();
});

describe('watermarked channel: each viewer gets the variants that spell their account', () => {
  it('serves the variant the account code selects under the name the player asks for, private', async () => {
    // no playlist request first: the gateway learns the channel is watermarked on its own
    expect(await served(gw, 'acct-x')).toEqual(await expectedVariants('acct-x'));
  });

  it('two accounts get different variant sequences, each a mix of A and B', async () => {
    const x = await served(gw, 'acct-x');
    const y = await served(gw, 'acct-y');
    const differing = x.filter((v, i) => v !== y[i]).length;
    expect(differing).toBeGreaterThan(16);
    for (const seq of [x, y]) expect(seq.filter((v) => v === 'a').length).toBeGreaterThan(16);
  });

  it('origins are asked for variant names only, once per variant: other viewers are cache hits', async () => {
    await served(gw, 'acct-z');
    const urls = originRequests().map((r) => r.url);
    expect(urls.every((u) => /^\/live\/wm\/(index\.m3u8|\d+\.[ab]\.ts)$/.test(u))).toBe(true);
    expect(new Set(urls).size).toBe(urls.length);
    const token = await gw.mint({ sub: 'acct-z', sid: 'sid-z2', ch: ['wm'] });
    a.clearRequests();
    for (const seq of SEQS) {
      const res = await gw.get(`/live/wm/${seq}.ts`, { token });
      expect(res.headers.get('x-cache')).toBe('HIT');
      await res.arrayBuffer();
    }
    expect(originRequests()).toEqual([]);
  });

  it('keeps serving variants from B when A dies', async () => {
    await a.kill();
    try {
      expect(await served(gw, 'acct-failover')).toEqual(await expectedVariants('acct-failover'));
      expect(b.requests().some((r) => /\.[ab]\.ts$/.test(r.url))).toBe(true);
    } finally {
      await a.revive();
    }
  });

  it('a player cannot pick a variant: .a.ts and .b.ts are 404 and never forwarded', async () => {
    const token = await gw.mint({ ch: ['wm'] });
    for (const path of ['/live/wm/1000.a.ts', '/live/wm/1000.b.ts']) {
      const res = await gw.get(path, { token });
      expect(res.status).toBe(404);
      expect((await res.json()).error).toBe('not_found');
    }
    expect(originRequests()).toEqual([]);
  });

  it('the playlist keeps listing {seq}.ts (with the token) for every viewer', async () => {
    const token = await gw.mint({ ch: ['wm'] });
    const text = await (await gw.get('/live/wm/index.m3u8', { token, via: 'query' })).text();
    expect(text).toContain(`\n${FIRST}.ts?token=`);
    expect(text).not.toMatch(/\.[ab]\.ts/);
  });
});

describe('how the gateway learns that a channel is watermarked', () => {
  it('from the playlist players load first: no plain segment request ever reaches an origin', async () => {
    const fresh = await testGateway({ ORIGINS: `${a.url},${b.url}`, ORIGIN_SECRET, WATERMARK_SECRET });
    try {
      const token = await fresh.mint({ ch: ['wm'] });
      expect((await fresh.get('/live/wm/index.m3u8', { token })).status).toBe(200);
      for (const seq of SEQS.slice(0, 8))
        expect((await fresh.get(`/live/wm/${seq}.ts`, { token })).status).toBe(200);
      expect(originRequests().filter((r) => /\/\d+\.ts$/.test(r.url))).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('from a 404 when a segment comes first: one plain request, then variants only', async () => {
    const fresh = await testGateway({ ORIGINS: `${a.url},${b.url}`, ORIGIN_SECRET, WATERMARK_SECRET });
    try {
      const token = await fresh.mint({ ch: ['wm'] });
      for (const seq of SEQS.slice(0, 8))
        expect((await fresh.get(`/live/wm/${seq}.ts`, { token })).status).toBe(200);
      const plain = originRequests().filter((r) => /\/\d+\.ts$/.test(r.url));
      expect(plain.map((r) => r.url)).toEqual(expect.arrayContaining([`/live/wm/${FIRST}.ts`]));
      expect(new Set(plain.map((r) => r.url)).size).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('a channel whose mark is switched off is served plain again after one 404', async () => {
    const fresh = await testGateway({ ORIGINS: `${a.url},${b.url}`, ORIGIN_SECRET, WATERMARK_SECRET });
    const seq = FIRST + 63;
    try {
      const token = await fresh.mint({ ch: ['wm'] });
      expect((await fresh.get('/live/wm/index.m3u8', { token })).status).toBe(200);
      for (const origin of [a, b]) {
        await origin.put('wm/index.m3u8', PLAYLIST.replace('#EXT-X-EDGE-WATERMARK:AB\n', ''));
        await origin.put(`wm/${seq}.ts`, `plain ${seq}`);
        for (const v of ['a', 'b']) await origin.remove(`wm/${seq}.${v}.ts`);
      }
      fresh.clock.advance(5_000); // past the playlist cache
      const res = await fresh.get(`/live/wm/${seq}.ts`, { token });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`plain ${seq}`);
      expect(res.headers.get('cache-control')).toMatch(/^public, /);
    } finally {
      await fresh.close();
      for (const origin of [a, b]) {
        await origin.put('wm/index.m3u8', PLAYLIST);
        await origin.remove(`wm/${seq}.ts`);
        for (const v of ['a', 'b'] as const) await origin.put(`wm/${seq}.${v}.ts`, body(v, seq));
      }
    }
  });
});

describe('around watermarking', () => {
  it('an unwatermarked channel is served as before: the plain name, publicly cacheable', async () => {
    const token = await gw.mint({ ch: ['demo'] });
    const res = await gw.get('/live/demo/100.ts', { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^public, /);
    expect(a.count('/live/demo/100.ts') + b.count('/live/demo/100.ts')).toBe(1);
  });

  it('without WATERMARK_SECRET a watermarked channel is refused, never served unmarked', async () => {
    const bare = await testGateway({ ORIGINS: `${a.url},${b.url}`, ORIGIN_SECRET });
    try {
      const token = await bare.mint({ ch: ['wm'] });
      const res = await bare.get('/live/wm/1000.ts', { token });
      expect(res.status).toBe(500);
      expect((await res.json()).error).toBe('internal');
      // the plain name was tried (the origins have no such file) and the playlist read: no variant fetched
      const urls = new Set(originRequests().map((r) => r.url));
      expect(urls).toEqual(new Set(['/live/wm/1000.ts', '/live/wm/index.m3u8']));
    } finally {
      await bare.close();
    }
  });
});
