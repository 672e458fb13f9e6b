/**
 * Property tests of playlist rewriting (SPEC §6) on generated playlists: every tag kind that carries a URI,
 * segment and variant lines, comments and unknown tags, odd whitespace, LF or CRLF per line, a BOM, with or
 * without `#EXTM3U`, relative and absolute URIs with queries (a `token` parameter already there included)
 * and fragments. The generator knows where each URI sits, so the oracle checks:
 * - every line that holds no URI comes out byte for byte;
 * - a line with a URI is unchanged around it, and the URI is the original one with exactly one `token`
 *   parameter (as a player's URL parser reads it) equal to the token, other parameters and the fragment
 *   kept; a foreign absolute URI is left alone;
 * - rewriting twice gives what rewriting once gave;
 * and on arbitrary text, that nothing throws and rewriting stays idempotent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rewritePlaylist } from '../../src/delivery/playlist.ts';

const RUNS = { numRuns: 400 };
const BASE = 'https://gw.example/live/demo/720p/index.m3u8';
const SAME = 'https://gw.example';

/** One playlist line: literal text around at most one URI, and whether the URI must get the token. */
interface Line {
  before: string;
  uri?: { text: string; carries: boolean };
  after: string;
  eol: '\n' | '\r\n';
}

const word = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'),
  minLength: 1,
  maxLength: 8,
});
const paramName = fc.oneof(
  word,
  fc.constantFrom(
    'token',
    'Token',
    'TOKEN',
    'tok',
    'token_',
    '_token',
    'x-token',
    '%74oken',
    'tok%65n',
    'token%5B%5D',
  ),
);
const paramValue = fc.oneof(word, fc.constantFrom('', 'a=b', '%20', 'old.jwt.value', '1%262'));
const query = fc
  .array(
    fc.oneof(
      fc.tuple(paramName, paramValue).map(([n, v]) => `${n}=${v}`),
      paramName, // a bare name
    ),
    { maxLength: 4 },
  )
  .map((ps) => (ps.length ? `?${ps.join('&')}` : ''));
const fragment = fc.oneof(
  fc.constant(''),
  word.map((w) => `#${w}`),
  fc.constant('#t=10?x=1'),
);
const relativePath = fc.oneof(
  fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => `${ws.join('/')}.ts`),
  fc.constantFrom('../audio/index.m3u8', '/live/demo/1.ts', 'key/v1/7.key', 'init.mp4', '12.3.m4s', './x.ts'),
);
const relative = fc
  .tuple(relativePath, query, fragment)
  .map(([p, q, f]) => ({ text: p + q + f, carries: true }));
const absolute = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('https://cdn.example/', '//cdn.example/', 'http://other.test:8080/'),
      relativePath,
      query,
    )
    .map(([o, p, q]) => ({ text: o + p + q, carries: false })),
  fc
    .constantFrom('skd://key-id', 'data:text/plain;base64,QUJD', 'urn:uuid:1234')
    .map((t) => ({ text: t, carries: false })),
  fc.tuple(relativePath, query).map(([p, q]) => ({ text: `${SAME}/live/demo/${p}${q}`, carries: true })),
);
const uri = fc.oneof({ weight: 4, arbitrary: relative }, { weight: 1, arbitrary: absolute });

/** An attribute list with the URI attribute somewhere among others. */
function uriTag(tag: string, attr: string, others: string[]) {
  // players read `A=1, URI="x"` (hls.js trims attribute names), so the rewriter must too
  const comma = fc.constantFrom(',', ',', ', ', ',\t');
  return fc
    .tuple(uri, fc.subarray(others), fc.nat({ max: others.length }), comma)
    .map(([u, rest, at, sep]) => {
      const attrs = [...rest];
      const i = Math.min(at, attrs.length);
      const before = `#${tag}:${[...attrs.slice(0, i), `${attr}="`].join(sep)}`;
      const after = `"${attrs
        .slice(i)
        .map((a) => `${sep}${a}`)
        .join('')}`;
      return { before, uri: u, after };
    });
}

