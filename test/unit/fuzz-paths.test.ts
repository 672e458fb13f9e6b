/**
 * Property tests of `/live/{channel}/{object}` path handling: random Unicode, single and double
 * percent-encoding, dot segments, backslashes, NUL and overlong names. `parseLiveObject` either returns a
 * normalised object that stays inside its channel or refuses with a 4xx; through the real app with a valid
 * token and a recording fixture origin, nothing malformed, outside the channel or carrying the token is
 * ever forwarded.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OBJECT_PATH, parseLiveObject } from '../../src/delivery/paths.ts';
import { ApiError } from '../../src/errors.ts';
import { type FixtureOrigin, startFixtureOrigin } from '../helpers/fixture-origin.ts';
import { type TestGateway, testGateway } from '../helpers/gateway.ts';
import { contractBreach, rawOf } from '../helpers/hostile.ts';

const RUNS = { numRuns: 400, timeout: 5_000, interruptAfterTimeLimit: 30_000 };

const pct = (s: string) =>
  [...new TextEncoder().encode(s)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');

/** Pieces an attacker splices into an object path. */
const piece = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'index.m3u8',
      '100.ts',
      '720p',
      'key',
      'v1',
      '0.key',
      'init.mp4',
      '12.3.m4s',
      'seg_7.ts',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '',
      '%2e%2e',
      '%2E.',
      '.%2e',
      '%252e%252e',
      '%2f',
      '%252f',
      '%5c',
      '\\',
      '\\..',
      '..\\',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '%00',
      '\u0000',
      '%0d%0a',
      '\r\n',
      '?token=x',
      '#frag',
      ';jsessionid=1',
      '%3f',
      '%23',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map(pct) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => pct(pct(s))) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 1500 }).map((n) => 'a'.repeat(n)) },
);
/** Objects the fixture origin holds, and near misses of them that a URL parser normalises or not. */
const servedObject = fc.constantFrom(
  'index.m3u8',
  '100.ts',
  '104.ts',
  'key/v1/10.key',
  './100.ts',
  'x/../101.ts',
  '%31%30%30.ts',
  '100.ts?x=1',
  '100.ts#f',
  '102.ts%00',
  '103.ts/',
);
const objectPath = fc.oneof(
  { weight: 3, arbitrary: fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')) },
  { weight: 1, arbitrary: servedObject },
  { weight: 1, arbitrary: fc.tuple(piece, servedObject).map(([p, o]) => `${p}/${o}`) },
);
const channel = fc.oneof(
  { weight: 4, arbitrary: fc.constant('demo') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Demo',
      'demo%2f..',
      '..',
      '%64emo',
      'demo\u0000',
      'de mo',
      '-demo',
      'a'.repeat(65),
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

describe('parseLiveObject', () => {
  it('returns an in-channel object whose path is made of plain segments, or refuses with a 4xx', () => {
    fc.assert(
      fc.property(channel, objectPath, (ch, raw) => {
        let obj: ReturnType<typeof parseLiveObject>;
        try {
          obj = parseLiveObject(ch, raw);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect([400, 404, 414]).toContain((err as ApiError).status);
          return;
        }
        expect(obj.path).toBe(raw);
        expect(obj.path.length).toBeLessThanOrEqual(MAX_OBJECT_PATH);
        for (const seg of obj.path.split('/')) {
          expect(seg).toMatch(/^[A-Za-z0-9._-]+$/);
          expect(['.', '..']).not.toContain(seg);
        }
        // resolving the forwarded path leaves it where it is: inside /live/{channel}/
        const prefix = `/live/${ch}/`;
        expect(new URL(`${prefix}${obj.path}`, 'http://origin.test').pathname).toBe(`${prefix}${obj.path}`);
      }),
      RUNS,
    );
  });
});

describe('through the app, with a valid token', () => {
  let origin: FixtureOrigin;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    origin = await startFixtureOrigin();
    gw = await testGateway({
      ORIGINS: origin.url,
      CHANNEL_KEY_SECRET: `v1:${'0f'.repeat(32)}`,
      RATE_AUTH_FAIL_PER_MIN: '1000000000',
    });
    token = await gw.mint({ ch: '*' });
  });
  afterAll(async () => {
    await gw?.close();
    await origin?.close();
  });
  beforeEach(() => origin.clearRequests());

  it('answers a success or a 4xx of the table, and forwards only well-formed in-channel paths', async () => {
    const seen = { served: 0, forwarded: 0 };
    await fc.assert(
      fc.asyncProperty(
        channel,
        objectPath,
        fc.constantFrom('header' as const, 'query' as const),
        async (ch, raw, via) => {
          origin.clearRequests();
          let url: URL;
          try {
            url = new URL(`http://gw.test/live/${ch}/${raw}`);
          } catch {
            return; // not even a URL: no client can send it
          }
          const res = await gw.get(url.pathname + url.search, { token, via });
          const answer = await rawOf(res);
          expect(contractBreach(answer), answer.body).toBeUndefined();
          expect(answer.status === 200 || (answer.status >= 400 && answer.status < 500), answer.body).toBe(
            true,
          );
          if (answer.status === 200) seen.served++;
          for (const r of origin.requests()) {
            if (r.url === '/healthz') continue;
            seen.forwarded++;
            const m = /^\/live\/([a-z0-9][a-z0-9_-]{0,63})\/([A-Za-z0-9._/-]+)$/.exec(r.url);
            expect(m, r.url).not.toBeNull();
            const forwarded = parseLiveObject(m![1]!, m![2]!);
            // the object asked for, or its rendition's playlist: a key (never forwarded) reads the live edge
            // there, a segment the origins do not have reads the watermark flag there (watermark-select.ts)
            // the URL parser may have resolved dot segments into another channel: what the app saw is the path
            const [, askedChannel = '', askedObject = ''] =
              /^\/live\/([^/]*)\/(.*)$/.exec(url.pathname) ?? [];
            const asked = parseLiveObject(askedChannel, askedObject);
            const playlist = `/live/${askedChannel}/${asked.dir ? `${asked.dir}/` : ''}index.m3u8`;
            const allowed =
              asked.kind === 'key'
                ? [playlist]
                : asked.kind === 'segment'
                  ? [url.pathname, playlist]
                  : [url.pathname];
            expect(allowed).toContain(`/live/${m![1]}/${forwarded.path}`);
            expect(r.url).not.toContain(token);
            expect(JSON.stringify(r.headers)).not.toContain(token.split('.')[2]);
          }
        },
      ),
      RUNS,
    );
    // the generator reaches the origin (later hits come from the cache), not only the refusals
    expect(seen.served).toBeGreaterThan(0);
    expect(seen.forwarded).toBeGreaterThan(0);
  });
});
