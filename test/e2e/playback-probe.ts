/**
 * What the browser test measures inside the page and how it turns that into the closing note's figures.
 * `installProbe` and `frameStats` run in the page (serialised by playwright), so they use only DOM APIs.
 */
export interface PlaybackProbe {
  /** wall clock, video.currentTime and seconds buffered ahead of it, every `sampleMs` */
  samples: { at: number; t: number; ahead: number }[];
  /** every media fragment hls.js finished loading */
  frags: { at: number; sn: number; loadMs: number }[];
  /** what explains a stall: the media element's waiting/seeking/stalled events and hls.js errors */
  events: { at: number; what: string; t: number; ahead: number }[];
}

declare global {
  interface Window {
    e2eProbe: PlaybackProbe;
  }
}

/** Runs in the page: samples playback progress and records fragment loads. */
export function installProbe(sampleMs: number): void {
  const video = document.querySelector('video') as HTMLVideoElement;
  const probe: PlaybackProbe = { samples: [], frags: [], events: [] };
  window.e2eProbe = probe;
  const aheadNow = () => {
    const b = video.buffered;
    return b.length ? b.end(b.length - 1) - video.currentTime : 0;
  };
  const note = (what: string) =>
    probe.events.push({ at: Date.now(), what, t: video.currentTime, ahead: aheadNow() });
  setInterval(
    () => probe.samples.push({ at: Date.now(), t: video.currentTime, ahead: aheadNow() }),
    sampleMs,
  );
  for (const type of ['waiting', 'seeking', 'stalled']) video.addEventListener(type, () => note(type));
  window.player.hls?.on('hlsError', (_event, data) => note(`hls ${data.details}`));
  window.player.hls?.on('hlsFragLoaded', (_event, data) => {
    const { sn, stats } = data.frag;
    if (typeof sn === 'number')
      probe.frags.push({ at: Date.now(), sn, loadMs: stats.loading.end - stats.loading.start });
  });
}

/** Runs in the page: the current video frame's size and luma spread (0 for a blank frame). */
export function frameStats(): { width: number; height: number; lumaStdDev: number } {
  const video = document.querySelector('video') as HTMLVideoElement;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  g.drawImage(video, 0, 0);
  const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < px.length; i += 4) {
    const y = 0.299 * (px[i] ?? 0) + 0.587 * (px[i + 1] ?? 0) + 0.114 * (px[i + 2] ?? 0);
    sum += y;
    sumSq += y * y;
  }
  const n = px.length / 4 || 1;
  return {
    width: canvas.width,
    height: canvas.height,
    lumaStdDev: Math.sqrt(Math.max(0, sumSq / n - (sum / n) ** 2)),
  };
}

/**
 * The figures for the closing note. Failover gap: the longest interval between two fragment loads that ends
 * within 15 s after the kill (the usual interval is one segment duration; the largest one away from the kill
 * says what is ordinary). Also the slowest fragment load in that window, the least buffer ahead of the
 * playhead there and over the whole run, and frozen playback: the longest span over which currentTime did
 * not move.
 */
export function measure(probe: PlaybackProbe, killedAt: number) {
  const { samples, frags } = probe;
  let longestFrozenMs = 0;
  for (let i = 1, since = samples[0]?.at ?? 0; i < samples.length; i++) {
    const [prev, cur] = [samples[i - 1], samples[i]];
    if (!prev || !cur) continue;
    if (cur.t > prev.t) since = cur.at;
    else longestFrozenMs = Math.max(longestFrozenMs, cur.at - since);
  }
  const intervals = frags.slice(1).map((f, i) => ({ end: f.at, ms: f.at - (frags[i]?.at ?? f.at) }));
  const sorted = intervals.map((x) => x.ms).sort((a, b) => a - b);
  const nearKill = (at: number) => killedAt > 0 && at >= killedAt && at <= killedAt + 15_000;
  return {
    longestFrozenMs,
    playedSeconds: (samples.at(-1)?.t ?? 0) - (samples[0]?.t ?? 0),
    usualFragmentIntervalMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    failoverGapMs: Math.max(0, ...intervals.filter((x) => nearKill(x.end)).map((x) => x.ms)),
    largestGapAwayFromKillMs: Math.max(0, ...intervals.filter((x) => !nearKill(x.end)).map((x) => x.ms)),
    slowestLoadAroundKillMs: Math.round(
      Math.max(0, ...frags.filter((f) => nearKill(f.at)).map((f) => f.loadMs)),
    ),
    minBufferAheadS: Number(Math.min(...samples.map((x) => x.ahead)).toFixed(2)),
    minBufferAheadAroundKillS: Number(
      Math.min(...samples.filter((x) => nearKill(x.at)).map((x) => x.ahead)).toFixed(2),
    ),
  };
}

export function relativeTo<T extends { at: number }>(start: number, items: T[]): T[] {
  return items.map((x) => ({ ...x, at: x.at - start }));
}
