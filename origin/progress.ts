/**
 * Parser for ffmpeg's `-progress pipe:1` output: blocks of `key=value` lines, each ended by `progress=continue`
 * (or `progress=end` when ffmpeg finishes). Values ffmpeg has not measured yet read `N/A`.
 */
export interface Progress {
  frame: number;
  fps: number;
  /** encoding speed relative to real time (1 = keeping up) */
  speed: number;
  dropFrames: number;
  dupFrames: number;
  /** seconds of output written, on the run's timeline */
  outTime: number;
  end: boolean;
}

function num(v: string | undefined): number {
  if (v === undefined) return Number.NaN;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

export class ProgressParser {
  private fields = new Map<string, string>();
  private readonly onBlock: (p: Progress) => void;
  private readonly lines = new LineSplitter((l) => this.line(l));

  constructor(onBlock: (p: Progress) => void) {
    this.onBlock = onBlock;
  }

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key !== 'progress') {
      this.fields.set(key, value);
      return;
    }
    const f = this.fields;
    const outUs = num(f.get('out_time_us'));
    this.onBlock({
      frame: num(f.get('frame')),
      fps: num(f.get('fps')),
      speed: num(f.get('speed')?.replace(/x$/, '')),
      dropFrames: num(f.get('drop_frames')),
      dupFrames: num(f.get('dup_frames')),
      outTime: outUs / 1e6,
      end: value === 'end',
    });
    this.fields = new Map();
  }
}

/** Splits a stream into complete, non-empty lines; a runaway line without a newline is discarded. */
export class LineSplitter {
  private buffer = '';
  private readonly onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.onLine = onLine;
  }

  push(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
      nl = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > 65_536) this.buffer = '';
  }
}
