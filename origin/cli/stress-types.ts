/**
 * What the stress test records about each stream, whichever way the streams are started (ffmpeg processes
 * on this host, or channels on a node through its operator API). Times are epoch milliseconds.
 */

/** One reading of a stream, taken once per sampling tick. */
export interface StreamSample {
  at: number;
  /** when ffmpeg reported the frame and media-time figures below (its progress comes every 0.5 s) */
  mediaAt?: number;
  /** frames encoded so far (ffmpeg mode) */
  frame?: number;
  /** fps as ffmpeg or the node reports it (an average since the process started) */
  fps?: number;
  /** seconds of media written so far: its growth against wall time is the real-time speed */
  outTime?: number;
  dropFrames?: number;
  dupFrames?: number;
  /** cores the stream's ffmpeg used since the previous sample */
  cpuCores?: number;
  /** node mode: the channel's state on the node */
  state?: string;
}

export interface StreamState {
  index: number;
  id: string;
  /** when the stagger released it: ffmpeg spawned, or channel posted */
  launchedAt: number | null;
  /** when its encoder process started (ffmpeg mode: the spawn; node mode: the node's own start queue) */
  startedAt: number | null;
  /** first sample with a frame encoded */
  firstFrameAt: number | null;
  /** set when the stream failed: refused, exited on its own, or restarted by the node */
  failure: string | null;
  encoder: string | null;
  pid: number | null;
  samples: StreamSample[];
  segments: number;
  restarts: number;
  /** lines ffmpeg wrote to stderr at log level error (ffmpeg mode) */
  errorLines: number;
  log: string;
}

/** A set of streams started one way. */
export interface Fleet {
  readonly streams: StreamState[];
  /** starts stream `index` now (called by the stagger queue) */
  /** `releasedAt`: when the start queue released the stream (its clock), recorded as the launch time so
   * the report's spacing is the queue's, not that of two separate Date.now() readings */
  launch(index: number, releasedAt: number): void;
  /** appends one sample to every launched stream */
  sample(now: number): Promise<void>;
  /** stops everything this fleet started; resolves when it is gone */
  stopAll(): Promise<void>;
}

export function newStreamState(index: number, id: string, log: string): StreamState {
  return {
    index,
    id,
    launchedAt: null,
    startedAt: null,
    firstFrameAt: null,
    failure: null,
    encoder: null,
    pid: null,
    samples: [],
    segments: 0,
    restarts: 0,
    errorLines: 0,
    log,
  };
}
