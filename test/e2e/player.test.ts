/**
 * The seed's promises, end to end in Debian's Chromium: the whole stack (`startStack`, as `npm start` runs
 * it, with the channel forensically watermarked) with a 20 s token, the demo page plays for more than three token lifetimes while origin A is
 * SIGKILLed midway — no stall, no fatal error, no 4xx/5xx, silent refreshes; then the same token from another
 * address (403 ip_mismatch), a second device on the same account (the first one is told session_replaced),
 * and ffmpeg as a client decrypting AES-128 through the gateway.
 *
 * Prints one `E2E-RESULT {json}` line with the measured figures (stalls, failover gap, refreshes).
 * `E2E_SCREENSHOT=docs/player.png` saves the mid-playback screenshot where the README expects it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/stack.ts';
import { start } from '../helpers/process.ts';
import { frameStats, installProbe, measure, relativeTo } from './playback-probe.ts';
import { launchChromium, outputBuffer, requestFrom, stackPorts } from './support.ts';

const TOKEN_TTL = 20;
/** more than three token lifetimes, so playback depends on at least two refreshes actually being used */
const PLAY_MS = (3 * TOKEN_TTL + 6) * 1000;
const ACCOUNT = 'e2e-viewer';
const SAMPLE_MS = 250;

describe('the live stack in Chromium', () => {
  const output = outputBuffer();
  let stack: Stack;
  let browser: Browser;
  let viewer: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    try {
      // a watermarked channel: each viewer is served their own A/B variant sequence, which must stay invisible
      stack = await startStack({
        tokenTtl: TOKEN_TTL,
        watermark: true,
        ...(await stackPorts()),
        log: output.log,
      });
      browser = await launchChromium();
    } catch (err) {
      output.print('start-up failed');
      throw err;
    }
  });
  beforeEach(({ onTestFailed }) => onTestFailed(() => output.print('a test failed')));
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('plays through three token lifetimes and an origin kill without a stall', async () => {
    viewer = await browser.newContext({ viewport: { width: 1000, height: 820 } });
    page = await viewer.newPage();
    // script errors and console errors (a CSP violation, a failed load) are all bugs of the page
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    const failedResponses: string[] = [];
    let watermarkedSegments = 0;
    page.on('response', (res) => {
      if (res.status() >= 400) failedResponses.push(`${res.status()} ${new URL(res.url()).pathname}`);
      // a viewer's own variant is private to them (SPEC §6): proof the segments were the watermarked ones
      if (
        /\/live\/[^/]+\/\d+\.ts$/.test(new URL(res.url()).pathname) &&
        /private/.test(res.headers()['cache-control'] ?? '')
      )
        watermarkedSegments++;
    });
    const tokensUsed = new Set<string>();
    page.on('request', (req) => {
      const url = new URL(req.url());
      const token = url.pathname.startsWith('/live/') && url.searchParams.get('token');
      if (token) tokensUsed.add(createHash('sha256').update(token).digest('hex').slice(0, 12));
    });

    await page.goto(`${stack.gatewayUrl}/demo?sub=${ACCOUNT}`);
    await page.waitForFunction(() => window.player.playing, null, { timeout: 60_000 });
    await page.evaluate(installProbe, SAMPLE_MS);

    const started = Date.now();
    let killedAt = 0;
    let screenshotPath = '';
    while (Date.now() - started < PLAY_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      const ended = await page.evaluate(() => window.player.fatal ?? window.player.stopped);
      if (ended) break; // the assertions below say what happened
      const elapsed = Date.now() - started;
      if (!killedAt && elapsed >= PLAY_MS / 2) {
        stack.processes.originA.child.kill('SIGKILL');
        killedAt = Date.now();
      }
      if (!screenshotPath && elapsed >= PLAY_MS * 0.75) screenshotPath = await screenshot(page);
    }

    const player = await page.evaluate(() => {
      const { stalls, refreshes, refreshFailures, httpErrors, fatal, stopped } = window.player;
      return { stalls, refreshes, refreshFailures, httpErrors, fatal, stopped };
    });
    const probe = await page.evaluate(() => window.e2eProbe);
    const frame = await page.evaluate(frameStats);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    const figures = measure(probe, killedAt);
    const result = {
      stalls: player.stalls,
      failoverGapMs: figures.failoverGapMs,
      usualFragmentIntervalMs: figures.usualFragmentIntervalMs,
      largestFragmentGapAwayFromKillMs: figures.largestGapAwayFromKillMs,
      slowestFragmentLoadAroundKillMs: figures.slowestLoadAroundKillMs,
      minBufferAheadAroundKillS: figures.minBufferAheadAroundKillS,
      minBufferAheadS: figures.minBufferAheadS,
      longestFrozenPlaybackMs: figures.longestFrozenMs,
      refreshes: player.refreshes,
      refreshFailures: player.refreshFailures,
      tokensUsed: tokensUsed.size,
      playedSeconds: Number(figures.playedSeconds.toFixed(1)),
      originKilledAfterSeconds: killedAt ? Math.round((killedAt - started) / 1000) : null,
      originFailovers: sumMetric(metrics, 'edge_origin_failovers_total'),
      httpErrors: player.httpErrors.length + failedResponses.length,
      watermarkedSegments,
      screenshot: screenshotPath,
    };
    console.log(`E2E-RESULT ${JSON.stringify(result)}`);
    if (probe.events.length) console.log(`E2E-EVENTS ${JSON.stringify(relativeTo(started, probe.events))}`);

    expect(pageErrors).toEqual([]);
    expect(player.fatal).toBeNull();
    expect(player.stopped).toBeNull();
    expect(killedAt).toBeGreaterThan(0);
    expect(metrics).toMatch(new RegExp(`edge_origin_up\\{origin="${stack.originUrls[0]}"\\} 0`));
    expect(watermarkedSegments).toBeGreaterThan(10);
    expect(player.stalls).toBe(0);
    expect(player.httpErrors).toEqual([]);
    expect(failedResponses).toEqual([]);
    // currentTime never stood still for a second, across the kill, for more than three token lifetimes
    expect(figures.longestFrozenMs).toBeLessThan(1000);
    expect(figures.playedSeconds).toBeGreaterThan(3 * TOKEN_TTL);
    expect(player.refreshes).toBeGreaterThanOrEqual(2);
    // the refreshed tokens were put on the requests, not just fetched
    expect(tokensUsed.size).toBeGreaterThanOrEqual(player.refreshes + 1);
    // a real picture: testsrc2 is colourful, a black or frozen-blank frame has no spread
    expect(frame).toMatchObject({ width: 320, height: 180 });
    expect(frame.lumaStdDev).toBeGreaterThan(20);
  });

  it('refuses the page token from another address: 403 ip_mismatch', async () => {
    const token = await page.evaluate(() => window.player.token);
    expect(token).toBeTruthy();
    const query = `token=${encodeURIComponent(token ?? '')}`;
    for (const attempt of [
      requestFrom(`${stack.gatewayUrl}/live/${stack.channel}/index.m3u8?${query}`, '127.0.0.2'),
      requestFrom(`${stack.gatewayUrl}/v1/tokens/refresh`, '127.0.0.2', 'POST', {
        authorization: `Bearer ${token}`,
      }),
    ]) {
      const res = await attempt;
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({
        error: 'ip_mismatch',
        message: 'Token Leakage Detected - IP Mismatch',
      });
    }
    // the leak attempt did not disturb the rightful viewer
    expect(await page.evaluate(() => window.player.stopped)).toBeNull();
  });

  it('a second device on the same account replaces the first, which says so', async () => {
    const device = await browser.newContext();
    try {
      const second = await device.newPage();
      await second.goto(`${stack.gatewayUrl}/demo?sub=${ACCOUNT}`);
      await second.waitForFunction(() => window.player.playing, null, { timeout: 60_000 });
      await page.waitForFunction(() => window.player.stopped !== null, null, { timeout: 30_000 });
      expect(await page.evaluate(() => window.player.stopped)).toBe('session_replaced');
      const status = page.locator('#status');
      expect(await status.isVisible()).toBe(true);
      expect(await status.textContent()).toBe(
        'This account started playing on another device, so playback stopped here.',
      );
      expect(await status.getAttribute('class')).toBe('error');
      // kick-oldest: the newest device keeps playing
      expect(await second.evaluate(() => window.player.stopped)).toBeNull();
    } finally {
      await device.close();
      await viewer.close();
    }
  });

  it('ffmpeg as a client decrypts the AES-128 stream through the gateway', async () => {
    const issued = await fetch(`${stack.gatewayUrl}/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'ffmpeg-viewer', channels: [stack.channel] }),
    });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    const playlistUrl = `${stack.gatewayUrl}/live/${stack.channel}/index.m3u8?token=${token}`;
    const playlist = await (await fetch(playlistUrl)).text();
    expect(playlist).toMatch(/#EXT-X-KEY:METHOD=AES-128,URI="[^"]*[?&]token=/);

    const ffmpeg = start('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
      ...['-i', playlistUrl, '-t', '20', '-f', 'null', '-progress', 'pipe:1', '-'],
    ]);
    try {
      const [code] = await once(ffmpeg.child, 'exit');
      const out = ffmpeg.output().replace(/token=[^\s"&:]+/g, 'token=…');
      const frames = Number([...out.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1] ?? 0);
      // A wrong key or IV decodes to garbage, which the decoders report as errors. The one error line that
      // is not about decoding: the origins' segments each restart the MPEG-TS continuity counters, which
      // ffmpeg's HLS reader flags at every segment boundary ("corrupt input packet"); the frames are whole.
      const errors = out
        .split('\n')
        .filter((l) => l && !/^\w+=/.test(l) && !/corrupt input packet in stream \d+$/.test(l));
      expect({ code, errors }).toEqual({ code: 0, errors: [] });
      // 20 s at 15 fps, less a second of slack for where the first segment starts
      expect(frames).toBeGreaterThanOrEqual(19 * 15);
    } finally {
      await ffmpeg.stop();
    }
  });
});

async function screenshot(page: Page): Promise<string> {
  const path = process.env.E2E_SCREENSHOT ?? join(tmpdir(), 'edge-gateway-player.png');
  await writeFile(path, await page.screenshot());
  return path;
}

function sumMetric(text: string, name: string): number {
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}
