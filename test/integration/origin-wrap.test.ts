/**
 * The 33-bit PTS wrap (SPEC §7). The feed starts 12 s below a wrap (the sender's clock is shifted; the nodes
 * keep theirs). Node A starts before the wrap — inside the last minute, where libavformat counts time
 * backwards from the wrap — and crosses it in one ffmpeg run; node B starts after it. Both apply the same rule:
 * boundaries stay on UTC multiples of D, numbers keep counting up by one, and B names the same media as A.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockOffsetBeforeWrap } from '../../origin/contribution.ts';
import { PTS_WRAP_SECONDS } from '../../origin/timeline.ts';
import { waitFor } from '../helpers/net.ts';
import {
  channelState,
  type Feed,
  fetchPlaylist,
  fetchSegment,
  killOrphans,
  makeDataDir,
  type OriginNode,
  playlistSegments,
  probeSegment,
  removeDataDir,
  type SegmentTiming,
  startFeed,
  startOriginNode,
} from '../helpers/origin.ts';

const CHANNEL = 'wrap';
const BEFORE_WRAP_S = 12;

let feed: Feed;
let a: OriginNode;
let b: OriginNode;
let scratch: string;
/** UTC seconds of the wrap the feed crosses, as the nodes see it */
let wrapUtc: number;
const seen = { a: new Map<number, SegmentTiming>(), b: new Map<number, SegmentTiming>() };
/** PROGRAM-DATE-TIME of every segment A listed, by number */
const pdtA = new Map<number, number>();

async function collect(node: OriginNode, into: Map<number, SegmentTiming>): Promise<void> {
  const text = await fetchPlaylist(node, CHANNEL).catch(() => undefined);
  if (!text) return;
  if (node === a) {
    for (const m of text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)\n#EXTINF:[\d.]+,\n(\d+)\.ts/g)) {
      pdtA.set(Number(m[2]), Date.parse(m[1]!) / 1000);
    }
  }
  for (const s of playlistSegments(text)) {
    if (s.gap || into.has(s.seq)) continue;
    const data = await fetchSegment(node, CHANNEL, s.seq).catch(() => undefined);
    if (data) into.set(s.seq, await probeSegment(data, scratch));
  }
}

function post(node: OriginNode, port: number) {
  return node.api('/v1/channels', {
    method: 'POST',
    body: JSON.stringify({ id: CHANNEL, input: `udp://127.0.0.1:${port}`, profile: 'test-180p' }),
  });
}

beforeAll(async () => {
  scratch = await makeDataDir('origin-wrap-scratch-');
  [a, b] = await Promise.all([startOriginNode({ nodeId: 'wa' }), startOriginNode({ nodeId: 'wb' })]);
  const now = Date.now();
  const offset = clockOffsetBeforeWrap(BEFORE_WRAP_S, now);
  wrapUtc = Math.round((now + offset) / 1000 / PTS_WRAP_SECONDS) * PTS_WRAP_SECONDS;
  feed = await startFeed({ count: 2, clockOffsetMs: offset, nowMs: now });
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), feed?.stop()]);
  for (const node of [a, b]) {
    if (!node) continue;
    await killOrphans(node.dataDir);
    await removeDataDir(node.dataDir);
  }
  await removeDataDir(scratch);
});

describe('PTS wrap', () => {
  it('a run crossing the wrap keeps counting by one; a node started after it agrees', async () => {
    expect((await post(a, feed.ports[0]!)).status).toBe(202);
    const wrapSeq = Math.floor(wrapUtc);

    // B starts once A has published past the wrap
    await waitFor(
      async () => {
        await collect(a, seen.a);
        return [...seen.a.keys()].some((s) => s >= wrapSeq + 2);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'A past the wrap' },
    );
    expect(Math.min(...seen.a.keys())).toBeLessThan(wrapSeq);
    expect((await post(b, feed.ports[1]!)).status).toBe(202);

    await waitFor(
      async () => {
        await collect(a, seen.a);
        await collect(b, seen.b);
        return [...seen.b.keys()].filter((s) => seen.a.has(s)).length >= 4;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'common segments after the wrap' },
    );

    // A: consecutive numbers through the wrap, one second each, PDT continuous
    const numbers = [...seen.a.keys()].sort((x, y) => x - y);
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect(numbers).toContain(wrapSeq);
    for (const seq of numbers) {
      expect(seen.a.get(seq)!.videoFrames).toBe(15);
      expect(pdtA.get(seq)! - seq).toBeGreaterThanOrEqual(0);
      expect(pdtA.get(seq)! - seq).toBeLessThan(1 / 15);
    }
    const view = await channelState(a, CHANNEL);
    expect(view.restarts).toBe(0);

    // B, started after the wrap, names the same media with the same numbers
    const common = [...seen.b.keys()].filter((s) => seen.a.has(s));
    expect(Math.min(...common)).toBeGreaterThan(wrapSeq);
    for (const seq of common) expect({ seq, ...seen.b.get(seq) }).toEqual({ seq, ...seen.a.get(seq) });
    console.log(
      `[measure] PTS wrap: A published ${numbers.length} consecutive segments across it (${numbers.filter((s) => s < wrapSeq).length} before); B agreed on ${common.length}`,
    );
  });
});
