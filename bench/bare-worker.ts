/**
 * Baseline Worker for bench/edge.ts: Hono on workerd answering the benchmark segment from memory, no auth.
 * It measures what `wrangler dev --local` itself costs, so the gateway Worker's ratio to it is the cost of
 * the gateway's code on workerd.
 */
import { Hono } from 'hono';
import { benchSegment } from './segment.ts';

let segment: Uint8Array<ArrayBuffer> | undefined;
const app = new Hono<{ Bindings: { BENCH_BYTES: string } }>();
app.get('/live/demo/:name', (c) => {
  segment ??= benchSegment(Number(c.env.BENCH_BYTES));
  return c.body(segment, 200, { 'content-type': 'video/mp2t' });
});

export default app;