const taggedUri = fc.oneof(
  uriTag('EXT-X-KEY', 'URI', [
    'METHOD=AES-128',
    'IV=0x00000000000000000000000000000007',
    'KEYFORMAT="identity"',
  ]),
  uriTag('EXT-X-SESSION-KEY', 'URI', ['METHOD=SAMPLE-AES', 'KEYFORMATVERSIONS="1"']),
  uriTag('EXT-X-MAP', 'URI', ['BYTERANGE="720@0"']),
  uriTag('EXT-X-MEDIA', 'URI', ['TYPE=AUDIO', 'GROUP-ID="aud"', 'NAME="English, main"', 'DEFAULT=YES']),
  uriTag('EXT-X-I-FRAME-STREAM-INF', 'URI', ['BANDWIDTH=86000', 'CODECS="avc1.4d001f"']),
  uriTag('EXT-X-PART', 'URI', ['DURATION=0.333', 'INDEPENDENT=YES', 'BYTERANGE=5000@0']),
  uriTag('EXT-X-PRELOAD-HINT', 'URI', ['TYPE=PART', 'BYTERANGE-START=0']),
  uriTag('EXT-X-RENDITION-REPORT', 'URI', ['LAST-MSN=100', 'LAST-PART=2']),
  uriTag('EXT-X-SESSION-DATA', 'URI', ['DATA-ID="com.example.title"', 'LANGUAGE="en"']),
  uriTag('EXT-X-CONTENT-STEERING', 'SERVER-URI', ['PATHWAY-ID="CDN-A"']),
);
const lead = fc.constantFrom('', ' ', '\t', '  ');
const trail = fc.constantFrom('', ' ', '\t');
const uriLine = fc.tuple(lead, uri, trail).map(([l, u, t]) => ({ before: l, uri: u, after: t }));
const plainLine = fc
  .oneof(
    fc.constantFrom(
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:1764072000',
      '#EXTINF:4.000,',
      '#EXTINF:4.000,title, with "quotes" and URI="x.ts"',
      '#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:00.000Z',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aud"',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-ENDLIST',
      '#EXT-X-GAP',
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0',
      '#EXT-X-DATERANGE:ID="ad",START-DATE="2026-11-25T12:00:00Z",X-URI="https://ads.example/x"',
      '#EXT-X-UNKNOWN-TAG:URI="keep-me.ts"',
      '# a comment with URI="not-a-uri.ts"',
      '#',
      '',
      '   ',
    ),
    word.map((w) => `#EXT-X-${w.toUpperCase()}:${w}`),
  )
  .map((text) => ({ before: text, after: '' }));

const playlist = fc
  .record({
    bom: fc.boolean(),
    header: fc.constantFrom('#EXTM3U', '#EXTM3U', ''),
    lines: fc.array(
      fc.tuple(fc.oneof(plainLine, uriLine, taggedUri), fc.constantFrom('\n' as const, '\r\n' as const)),
      { maxLength: 25 },
    ),
    finalEol: fc.boolean(),
  })
  .map(({ bom, header, lines, finalEol }) => {
    const all: Line[] = [
      { before: (bom ? '\uFEFF' : '') + header, after: '', eol: '\n' },
      ...lines.map(([l, eol]) => ({ ...l, eol })),
    ];
    if (!finalEol) (all[all.length - 1] as Line).eol = '\n';
    return all;
  });

const token = fc.oneof(
  fc.constant('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_x'),
  fc.string({ unit: fc.constantFrom(...'ABCxyz019-_.+/= %&#?'), minLength: 1, maxLength: 40 }),
);

const join = (lines: Line[], uriText: (l: Line) => string) =>
  lines.map((l) => `${l.before}${l.uri ? uriText(l) : ''}${l.after}${l.eol}`).join('');

