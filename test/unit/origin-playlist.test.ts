import { describe, expect, it } from 'vitest';
import {
  breaksTimeline,
  buildWindow,
  type PlaylistEntry,
  parsePlaylist,
  renderPlaylist,
} from '../../origin/playlist.ts';

const entry = (seq: number, extra: Partial<PlaylistEntry> = {}): PlaylistEntry => ({
  seq,
  duration: 1,
  utcStart: seq + 0.0437,
  ...extra,
});

describe('media playlist writer', () => {
  it('writes the clear playlist with MSN, target duration and one PDT per segment', () => {
    const text = renderPlaylist([entry(1767225600), entry(1767225601, { duration: 0.9333 })], 1);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-MEDIA-SEQUENCE:1767225600',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.044Z',
        '#EXTINF:1.000,',
        '1767225600.ts',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:01.044Z',
        '#EXTINF:0.933,',
        '1767225601.ts',
        '',
      ].join('\n'),
    );
  });

  it('gives every encrypted segment its own key line with the explicit IV of its number', () => {
    const key = (period: number) => ({ version: 'v1', period });
    const text = renderPlaylist([entry(299, { key: key(1) }), entry(300, { key: key(2) })], 1);
    expect(text).toContain(
      '#EXT-X-KEY:METHOD=AES-128,URI="key/v1/1.key",IV=0x0000000000000000000000000000012b\n' +
        '#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:04:59.044Z\n#EXTINF:1.000,\n299.ts',
    );
    expect(text).toContain(
      '#EXT-X-KEY:METHOD=AES-128,URI="key/v1/2.key",IV=0x0000000000000000000000000000012c',
    );
  });

  it('raises the target duration to the longest rounded segment, never below D', () => {
    expect(renderPlaylist([entry(1, { duration: 4.6 })], 4)).toContain('#EXT-X-TARGETDURATION:5');
    expect(renderPlaylist([entry(1, { duration: 3.9 })], 4)).toContain('#EXT-X-TARGETDURATION:4');
  });

  it('marks gaps and discontinuities', () => {
    const text = renderPlaylist([entry(1), entry(2, { gap: true }), entry(3, { discontinuity: true })], 1);
    expect(text).toContain('#EXTINF:1.000,\n#EXT-X-GAP\n2.ts');
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME');
  });

  it('refuses an empty window', () => {
    expect(() => renderPlaylist([], 1)).toThrow(/at least one/);
  });
});

describe('window', () => {
  const held = new Map([1, 2, 4, 5, 7].map((s) => [s, entry(s)]));

  it('lists the last N numbers, holes as gaps, and nothing before the oldest held', () => {
    const w = buildWindow(held, 7, 5, 1, () => undefined);
    expect(w.map((e) => [e.seq, Boolean(e.gap)])).toEqual([
      [4, false],
      [5, false],
      [6, true],
      [7, false],
    ]);
    expect(w[2]).toEqual({ seq: 6, duration: 1, utcStart: 6, gap: true });
  });

  it('keeps key lines on gaps, so positions and keys match the node that has the segment', () => {
    const w = buildWindow(held, 7, 5, 1, (s) => ({ version: 'v2', period: Math.floor(s / 3) }));
    expect(w.find((e) => e.seq === 6)?.key).toEqual({ version: 'v2', period: 2 });
  });

  it('two nodes holding the same segments write byte-identical playlists', () => {
    const a = new Map(held);
    const b = new Map([...held].reverse());
    expect(
      renderPlaylist(
        buildWindow(a, 7, 3, 1, () => undefined),
        1,
      ),
    ).toBe(
      renderPlaylist(
        buildWindow(b, 7, 3, 1, () => undefined),
        1,
      ),
    );
  });

  it('detects a timeline break, not a hole of whole segments', () => {
    const prev = entry(10);
    expect(breaksTimeline(undefined, 11, 11.04, 1)).toBe(false);
    expect(breaksTimeline(prev, 11, 11.0437, 1)).toBe(false);
    expect(breaksTimeline(prev, 14, 14.05, 1)).toBe(false);
    expect(breaksTimeline(prev, 12, 11.5, 1)).toBe(true);
  });
});

describe('playlist reader', () => {
  it('reads back what the writer wrote', () => {
    const entries = [
      entry(299, { key: { version: 'v1', period: 1 } }),
      entry(300, { key: { version: 'v1', period: 2 }, gap: true }),
      entry(301, { key: { version: 'v1', period: 2 }, discontinuity: true, duration: 0.8 }),
    ];
    const back = parsePlaylist(renderPlaylist(entries, 1));
    expect(back.map((e) => ({ ...e, utcStart: Math.round(e.utcStart * 1000) }))).toEqual(
      entries.map((e) => ({ ...e, utcStart: Math.round(e.utcStart * 1000) })),
    );
  });

  it('ignores foreign or truncated content', () => {
    expect(parsePlaylist('')).toEqual([]);
    expect(parsePlaylist('#EXTM3U\n#EXTINF:1,\nhttp://x/1.ts\n12.ts\n')).toEqual([]);
  });
});
