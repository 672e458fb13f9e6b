/**
 * Operator API and HLS routes through `app.request()`. The node's start queue is not running here (a node
 * that has not finished booting), so accepted channels stay queued and no ffmpeg is spawned.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOriginApp } from '../../origin/app.ts';
import { ChannelManager } from '../../origin/channels.ts';
import { type OriginConfig, parseOriginConfig } from '../../origin/config.ts';
import type { ProbeResult } from '../../origin/encoder-probe.ts';
import { createOriginMetrics } from '../../origin/metrics.ts';
import { ChannelStore } from '../../origin/store.ts';
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';

const KEY = 'operator-key-0123456789';
const NEXT_KEY = 'operator-key-next-98765';
const SECRET = `v1:${'ab'.repeat(32)}`;
const PROBE: ProbeResult = {
  encoder: 'libx264',
  ffmpegVersion: 'ffmpeg version 5.1',
  nvenc: { usable: false, reason: 'no GPU visible (nvidia-smi not found)' },
  gpuModel: undefined,
};

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'origin-api-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function build(env: Record<string, string> = {}) {
  const config: OriginConfig = parseOriginConfig({
    OPERATOR_API_KEY: `${KEY},${NEXT_KEY}`,
    DATA_DIR: dataDir,
    CHANNEL_KEY_SECRET: SECRET,
    CPU_CAPACITY: '0.125',
    ...env,
  });
  const metrics = createOriginMetrics();
  const manager = new ChannelManager({
    config,
    probe: PROBE,
    device: { kind: 'cpu', cores: config.cpuCapacity },
    store: new ChannelStore(dataDir),
    clock: manualClock(),
    metrics,
    logger: silentLogger,
  });
  const app = createOriginApp({ config, manager, metrics, logger: silentLogger, ready: () => true });
  const call = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? KEY}`);
    if (init.body !== undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return app.request(path, { ...init, headers });
  };
  const post = (body: unknown, init: RequestInit & { key?: string | null } = {}) =>
    call('/v1/channels', {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
  return { app, call, post, manager, metrics };
}

const good = { id: 'news1', input: 'udp://127.0.0.1:5000', profile: 'test-180p' };

async function expectError(res: Response, status: number, code: string, mention?: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(body.error).toBe(code);
  expect(body.requestId).toEqual(expect.any(String));
  if (mention) expect(body.message).toContain(mention);
  return body;
}

async function expectNothingCreated(api: ReturnType<typeof build>) {
  const list = await (await api.call('/v1/channels')).json();
  expect(list.channels).toEqual([]);
  const files = await readdir(dataDir);
  expect(files).not.toContain('channels.json');
  expect(files).not.toContain('live');
}

describe('operator API: refusals change nothing', () => {
  it.each([
    ['unknown profile', { ...good, profile: 'ultra-8k' }, 'profile'],
    ['bad id characters', { ...good, id: 'News 1' }, 'id'],
    ['id too long', { ...good, id: 'a'.repeat(65) }, 'id'],
    ['id with traversal', { ...good, id: '../etc' }, 'id'],
    ['unsupported scheme', { ...good, input: 'gopher://x:70/' }, 'input'],
    ['ffmpeg protocol chain', { ...good, input: 'concat:/etc/passwd|/etc/hosts' }, 'input'],
    ['not a URL', { ...good, input: 'just words' }, 'input'],
    ['file without ALLOW_FILE_INPUT', { ...good, input: 'file:///etc/passwd' }, 'input'],
    ['missing input', { id: 'x', profile: 'test-180p' }, 'input'],
    ['wrong type', { ...good, encrypt: 'yes' }, 'encrypt'],
    ['unknown field', { ...good, bitrate: '9M' }, 'bitrate'],
    ['watermark without WATERMARK_SECRET on the node', { ...good, watermark: true }, 'watermark'],
  ])('%s → 400 naming the field', async (_name, body, field) => {
    const api = build();
    const err = await expectError(await api.post(body), 400, 'bad_request', `${field}:`);
    expect(err.field).toBe(field);
    await expectNothingCreated(api);
  });

  it('malformed JSON, a non-object body and a wrong content type are 400', async () => {
    const api = build();
    await expectError(await api.post('{"id": '), 400, 'bad_request', 'not valid JSON');
    await expectError(await api.post('[1,2]'), 400, 'bad_request', 'body:');
    await expectError(
      await api.post(JSON.stringify(good), { headers: { 'content-type': 'text/plain' } }),
      400,
      'bad_request',
      'content-type',
    );
    await expectNothingCreated(api);
  });

  it('an oversize body is 413', async () => {
    const api = build();
    const body = JSON.stringify({ ...good, input: `udp://127.0.0.1:5000?x=${'a'.repeat(20_000)}` });
    await expectError(await api.post(body), 413, 'payload_too_large');
    await expectNothingCreated(api);
  });

  it('encrypt without CHANNEL_KEY_SECRET on the node is 400', async () => {
    const api = build({ CHANNEL_KEY_SECRET: '' });
    await expectError(await api.post({ ...good, encrypt: true }), 400, 'bad_request', 'CHANNEL_KEY_SECRET');
    await expectNothingCreated(api);
  });

  it('a missing, malformed or wrong API key is 401 on every operator route', async () => {
    const api = build();
    for (const key of [null, 'wrong-key-000000000000', '']) {
      await expectError(await api.post(good, { key }), 401, 'unauthorized');
      await expectError(await api.call('/v1/channels', { key }), 401, 'unauthorized');
      await expectError(await api.call('/v1/capacity', { key }), 401, 'unauthorized');
    }
    const basic = await api.call('/v1/channels', { key: null, headers: { authorization: `Basic ${KEY}` } });
    await expectError(basic, 401, 'unauthorized');
    expect(basic.headers.get('www-authenticate')).toBe('Bearer');
    await expectNothingCreated(api);
  });

  it('file: inputs are refused when the file is unreadable, even with ALLOW_FILE_INPUT=1', async () => {
    const api = build({ ALLOW_FILE_INPUT: '1' });
    const res = await api.post({ ...good, input: `file://${join(dataDir, 'missing.ts')}` });
    await expectError(res, 400, 'bad_request', 'input:');
    await expectNothingCreated(api);
  });
});

describe('operator API: channels', () => {
  it('accepts a channel (queued), persists it, and refuses the same id again with 409', async () => {
    const api = build();
    const res = await api.post({ ...good, encrypt: true });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/v1/channels/news1');
    const view = await res.json();
    expect(view).toMatchObject({
      id: 'news1',
      state: 'queued',
      queuePosition: 1,
      encoder: 'libx264',
      encrypt: true,
      restarts: 0,
      currentSequence: null,
      playlist: '/live/news1/index.m3u8',
    });

    await expectError(await api.post(good), 409, 'conflict', 'news1');
    const stored = JSON.parse(await readFile(join(dataDir, 'channels.json'), 'utf8'));
    expect(stored.channels.map((c: { id: string }) => c.id)).toEqual(['news1']);
    const list = await (await api.call('/v1/channels')).json();
    expect(list.queue).toEqual(['news1']);
  });

  it('the next operator key works during a rotation', async () => {
    const api = build();
    expect((await api.post(good, { key: NEXT_KEY })).status).toBe(202);
  });

  it('refuses a channel past capacity with 409 and the figures', async () => {
    const api = build(); // 0.125 cores, test-180p costs 0.05: two fit
    expect((await api.post({ ...good, id: 'a' })).status).toBe(202);
    expect((await api.post({ ...good, id: 'b' })).status).toBe(202);
    const err = await expectError(await api.post({ ...good, id: 'c' }), 409, 'capacity_exceeded');
    expect(err.capacity).toMatchObject({
      encoder: 'libx264',
      device: { kind: 'cpu', cores: 0.125 },
      used: 0.8,
      requested: 0.4,
      total: 1,
      remainingOfProfile: 0,
      channels: 2,
    });
    const list = await (await api.call('/v1/channels')).json();
    expect(list.channels.map((c: { id: string }) => c.id)).toEqual(['a', 'b']);
    expect(list.queue).toEqual(['a', 'b']);
  });

  it('capacity shows encoder, probe reason, figures and the queue', async () => {
    const api = build();
    await api.post(good);
    const cap = await (await api.call('/v1/capacity')).json();
    expect(cap).toMatchObject({
      encoder: 'libx264',
      nvenc: { usable: false, reason: expect.stringContaining('nvidia-smi') },
      device: { kind: 'cpu', cores: 0.125 },
      used: 0.4,
      free: 0.6,
      channels: 1,
      startQueue: { intervalSeconds: 2, waiting: ['news1'], recentStarts: [] },
      profiles: { 'test-180p': { maxChannels: 2 } },
    });
  });

  it('GET and DELETE of an unknown channel are 404; DELETE removes a channel and its definition', async () => {
    const api = build();
    await expectError(await api.call('/v1/channels/nope'), 404, 'not_found');
    await expectError(await api.call('/v1/channels/nope', { method: 'DELETE' }), 404, 'not_found');
    await api.post(good);
    expect((await api.call('/v1/channels/news1', { method: 'DELETE' })).status).toBe(204);
    await expectError(await api.call('/v1/channels/news1'), 404, 'not_found');
    const stored = JSON.parse(await readFile(join(dataDir, 'channels.json'), 'utf8'));
    expect(stored.channels).toEqual([]);
  });

  it('an unsupported method is 405', async () => {
    const api = build();
    await expectError(
      await api.call('/v1/channels', { method: 'PUT', body: '{}' }),
      405,
      'method_not_allowed',
    );
  });

  it('the input is shown without credentials', async () => {
    const api = build();
    await api.post({ ...good, input: 'srt://user:pw@10.0.0.1:9000?passphrase=hunter2hunter2&latency=200' });
    const view = await (await api.call('/v1/channels/news1')).json();
    expect(view.input).not.toContain('hunter2');
    expect(view.input).not.toContain('pw@');
    expect(view.input).toContain('latency=200');
  });
});

describe('HLS routes', () => {
  async function publishFixture() {
    const dir = join(dataDir, 'live', 'demo');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.m3u8'), '#EXTM3U\n');
    await writeFile(join(dir, '1767225600.ts'), Buffer.alloc(376, 0x47));
    await writeFile(join(dir, '.index.m3u8.tmp'), 'partial');
  }

  it('serves playlists and segments with their content types and cache policy', async () => {
    const api = build();
    await publishFixture();
    const pl = await api.app.request('/live/demo/index.m3u8');
    expect(pl.status).toBe(200);
    expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(pl.headers.get('cache-control')).toBe('max-age=1');
    const seg = await api.app.request('/live/demo/1767225600.ts');
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await seg.arrayBuffer()).byteLength).toBe(376);
    const head = await api.app.request('/live/demo/1767225600.ts', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('376');
  });

  it.each([
    '/live/demo/2.ts',
    '/live/demo/.index.m3u8.tmp',
    '/live/demo/..%2F..%2Fchannels.json',
    '/live/..%2Fdemo/index.m3u8',
    '/live/demo/1767225600.ts.enc',
    '/live/Demo/index.m3u8',
    '/live/demo',
    '/live/demo/sub/index.m3u8',
  ])('%s → 404', async (path) => {
    const api = build();
    await publishFixture();
    await writeFile(join(dataDir, 'channels.json'), '{"channels":[]}');
    await expectError(await api.app.request(path), 404, 'not_found');
  });

  it('with ORIGIN_SECRET, /live/ needs the matching X-Origin-Secret', async () => {
    const api = build({ ORIGIN_SECRET: 'origin-secret-123456' });
    await publishFixture();
    await expectError(await api.app.request('/live/demo/index.m3u8'), 401, 'unauthorized', 'origin secret');
    const wrong = { headers: { 'x-origin-secret': 'origin-secret-12345' } };
    await expectError(await api.app.request('/live/demo/index.m3u8', wrong), 401, 'unauthorized');
    const right = { headers: { 'x-origin-secret': 'origin-secret-123456' } };
    expect((await api.app.request('/live/demo/index.m3u8', right)).status).toBe(200);
  });
});

describe('ops endpoints', () => {
  it('healthz, readyz and metrics (encoder, capacity, queue, HTTP by route)', async () => {
    const api = build();
    expect(await (await api.app.request('/healthz')).json()).toMatchObject({ status: 'ok' });
    expect((await api.app.request('/readyz')).status).toBe(200);
    api.metrics.encoderInfo.set({ encoder: 'libx264', device: 'cpu' }, 1);
    await api.post(good);
    const text = await (await api.app.request('/metrics')).text();
    expect(text).toContain('origin_encoder_info{encoder="libx264",device="cpu"} 1');
    expect(text).toContain('origin_start_queue_length 1');
    expect(text).toContain('origin_capacity_used 0.4');
    expect(text).toContain('origin_channel_state{channel="news1",state="queued"} 1');
    expect(text).toContain('origin_channel_restarts_total{channel="news1",reason="exit"} 0');
    expect(text).toMatch(/origin_http_requests_total\{route="\/v1\/channels",method="POST",status="202"\} 1/);
  });

  it('readyz is 503 while the node is not ready', async () => {
    const config = parseOriginConfig({ OPERATOR_API_KEY: KEY, DATA_DIR: dataDir });
    const metrics = createOriginMetrics();
    const manager = new ChannelManager({
      config,
      probe: PROBE,
      device: { kind: 'cpu', cores: 1 },
      store: new ChannelStore(dataDir),
      clock: manualClock(),
      metrics,
      logger: silentLogger,
    });
    const app = createOriginApp({ config, manager, metrics, logger: silentLogger, ready: () => false });
    await expectError(await app.request('/readyz'), 503, 'not_ready');
  });

  it('an unknown route is a JSON 404', async () => {
    const api = build();
    await expectError(await api.app.request('/nope'), 404, 'not_found');
  });
});
