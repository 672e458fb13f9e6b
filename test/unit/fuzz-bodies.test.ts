/**
 * Property tests of the JSON bodies the services accept: the origin's `POST /v1/channels` and the
 * gateway's `POST /v1/tokens` and `POST /dev/token`. Random JSON (and bodies that are not JSON) is refused
 * with a 400 whose message starts with the field at fault (and, on the origin, `details.field`), in the
 * error contract; a refused body starts nothing and writes nothing (the origin's DATA_DIR is unchanged).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelManager } from '../../origin/channels.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { API_KEY, type TestGateway, testGateway } from '../helpers/gateway.ts';
import { contractBreach, rawOf } from '../helpers/hostile.ts';
import { inProcessOrigin } from '../helpers/origin-app.ts';

const RUNS = { numRuns: 300, timeout: 5_000, interruptAfterTimeLimit: 30_000 };

/** A value of any JSON type, or one that fits a field of the contract. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    'news1',
    'a',
    'A',
    '-x',
    'x'.repeat(65),
    'udp://127.0.0.1:5000',
    'file:///etc/passwd',
    'test-180p',
  ),
  fc.constantFrom(
    'srt://h:1?passphrase=secret',
    'http://',
    'rtmp://h/app',
    'gopher://h',
    'udp://',
    ' udp://x',
  ),
  fc.constantFrom('203.0.113.7', '203.0.113.0/24', ['203.0.113.7'], ['demo'], '*', 10, 600, 0, -1, 1.5, true),
);
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'ID', 'id ', '');

function bodyOf(fields: string[]) {
  const record = fc.dictionary(fc.oneof(fc.constantFrom(...fields), hostileKey), anyValue, { maxKeys: 7 });
  return fc.oneof(
    { weight: 6, arbitrary: record.map((r) => JSON.stringify(r)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '{', '{"id":', '[]', 'null', '{"__proto__":{"admin":true}}'),
    },
  );
}

function keysOf(body: string): string[] {
  try {
    const v: unknown = JSON.parse(body);
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** Every file under `dir`, with sizes: what "nothing written" compares. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      out.push(`${p}:${e.isDirectory() ? 'dir' : (await stat(p)).size}`);
    }
  };
  await walk(dir);
  return out.sort();
}

describe('origin: POST /v1/channels bodies', () => {
  let dataDir: string;
  let app: ReturnType<typeof inProcessOrigin>['app'];
  let manager: ChannelManager;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fuzz-bodies-'));
    // the start queue is not running (a node still booting): an accepted channel stays queued, no ffmpeg
    ({ app, manager } = inProcessOrigin({
      OPERATOR_API_KEY: 'operator-key-0123456789',
      DATA_DIR: dataDir,
      CHANNEL_KEY_SECRET: `v1:${'ab'.repeat(32)}`,
      CPU_CAPACITY: '2',
    }));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a refused body is a 400 naming its field, and nothing is created on disk or in the node', async () => {
    const fields = ['id', 'input', 'profile', 'encrypt', 'watermark'];
    await fc.assert(
      fc.asyncProperty(
        bodyOf(fields),
        fc.constantFrom('application/json', 'text/plain', ''),
        async (body, type) => {
          const before = await snapshot(dataDir);
          const channels = manager.list().length;
          const headers: Record<string, string> = { authorization: 'Bearer operator-key-0123456789' };
          if (type) headers['content-type'] = type;
          const res = await rawOf(await app.request('/v1/channels', { method: 'POST', headers, body }));
          expect(contractBreach(res), res.body).toBeUndefined();
          expect([202, 400, 409]).toContain(res.status);
          if (res.status === 202) return;
          if (res.status === 400) {
            const { message, field } = JSON.parse(res.body) as { message: string; field: unknown };
            expect(typeof field, res.body).toBe('string');
            expect(message.startsWith(`${field}: `), res.body).toBe(true);
            // a field of the contract, the body as a whole, or the unknown key the body carried
            expect([...fields, 'body', ...keysOf(body)], res.body).toContain(field);
          }
          expect(await snapshot(dataDir)).toEqual(before);
          expect(manager.list()).toHaveLength(channels);
        },
      ),
      RUNS,
    );
  });
});

describe('gateway: token bodies', () => {
  let origin: FixtureOrigin;
  let gw: TestGateway;

  beforeAll(async () => {
    origin = await startFixtureOrigin();
    gw = await testGateway({ ORIGINS: origin.url, DEV_MODE: '1', RATE_ISSUE_PER_MIN: '1000000000' });
  });
  afterAll(async () => {
    await gw?.close();
    await origin?.close();
  });

  const post = async (path: string, body: string, type: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
    if (type) headers['content-type'] = type;
    const res = await gw.app.request(
      `http://gw.test${path}`,
      { method: 'POST', headers, body },
      { peer: '203.0.113.7' },
    );
    return rawOf(res);
  };

  it.each([
    ['/v1/tokens', ['sub', 'ip', 'channels', 'max', 'ttl']],
    ['/dev/token', ['sub', 'channels', 'ttl']],
  ])('%s: a refused body is a 400 whose message starts with the field at fault', async (path, fields) => {
    await fc.assert(
      fc.asyncProperty(
        bodyOf(fields),
        fc.constantFrom('application/json', 'text/plain', ''),
        async (body, type) => {
          const res = await post(path, body, type);
          expect(contractBreach(res), res.body).toBeUndefined();
          expect([200, 201, 400]).toContain(res.status);
          if (res.status !== 400) return;
          const { message } = JSON.parse(res.body) as { message: string };
          // `channels.0: …`, `body: Unrecognized key…`, `Body is not valid JSON`
          const field =
            /^([A-Za-z_]+)(?:\.\d+)?: /.exec(message)?.[1] ?? (/^Body /.test(message) ? 'body' : undefined);
          expect([...fields, 'body'], message).toContain(field);
        },
      ),
      RUNS,
    );
  });
});
