import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { corsFor } from '../../src/delivery/cors.ts';
import { ApiError, errorResponse } from '../../src/errors.ts';

function app(allowed: string[]) {
  const a = new Hono();
  a.onError((err) => errorResponse(err instanceof ApiError ? err : new ApiError('internal'), 'req-1'));
  a.use('/live/*', corsFor(allowed));
  a.get('/live/demo/ok.ts', (c) => c.body('seg', 200, { 'x-request-id': 'req-1' }));
  a.get('/live/demo/denied.ts', () => {
    throw new ApiError('token_missing');
  });
  return a;
}

const preflight = (origin: string) =>
  new Request('http://gw/live/demo/ok.ts', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
  });

describe('corsFor', () => {
  it('answers a preflight from an allowed origin with 204 and the allowed methods and headers', async () => {
    const res = await app(['https://player.example']).request(preflight('https://player.example'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://player.example');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization,Range');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('matches origins exactly: no prefix, suffix or scheme tricks', async () => {
    const a = app(['https://player.example']);
    for (const origin of [
      'https://player.example.evil.test',
      'https://evil-player.example',
      'http://player.example',
      'https://player.example:444',
      'null',
    ]) {
      const res = await a.request(preflight(origin));
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('exposes the headers a player reads, on success and on errors alike', async () => {
    const a = app(['https://player.example']);
    const ok = await a.request('http://gw/live/demo/ok.ts', {
      headers: { origin: 'https://player.example' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://player.example');
    expect(ok.headers.get('access-control-expose-headers')).toBe('Content-Length,Content-Range,X-Request-Id');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('vary')).toContain('Origin');
    const denied = await a.request('http://gw/live/demo/denied.ts', {
      headers: { origin: 'https://player.example' },
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://player.example');
  });

  it('uses * only when configured, and then without credentials', async () => {
    const res = await app(['*']).request(preflight('https://anyone.example'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
