/**
 * Baseline: a bare Hono route on @hono/node-server (the gateway's own stack and Node) that answers
 * `/live/{channel}/{name}` with the object's bytes from memory and no checks at all. The gateway's
 * authenticated, cached answer is measured against this: the ratio is the price of auth + sessions.
 *
 *   PORT=… DATA_DIR=… node bench/subjects/bare-hono.ts
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { loadObjects } from '../lib/data.ts';

const objects = await loadObjects(requiredEnv('DATA_DIR'));
const app = new Hono();
app.get('/healthz', (c) => c.text('ok'));
app.get('/live/:channel/:name', (c) => {
  const bytes = objects.get(c.req.path);
  if (!bytes) return c.notFound();
  return new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: {
      'content-type': c.req.path.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
      'content-length': String(bytes.byteLength),
    },
  });
});

serve({ fetch: app.fetch, port: Number(requiredEnv('PORT')), hostname: '127.0.0.1' });
// exit through Node (not the default signal death) so a --cpu-prof profile gets written
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}
