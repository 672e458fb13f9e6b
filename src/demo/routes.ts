/**
 * Dev-mode routes for the demo player. The runtime entry supplies hls.js (on Node: read from the project's
 * own node_modules, never a CDN), so this file stays runtime-agnostic.
 */
import type { Hono } from 'hono';
import type { AppEnv } from '../http.ts';
import { PLAYER_HTML } from './player.html.ts';

export function demoRoutes(app: Hono<AppEnv>, loadHlsJs: () => Promise<string>): void {
  let hlsJs: Promise<string> | undefined;
  app.get('/demo', (c) =>
    c.html(PLAYER_HTML, 200, {
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'",
    }),
  );
  app.get('/demo/hls.min.js', async (c) => {
    hlsJs ??= loadHlsJs();
    return c.body(await hlsJs, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600',
    });
  });
}
