import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePlaylist,
  isBehind,
  parseMediaSequence,
  playlistPosition,
  rewritePlaylist,
} from '../../src/delivery/playlist.ts';

const TOKEN = 'hdr.claims.sig-_x';
const SAME = ['https://tv.example.com'];
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/hls/rewrite/${name}`, import.meta.url), 'utf8');
const bytes = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/hls/rewrite/${name}`, import.meta.url)));

describe('rewritePlaylist: fixtures', () => {
  it.each(['media', 'master', 'll-hls', 'query', 'crlf-bom'])(
    '%s.m3u8 → %s.expected.m3u8, byte for byte',
    (name) => {
      const input = decodePlaylist(bytes(`${name}.m3u8`));
      expect(input).toBeDefined();
      const out = rewritePlaylist(input as string, TOKEN, { sameOrigins: SAME });
      const expected = bytes(`${name}.expected.m3u8`);
      expect(new TextEncoder().encode(out)).toEqual(expected);
    },
  );

  it.each(['media', 'master', 'll-hls', 'query', 'crlf-bom'])(
    '%s: rewriting twice equals rewriting once',
    (name) => {
      const once = rewritePlaylist(fixture(`${name}.m3u8`), TOKEN, { sameOrigins: SAME });
      expect(rewritePlaylist(once, TOKEN, { sameOrigins: SAME })).toBe(once);
    },
  );

  it('a new token replaces the old one everywhere, never adds a second', () => {
    const once = rewritePlaylist(fixture('master.m3u8'), 'old.token.value', { sameOrigins: SAME });
    const again = rewritePlaylist(once, TOKEN, { sameOrigins: SAME });
    expect(again).toBe(rewritePlaylist(fixture('master.m3u8'), TOKEN, { sameOrigins: SAME }));
    expect(again).not.toContain('old.token.value');
  });

  it('without same origins, no absolute URI gets the token', () => {
    const out = rewritePlaylist(fixture('master.m3u8'), TOKEN);
    expect(out).toContain('\nhttps://tv.example.com/live/demo/360p/index.m3u8\n');
    expect(out).toContain('\n1080p/index.m3u8?token=hdr.claims.sig-_x\n');
  });

  it('leaves every line that is not a URI exactly as it was', () => {
    for (const name of ['media', 'master', 'll-hls', 'query']) {
      const input = fixture(`${name}.m3u8`).split('\n');
      const out = rewritePlaylist(input.join('\n'), TOKEN, { sameOrigins: SAME }).split('\n');
      expect(out).toHaveLength(input.length);
      input.forEach((line, i) => {
        if (!line.includes('URI="') && (line.startsWith('#') || line.trim() === ''))
          expect(out[i]).toBe(line);
      });
    }
  });

  it('percent-encodes a token with characters outside the URI set', () => {
    expect(rewritePlaylist('#EXTM3U\n1.ts\n', 'a b&c=d')).toBe('#EXTM3U\n1.ts?token=a%20b%26c%3Dd\n');
  });

  it('leaves an attribute list it cannot read untouched (no half rewrite); blanks players accept are read', () => {
    const odd = '#EXTM3U\n#EXT-X-KEY: METHOD=AES-128,URI="k.key"\n#EXT-X-MAP:URI="init.mp4\n1.ts\n';
    expect(rewritePlaylist(odd, TOKEN)).toBe(
      '#EXTM3U\n#EXT-X-KEY: METHOD=AES-128,URI="k.key?token=hdr.claims.sig-_x"\n#EXT-X-MAP:URI="init.mp4\n1.ts?token=hdr.claims.sig-_x\n',
    );
  });

  it('never throws and keeps the line count on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (s, t) => {
          const text = `#EXTM3U\n${s}`;
          const out = rewritePlaylist(text, t);
          expect(out.split('\n')).toHaveLength(text.split('\n').length);
          expect(rewritePlaylist(out, t)).toBe(out);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('decodePlaylist: what counts as a playlist', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it('accepts #EXTM3U with or without a BOM, and keeps the BOM', () => {
    expect(decodePlaylist(enc('#EXTM3U\n'))).toBe('#EXTM3U\n');
    expect(decodePlaylist(enc('\uFEFF#EXTM3U\r\n'))).toBe('\uFEFF#EXTM3U\r\n');
  });
  it.each([
    ['empty', new Uint8Array(0)],
    ['no header', enc('1.ts\n2.ts\n')],
    ['an HTML error page', enc('<html><body>502 Bad Gateway</body></html>')],
    ['binary junk', new Uint8Array([0x47, 0x40, 0x00, 0x10, 0xff, 0xfe, 0x00])],
    ['invalid UTF-8 after the header', new Uint8Array([...enc('#EXTM3U\n'), 0xc3, 0x28])],
    ['a NUL inside', enc('#EXTM3U\n1.ts\u0000\n')],
    ['leading whitespace', enc(' #EXTM3U\n')],
  ])('refuses %s', (_name, body) => {
    expect(decodePlaylist(body)).toBeUndefined();
  });
});

describe('playlist position (never serve backwards)', () => {
  it('reads EXT-X-MEDIA-SEQUENCE and counts segments', () => {
    expect(playlistPosition(fixture('media.m3u8'))).toEqual({ mediaSequence: 1764072000, segments: 5 });
    expect(parseMediaSequence(fixture('ll-hls.m3u8'))).toBe(500);
    expect(parseMediaSequence(fixture('crlf-bom.m3u8'))).toBe(3);
  });
  it('a media playlist without the tag starts at 0; a master playlist has no position', () => {
    expect(playlistPosition('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n0.ts\n')).toEqual({
      mediaSequence: 0,
      segments: 1,
    });
    expect(playlistPosition(fixture('master.m3u8'))).toBeUndefined();
    expect(parseMediaSequence(fixture('master.m3u8'))).toBeUndefined();
  });
  it('ignores a malformed sequence value', () => {
    const text = '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:-5\n#EXTINF:4,\n1.ts\n';
    expect(parseMediaSequence(text)).toBe(0);
    expect(parseMediaSequence(text.replace('-5', '1e99'))).toBe(0);
  });
  it('orders positions: an earlier start or an earlier end is behind', () => {
    expect(isBehind({ mediaSequence: 9, segments: 5 }, { mediaSequence: 10, segments: 5 })).toBe(true);
    expect(isBehind({ mediaSequence: 10, segments: 4 }, { mediaSequence: 10, segments: 5 })).toBe(true);
    expect(isBehind({ mediaSequence: 10, segments: 5 }, { mediaSequence: 10, segments: 5 })).toBe(false);
    expect(isBehind({ mediaSequence: 11, segments: 5 }, { mediaSequence: 10, segments: 5 })).toBe(false);
  });
});
