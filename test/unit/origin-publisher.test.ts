import { createDecipheriv } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Publisher } from '../../origin/publisher.ts';
import { deriveChannelKey, parseChannelKeySecrets, sequenceIv } from '../../src/delivery/keys.ts';

const [SECRET] = parseChannelKeySecrets(
  'v1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'publisher-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function segment(name: string, bytes: Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('publisher', () => {
  it('encrypts with the derived key of the period and the sequence IV (AES-128-CBC, PKCS#7)', async () => {
    const liveDir = join(dir, 'live', 'demo');
    const pub = new Publisher({
      channel: 'demo',
      liveDir,
      segmentSeconds: 1,
      listSize: 3,
      encryption: { secret: SECRET!, keyPeriod: 150 },
    });
    await pub.restore();
    const clear = Buffer.alloc(188 * 7, 0x47);
    await pub.publish({
      seq: 301,
      utcStart: 301.04,
      duration: 1,
      file: await segment('r1-000001.ts', clear),
    });

    const stored = await readFile(join(liveDir, '301.ts'));
    expect(stored.length).toBe(Math.ceil((clear.length + 1) / 16) * 16);
    const key = await deriveChannelKey(SECRET!, 'demo', 2);
    const decipher = createDecipheriv('aes-128-cbc', key, sequenceIv(301));
    expect(Buffer.concat([decipher.update(stored), decipher.final()])).toEqual(clear);
    const playlist = await readFile(join(liveDir, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('URI="key/v1/2.key",IV=0x0000000000000000000000000000012d');
    expect(await readdir(dir)).not.toContain('r1-000001.ts');
  });

  it('moves clear segments, keeps the window plus a margin, and deletes the rest', async () => {
    const liveDir = join(dir, 'live', 'c');
    const pub = new Publisher({ channel: 'c', liveDir, segmentSeconds: 1, listSize: 2 });
    await pub.restore();
    for (let seq = 100; seq < 110; seq++) {
      await pub.publish({
        seq,
        utcStart: seq,
        duration: 1,
        file: await segment(`r1-${seq}.ts`, Buffer.from([seq])),
      });
    }
    const files = (await readdir(liveDir)).sort();
    expect(files).toEqual([
      '103.ts',
      '104.ts',
      '105.ts',
      '106.ts',
      '107.ts',
      '108.ts',
      '109.ts',
      'index.m3u8',
    ]);
    expect(await readFile(join(liveDir, '109.ts'))).toEqual(Buffer.from([109]));
    const playlist = await readFile(join(liveDir, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('#EXT-X-MEDIA-SEQUENCE:108\n');
    expect(pub.lastSequence).toBe(109);
  });

  it('a restarted node continues from its own playlist and never goes back', async () => {
    const liveDir = join(dir, 'live', 'c');
    const first = new Publisher({ channel: 'c', liveDir, segmentSeconds: 1, listSize: 4 });
    await first.restore();
    for (const seq of [200, 201, 202]) {
      await first.publish({
        seq,
        utcStart: seq,
        duration: 1,
        file: await segment(`a${seq}.ts`, Buffer.from('x')),
      });
    }
    await writeFile(join(liveDir, '150.ts'), 'stale');

    const second = new Publisher({ channel: 'c', liveDir, segmentSeconds: 1, listSize: 4 });
    await second.restore();
    expect(second.lastSequence).toBe(202);
    expect(await readdir(liveDir)).not.toContain('150.ts');
    await second.publish({
      seq: 204,
      utcStart: 204,
      duration: 1,
      file: await segment('b204.ts', Buffer.from('y')),
    });
    const playlist = await readFile(join(liveDir, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('#EXT-X-MEDIA-SEQUENCE:201\n');
    expect(playlist).toContain('#EXT-X-GAP\n203.ts');
    expect(playlist).not.toContain('#EXT-X-DISCONTINUITY');
  });
});
