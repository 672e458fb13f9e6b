import { describe, expect, it } from 'vitest';
import { type LiveObject, parseLiveObject } from '../../src/delivery/paths.ts';
import { ApiError, type ErrorCode } from '../../src/errors.ts';

function codeOf(channel: string, raw: string): ErrorCode | 'ok' {
  try {
    parseLiveObject(channel, raw);
    return 'ok';
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
}

describe('parseLiveObject: what a player may ask for', () => {
  it.each<[string, Partial<LiveObject>]>([
    ['index.m3u8', { kind: 'playlist', dir: '' }],
    ['master.m3u8', { kind: 'playlist', dir: '' }],
    ['720p/index.m3u8', { kind: 'playlist', dir: '720p' }],
    ['audio/en/index.m3u8', { kind: 'playlist', dir: 'audio/en' }],
    ['100.ts', { kind: 'segment', dir: '', seq: 100 }],
    ['720p/1764072000.ts', { kind: 'segment', dir: '720p', seq: 1764072000 }],
    ['seg_12.m4s', { kind: 'segment', seq: 12 }],
    ['12.3.m4s', { kind: 'segment', seq: 12, part: 3 }],
    ['audio/7.aac', { kind: 'segment', dir: 'audio', seq: 7 }],
    ['subs/7.vtt', { kind: 'segment', seq: 7 }],
    ['init.mp4', { kind: 'init', dir: '' }],
    ['720p/init_0.mp4', { kind: 'init', dir: '720p' }],
    ['key/v1/0.key', { kind: 'key', dir: '', keyVersion: 'v1', keyPeriod: 0 }],
    ['720p/key/v12/345.key', { kind: 'key', dir: '720p', keyVersion: 'v12', keyPeriod: 345 }],
  ])('%s', (raw, expected) => {
    const obj = parseLiveObject('demo', raw);
    expect(obj).toMatchObject({ path: raw, ...expected });
  });
});

describe('parseLiveObject: attacks are refused before anything else happens', () => {
  it.each([
    ['..', 'bad_request'],
    ['../other/index.m3u8', 'bad_request'],
    ['720p/../../etc/passwd', 'bad_request'],
    ['./100.ts', 'bad_request'],
    ['%2e%2e/%2e%2e/etc/passwd', 'bad_request'],
    ['%2E%2E%2Findex.m3u8', 'bad_request'],
    ['%252e%252e/index.m3u8', 'bad_request'],
    ['100%2ets', 'bad_request'],
    ['..\\..\\windows\\win.ini', 'bad_request'],
    ['720p\\index.m3u8', 'bad_request'],
    ['100.ts\u0000.m3u8', 'bad_request'],
    ['/etc/passwd', 'bad_request'],
    ['720p//index.m3u8', 'bad_request'],
    ['index.m3u8/', 'bad_request'],
    ['índex.m3u8', 'bad_request'],
    ['100.ts?token=x', 'bad_request'],
    ['100.ts#x', 'bad_request'],
    [`${'a/'.repeat(600)}1.ts`, 'uri_too_long'],
    [`${'1'.repeat(1025)}.ts`, 'uri_too_long'],
  ] as const)('%j → %s', (raw, code) => {
    expect(codeOf('demo', raw)).toBe(code);
  });

  it.each([
    ['', 'not_found'],
    ['index.html', 'not_found'],
    ['100.a.ts', 'not_found'],
    ['100.b.ts', 'not_found'],
    ['a/b/c/index.m3u8', 'not_found'],
    ['a/b/c/1.ts', 'not_found'],
    ['key/1/0.key', 'not_found'],
    ['key/v1/x.key', 'not_found'],
    ['key/v1/0.pem', 'not_found'],
    ['.hidden.m3u8', 'not_found'],
    [`${'9'.repeat(16)}.ts`, 'not_found'],
  ] as const)('unknown shape %j → %s', (raw, code) => {
    expect(codeOf('demo', raw)).toBe(code);
  });

  it.each(['Demo', '-demo', '_demo', '', 'a'.repeat(65), 'de mo', 'demo%2F..', '..', 'démo'])(
    'bad channel %j → bad_request',
    (channel) => {
      expect(codeOf(channel, 'index.m3u8')).toBe('bad_request');
    },
  );

  it('accepts the longest channel id and object path', () => {
    expect(codeOf('a'.repeat(64), 'index.m3u8')).toBe('ok');
    const long = `${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}.m3u8`;
    expect(codeOf('demo', long)).toBe('ok');
  });
});
