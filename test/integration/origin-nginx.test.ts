/**
 * nginx/origin.conf, rendered for a real node's data directory and run by real nginx, serves the same
 * playlist and segment bytes as the Node origin, with the same content types and cache headers, the same
 * X-Origin-Secret check and the same strict names. The channel is a looped file (ALLOW_FILE_INPUT=1).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOriginNginxConf } from '../../origin/nginx-config.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import {
  fetchPlaylist,
  fetchSegment,
  type HlsSource,
  killOrphans,
  makeDataDir,
  type OriginNode,
  playlistSegments,
  removeDataDir,
  startOriginNode,
  waitForSegments,
} from '../helpers/origin.ts';
import { type Proc, start } from '../helpers/process.ts';

const run = promisify(execFile);
const SECRET = 'b1946ac92492d2347c6235b4d2611184';
const CHANNEL = 'clip';

let scratch: string;
let node: OriginNode;
let nginx: Proc;
let viaNode: HlsSource;
let viaNginx: HlsSource;

beforeAll(async () => {
  scratch = await makeDataDir('origin-nginx-');
  const clip = join(scratch, 'clip.ts');
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3', '-c:v', 'libx264'],
    ...['-preset', 'ultrafast', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', clip],
  ]);
  node = await startOriginNode({
    nodeId: 'nx',
    env: { ALLOW_FILE_INPUT: '1', ORIGIN_SECRET: SECRET, START_INTERVAL: '0' },
  });

  const port = await freePort();
  const prefix = join(scratch, 'nginx');
  await mkdir(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    renderOriginNginxConf({ listen: `127.0.0.1:${port}`, root: node.dataDir, originSecret: SECRET }),
  );
  nginx = start('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;']);
  viaNode = { url: node.url, headers: { 'x-origin-secret': SECRET } };
  viaNginx = { url: `http://127.0.0.1:${port}`, headers: { 'x-origin-secret': SECRET } };
  await waitFor(
    async () => {
      if (nginx.exited()) throw new Error(`nginx exited: ${nginx.output()}`);
      return (await fetch(`${viaNginx.url}/`).catch(() => undefined))?.status === 404;
    },
    { timeoutMs: 15_000, what: 'nginx listening' },
  );

  const res = await node.api('/v1/channels', {
    method: 'POST',
    body: JSON.stringify({ id: CHANNEL, input: `file://${clip}`, profile: 'test-180p', encrypt: true }),
  });
  expect(res.status).toBe(202);
  await waitForSegments(viaNode, CHANNEL, 2);
});

afterAll(async () => {
  await Promise.all([nginx?.stop(), node?.stop()]);
  if (node) {
    await killOrphans(node.dataDir);
    await removeDataDir(node.dataDir);
  }
  if (scratch) await removeDataDir(scratch);
});

describe('nginx/origin.conf', () => {
  it('serves the same playlist and segment bytes and headers as the Node origin', async () => {
    const [fromNode, fromNginx] = await waitFor(
      async () => {
        const pair = await Promise.all([fetchPlaylist(viaNode, CHANNEL), fetchPlaylist(viaNginx, CHANNEL)]);
        return pair[0] !== undefined && pair[0] === pair[1] ? pair : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the same playlist from both' },
    );
    expect(fromNginx).toBe(fromNode);
    const newest = playlistSegments(fromNode!).at(-1)!.seq;
    const [a, b] = await Promise.all([
      fetchSegment(viaNode, CHANNEL, newest),
      fetchSegment(viaNginx, CHANNEL, newest),
    ]);
    expect(a?.length).toBeGreaterThan(0);
    expect(b?.equals(a!)).toBe(true);

    for (const path of ['index.m3u8', `${newest}.ts`]) {
      const [rn, rx] = await Promise.all(
        [viaNode, viaNginx].map((s) =>
          fetch(`${s.url}/live/${CHANNEL}/${path}`, { method: 'HEAD', headers: s.headers }),
        ),
      );
      expect(rx!.status).toBe(200);
      expect(rx!.headers.get('content-type')).toBe(rn!.headers.get('content-type'));
      expect(rx!.headers.get('cache-control')).toBe(rn!.headers.get('cache-control'));
    }
  });

  it('refuses a missing or wrong X-Origin-Secret (case-sensitive) like the Node origin', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { 'x-origin-secret': 'nope' },
      { 'x-origin-secret': SECRET.toUpperCase() },
    ];
    for (const headers of attempts) {
      for (const source of [viaNode, viaNginx]) {
        const res = await fetch(`${source.url}/live/${CHANNEL}/index.m3u8`, { headers });
        expect(res.status).toBe(401);
        expect((await res.json()).error).toBe('unauthorized');
      }
    }
  });

  it.each([
    `/live/${CHANNEL}/..%2F..%2Fchannels.json`,
    `/live/${CHANNEL}/.index.m3u8.tmp`,
    `/live/${CHANNEL}/1.ts`,
    '/live/../channels.json',
    '/channels.json',
    `/work/${CHANNEL}/ffmpeg.pid`,
  ])('%s is a JSON 404 on both', async (path) => {
    for (const source of [viaNode, viaNginx]) {
      const res = await fetch(`${source.url}${path}`, { headers: source.headers });
      expect(res.status).toBe(404);
      expect((await res.json()).error).toBe('not_found');
    }
  });
});
