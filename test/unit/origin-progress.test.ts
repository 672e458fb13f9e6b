import { describe, expect, it } from 'vitest';
import { LineSplitter, type Progress, ProgressParser } from '../../origin/progress.ts';

// as ffmpeg 5.1 prints it with -progress pipe:1 (first block before speed is known, then a later one)
const OUTPUT = `frame=0
fps=0.00
stream_0_0_q=0.0
bitrate=N/A
total_size=N/A
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=continue
frame=128
fps=14.93
stream_0_0_q=29.0
bitrate=N/A
total_size=N/A
out_time_us=190833400000
out_time_ms=190833400000
out_time=53:00:33.400000
dup_frames=2
drop_frames=5
speed=0.998x
progress=continue
`;

describe('progress parser', () => {
  it('emits one record per block, with N/A as NaN, whatever the chunking', () => {
    for (const chunk of [OUTPUT.length, 7, 1]) {
      const got: Progress[] = [];
      const p = new ProgressParser((x) => got.push(x));
      for (let i = 0; i < OUTPUT.length; i += chunk) p.push(OUTPUT.slice(i, i + chunk));
      expect(got).toHaveLength(2);
      expect(got[0]!.speed).toBeNaN();
      expect(got[0]!.outTime).toBeNaN();
      expect(got[1]).toEqual({
        frame: 128,
        fps: 14.93,
        speed: 0.998,
        dropFrames: 5,
        dupFrames: 2,
        outTime: 190833.4,
        end: false,
      });
    }
  });

  it('marks the final block', () => {
    const got: Progress[] = [];
    new ProgressParser((x) => got.push(x)).push('frame=3\nprogress=end\n');
    expect(got[0]?.end).toBe(true);
  });
});

describe('line splitter', () => {
  it('yields complete non-empty lines only', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('a.ts,1,2\nb.t');
    s.push('s,2,3\n\n');
    s.push('c.ts,3');
    expect(lines).toEqual(['a.ts,1,2', 'b.ts,2,3']);
  });

  it('discards a runaway line instead of growing without bound', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('x'.repeat(70_000));
    s.push('\nok\n');
    expect(lines).toEqual(['ok']);
  });
});