/** The query parameters of `uri` in order, minus any a URL parser names `token` (as the rewriter keeps them). */
function withoutToken(uri: string): { path: string; params: string[]; fragment: string } {
  const hash = uri.indexOf('#');
  const fragment = hash < 0 ? '' : uri.slice(hash);
  const rest = hash < 0 ? uri : uri.slice(0, hash);
  const q = rest.indexOf('?');
  const params =
    q < 0
      ? []
      : rest
          .slice(q + 1)
          .split('&')
          .filter((p) => p !== '' || rest.slice(q + 1) === '');
  return {
    path: q < 0 ? rest : rest.slice(0, q),
    // a parameter a URL parser reads as `token` (`tok%65n=` included) is the rewriter's to replace
    params: params.filter((p) => p !== '' && [...new URLSearchParams(p).keys()][0] !== 'token'),
    fragment,
  };
}

describe('rewritePlaylist on generated playlists', () => {
  it('changes only URIs, gives each URI that should carry it exactly one token, and is idempotent', () => {
    fc.assert(
      fc.property(playlist, token, (lines, t) => {
        const text = join(lines, (l) => l.uri!.text);
        const out = rewritePlaylist(text, t, { sameOrigins: [SAME] });
        expect(rewritePlaylist(out, t, { sameOrigins: [SAME] })).toBe(out);

        // walk the output with the generator's knowledge of where each line's URI sits
        let rest = out;
        for (const l of lines) {
          const end = rest.indexOf(l.eol === '\r\n' ? '\r\n' : '\n');
          const line = end < 0 ? rest : rest.slice(0, end);
          rest = end < 0 ? '' : rest.slice(end + l.eol.length);
          if (!l.uri) {
            expect(line).toBe(l.before + l.after);
            continue;
          }
          expect(line.startsWith(l.before) && line.endsWith(l.after), line).toBe(true);
          const got = line.slice(l.before.length, line.length - l.after.length);
          if (!l.uri.carries) {
            expect(got).toBe(l.uri.text);
            continue;
          }
          expect(new URL(got, BASE).searchParams.getAll('token'), got).toEqual([t]);
          const was = withoutToken(l.uri.text);
          const now = withoutToken(got);
          expect(now, got).toEqual(was);
        }
        expect(rest).toBe('');
      }),
      RUNS,
    );
  });
});

describe('rewritePlaylist on arbitrary text', () => {
  it('never throws, keeps the line count and is idempotent', () => {
    const junkLine = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc
        .tuple(
          fc.constantFrom('#EXT-X-KEY:', '#EXT-X-MAP:', '#EXT-X-PART:', '#EXT-X-MEDIA:'),
          fc.string({ maxLength: 60 }),
        )
        .map(([tag, attrs]) => tag + attrs),
    );
    fc.assert(
      fc.property(
        fc.array(junkLine, { maxLength: 20 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        token,
        (ls, eol, t) => {
          const text = ls.join(eol);
          const out = rewritePlaylist(text, t, { sameOrigins: [SAME, 'not a url'] });
          expect(out.split('\n')).toHaveLength(text.split('\n').length);
          expect(rewritePlaylist(out, t, { sameOrigins: [SAME, 'not a url'] })).toBe(out);
        },
      ),
      RUNS,
    );
  });
});

describe('regressions found by these properties', () => {
  it('a URI attribute after ", " (a space after the comma, which hls.js reads) gets the token', () => {
    const out = rewritePlaylist('#EXTM3U\n#EXT-X-KEY:METHOD=AES-128, URI="k.key", IV=0x01\n', 'T');
    expect(out).toBe('#EXTM3U\n#EXT-X-KEY:METHOD=AES-128, URI="k.key?token=T", IV=0x01\n');
  });

  it('a query parameter that decodes to `token` is replaced, so a player never sends two tokens', () => {
    expect(rewritePlaylist('#EXTM3U\n1.ts?tok%65n=old&a=1\n', 'T')).toBe('#EXTM3U\n1.ts?token=T&a=1\n');
  });
});
