/**
 * One origin process with real ffmpeg: staggered starts observe START_INTERVAL (read from the node's own
 * recorded start times), a start past capacity is refused with the figures, a `kill -9` of a channel's ffmpeg
 * is restarted and counted, a restarted node brings its channels back, DELETE removes a channel for good.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.ts';
import {
  channelState,
  type Feed,
  fetchPlaylist,
  ffmpegPids,
  type Json,
  killOrphans,
  type OriginNode,
  removeDataDir,
  startFeed,
  startOriginNode,
} from '../helpers/origin.ts';

const IDS = ['s1', 's2', 's3'];

let feed: Feed;
let node: OriginNode;

function post(id: string, port: number) {
  return node.api('/v1/channels', {
    method: 'POST',
    body: JSON.stringify({ id, input: `udp://127.0.0.1:${port}`, profile: 'test-180p' }),
  });
}

async function list(): Promise<Json> {
  return (await node.api('/v1/channels')).json();
}

function allRunning(): Promise<Json[]> {
  return waitFor(
    async () => {
      const { channels } = await list();
      return channels.length === IDS.length && channels.every((c: Json) => c.state === 'running')
        ? channels
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'all channels running' },
  );
}

beforeAll(async () => {
  feed = await startFeed({ count: IDS.length });
  // test-180p costs 0.05 cores: exactly three channels fit in 0.15
  node = await startOriginNode({ nodeId: 'sup', env: { START_INTERVAL: '2', CPU_CAPACITY: '0.15' } });
});

afterAll(async () => {
  await Promise.all([node?.stop(), feed?.stop()]);
  if (node) {
    await killOrphans(node.dataDir);
    await removeDataDir(node.dataDir);
  }
});

describe('origin supervisor', () => {
  it('queues simultaneous starts and releases them START_INTERVAL apart', async () => {
    const views: Json[] = [];
    for (const [i, id] of IDS.entries()) {
      const res = await post(id, feed.ports[i]!);
      expect(res.status).toBe(202);
      views.push(await res.json());
    }
    // the first start is released at once, the others wait their turn
    expect(views[2]).toMatchObject({ id: 's3', state: 'queued', queuePosition: 2 });
    expect((await list()).queue).toEqual(['s2', 's3']);

    await allRunning();
    // the node's own record of its releases (restarts go through the queue too, so all are spaced)
    const { startQueue } = await (await node.api('/v1/capacity')).json();
    const starts: { channel: string; at: string }[] = startQueue.recentStarts;
    expect(starts.slice(0, 3).map((s) => s.channel)).toEqual(IDS);
    for (let i = 1; i < starts.length; i++) {
      expect(Date.parse(starts[i]!.at) - Date.parse(starts[i - 1]!.at)).toBeGreaterThanOrEqual(2000);
    }
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toContain('origin_start_queue_length 0');
    expect(metrics).toContain('origin_encoder_info{encoder="libx264",device="cpu"} 1');
  });

  it('refuses a start past capacity with 409 and the figures, creating nothing', async () => {
    const res = await post('s4', feed.ports[0]!);
    expect(res.status).toBe(409);
    const body = await res.json();
    expect(body).toMatchObject({
      error: 'capacity_exceeded',
      capacity: {
        encoder: 'libx264',
        device: { kind: 'cpu', cores: 0.15 },
        used: 1,
        total: 1,
        remainingOfProfile: 0,
        channels: 3,
      },
    });
    expect(body.capacity.requested).toBeCloseTo(1 / 3, 3);
    expect((await list()).channels.map((c: Json) => c.id)).toEqual(IDS);
    const stored = JSON.parse(await readFile(join(node.dataDir, 'channels.json'), 'utf8'));
    expect(stored.channels.map((c: Json) => c.id)).toEqual(IDS);
  });

  it('restarts a channel whose ffmpeg is killed with -9, and shows it', async () => {
    const before = await channelState(node, 's2');
    expect(before).toMatchObject({ state: 'running', restarts: 0, encoder: 'libx264' });
    expect(before.fps).toEqual(expect.any(Number));
    expect(before.speed).toEqual(expect.any(Number));
    expect(before.dropFrames).toBe(0);
    process.kill(before.pid, 'SIGKILL');

    const after = await waitFor(
      async () => {
        const v = await channelState(node, 's2');
        return v.state === 'running' && v.restarts >= 1 && v.currentSequence > before.currentSequence
          ? v
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 's2 restarted' },
    );
    expect(after.pid).not.toBe(before.pid);
    expect(after.lastError.message).toContain('SIGKILL');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toContain('origin_channel_restarts_total{channel="s2",reason="exit"} 1');
    expect(metrics).toMatch(/origin_channel_fps\{channel="s2"\} \d/);
    expect(metrics).toMatch(/origin_channel_speed\{channel="s2"\} \d/);
    expect(metrics).toMatch(/origin_channel_out_time_seconds\{channel="s2"\} \d/);
    expect(metrics).toContain('origin_channel_dropped_frames_total{channel="s2"} 0');
  });

  it('a feed that stops for a moment and comes back: the run carries on, boundaries hold', async () => {
    const before = await channelState(node, 's1');
    await feed.stop();
    feed = await startFeed({ ports: feed.ports });
    const after = await waitFor(
      async () => {
        const v = await channelState(node, 's1');
        return v.currentSequence > before.currentSequence + 3 ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 's1 publishing again after the feed came back' },
    );
    expect(after).toMatchObject({ state: 'running', restarts: before.restarts, pid: before.pid });
    const playlist = (await fetchPlaylist(node, 's1'))!;
    for (const m of playlist.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)\n#EXTINF:([\d.]+),\n(\d+)\.ts/g)) {
      // each segment starts on its boundary (within a frame), or late in it where the feed resumed, and then
      // it ends on the next boundary (within a frame)
      const start = Date.parse(m[1]!) / 1000 - Number(m[3]);
      const end = start + Number(m[2]) - 1;
      expect(start, playlist).toBeGreaterThanOrEqual(0);
      expect(start < 1 / 15 || (end >= -0.001 && end < 1 / 15), playlist).toBe(true);
    }
  });

  it('a node stopped with SIGTERM stops its ffmpeg; started again it brings its channels back', async () => {
    const sequences = Object.fromEntries((await list()).channels.map((c: Json) => [c.id, c.currentSequence]));
    await node.stop();
    expect(node.proc.child.exitCode).toBe(0);
    expect(await ffmpegPids(node.dataDir)).toEqual([]);

    await node.restart();
    expect((await list()).channels.map((c: Json) => c.id)).toEqual(IDS);
    await waitFor(
      async () => {
        const { channels } = await list();
        return channels.every((c: Json) => c.state === 'running' && c.currentSequence > sequences[c.id]);
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'channels publishing again after the restart' },
    );
  });

  it('DELETE stops a channel, removes its files and its definition', async () => {
    const pid = (await channelState(node, 's3')).pid;
    expect((await node.api('/v1/channels/s3', { method: 'DELETE' })).status).toBe(204);
    expect((await node.api('/v1/channels/s3')).status).toBe(404);
    expect(await fetchPlaylist(node, 's3')).toBeUndefined();
    expect(await ffmpegPids(node.dataDir)).not.toContain(pid);
    const stored = JSON.parse(await readFile(join(node.dataDir, 'channels.json'), 'utf8'));
    expect(stored.channels.map((c: Json) => c.id)).toEqual(['s1', 's2']);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).not.toContain('channel="s3"');
  });
});
