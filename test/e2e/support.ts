/**
 * Shared by the browser end-to-end suites: Debian's Chromium through playwright-core (never a downloaded
 * browser), ephemeral ports for a whole stack, child output kept quiet unless a test fails, and the shape of
 * the demo page's `window.player`.
 */
import { request } from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import type { StackOptions } from '../../scripts/stack.ts';
import { freePort, freeUdpPort } from '../helpers/net.ts';

/** Flags Chromium needs as root on this machine kind (NOTES.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // a headless page counts as hidden: keep its timers and media pipeline at full speed
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--mute-audio',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Loopback ports nobody else is using, for one stack. */
export async function stackPorts(): Promise<
  Required<Pick<StackOptions, 'gatewayPort' | 'originPorts' | 'udpPorts'>>
> {
  return {
    gatewayPort: await freePort(),
    originPorts: [await freePort(), await freePort()],
    udpPorts: [await freeUdpPort(), await freeUdpPort()],
  };
}

/** Child output kept in memory (bounded) and printed only when something fails. */
export function outputBuffer(limit = 512 * 1024): { log(line: string): void; print(why: string): void } {
  let buf = '';
  return {
    log(line) {
      buf += line;
      if (buf.length > limit) buf = buf.slice(-limit);
    },
    print(why) {
      process.stderr.write(`\n----- stack output (${why}) -----\n${buf}----- end of stack output -----\n`);
    },
  };
}

/** What the demo page exposes on `window.player` (src/demo/player.html.ts). */
export interface DemoPlayer {
  token: string | null;
  expiresAt: number;
  refreshes: number;
  refreshFailures: number;
  stalls: number;
  playing: boolean;
  httpErrors: { status: number; path: string }[];
  fatal: string | null;
  stopped: string | null;
  hls: {
    on<E extends keyof HlsEvents>(event: E, listener: (event: E, data: HlsEvents[E]) => void): void;
  } | null;
}

export interface FragLoadedData {
  frag: { sn: number | 'initSegment'; stats: { loading: { start: number; end: number } } };
}

/** The hls.js events the tests listen to (hls.js event names, payloads reduced to what is read). */
export interface HlsEvents {
  hlsFragLoaded: FragLoadedData;
  hlsError: { details: string; fatal: boolean };
}

declare global {
  interface Window {
    player: DemoPlayer;
  }
}

/** A plain HTTP request from a chosen local address (127.0.0.2 plays "another network" on loopback). */
export function requestFrom(
  url: string,
  localAddress: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
