import { describe, expect, it } from 'vitest';
import { channelArgs, type RunSpec, timelineMap } from '../../origin/ffmpeg-args.ts';
import { PROFILES } from '../../origin/profiles.ts';
import { keyframeExpr, PTS_WRAP_ARG } from '../../origin/timeline.ts';

const base: RunSpec = {
  input: 'udp://127.0.0.1:5000',
  profile: PROFILES['sports-1080p']!,
  encoder: 'nvenc',
  nowMs: Date.UTC(2026, 0, 1),
  workDir: '/data/work/sports1',
  runId: 'r3',
};

function argAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('channel ffmpeg command line', () => {
  it("NVENC: the seed's hybrid pipeline with keyframes only on forced boundaries", () => {
    const args = channelArgs(base);
    expect(args.join(' ')).toContain('-hwaccel cuda -hwaccel_output_format cuda');
    expect(argAfter(args, '-vf')).toMatch(
      /^select='gte\(t\+.*',setpts='if\(eq\(N,0\),.*',scale_cuda=1920:1080$/,
    );
    expect(argAfter(args, '-c:v')).toBe('h264_nvenc');
    expect(argAfter(args, '-preset')).toBe('p5');
    expect(argAfter(args, '-b:v')).toBe('6M');
    expect(argAfter(args, '-no-scenecut')).toBe('1');
    expect(argAfter(args, '-forced-idr')).toBe('1');
    expect(argAfter(args, '-force_key_frames')).toBe(`expr:${keyframeExpr(4)}`);
    expect(argAfter(args, '-b:a')).toBe('128k');
    expect(argAfter(args, '-c:a')).toBe('aac');
  });

  it('libx264: same GOP and segment settings, no scene-cut keyframes', () => {
    const args = channelArgs({ ...base, encoder: 'libx264', profile: PROFILES['test-180p']! });
    expect(args).not.toContain('-hwaccel');
    expect(argAfter(args, '-vf')).toMatch(/,scale=320:180$/);
    expect(argAfter(args, '-c:v')).toBe('libx264');
    expect(argAfter(args, '-preset')).toBe('ultrafast');
    expect(argAfter(args, '-sc_threshold')).toBe('0');
    expect(argAfter(args, '-force_key_frames')).toBe(`expr:${keyframeExpr(1)}`);
  });

  it('follows the SPEC §7 alignment recipe on the epoch-locked timeline', () => {
    const args = channelArgs(base);
    expect(argAfter(args, '-itsoffset')).toBe(PTS_WRAP_ARG);
    expect(args.indexOf('-copyts')).toBeLessThan(args.indexOf('-i'));
    expect(argAfter(args, '-af')).toMatch(/^aselect='gte\(t\+/);
    expect(argAfter(args, '-fps_mode')).toBe('passthrough');
    expect(argAfter(args, '-enc_time_base:v')).toBe('1/90000');
    expect(argAfter(args, '-f')).toBe('segment');
    expect(argAfter(args, '-segment_time')).toBe('0.01');
    expect(argAfter(args, '-segment_list_type')).toBe('csv');
    expect(argAfter(args, '-segment_list')).toBe('pipe:3');
    expect(argAfter(args, '-segment_format_options')).toBe('mpegts_copyts=1');
    expect(args.at(-1)).toBe('/data/work/sports1/r3-%06d.ts');
  });

  it('opens only the protocols of the input scheme, and gives UDP inputs a loss timeout', () => {
    const udp = channelArgs(base);
    expect(argAfter(udp, '-protocol_whitelist')).toBe('udp');
    expect(argAfter(udp, '-i')).toBe('udp://127.0.0.1:5000?overrun_nonfatal=1&timeout=10000000');
    const http = channelArgs({ ...base, input: 'https://cdn.example/feed.ts' });
    expect(argAfter(http, '-protocol_whitelist')).toBe('https,http,tcp,tls,crypto');
    expect(argAfter(http, '-i')).toBe('https://cdn.example/feed.ts');
  });

  it('loops a file input in real time and shifts its own timestamps to the spawn time', () => {
    const spec = { ...base, input: 'file:///media/clip%20one.ts' };
    const args = channelArgs(spec);
    expect(args.join(' ')).toContain('-re -stream_loop -1 -copyts -i /media/clip one.ts');
    expect(args).not.toContain('-itsoffset');
    expect(argAfter(args, '-protocol_whitelist')).toBe('file');
    expect(timelineMap(spec)).toEqual({ kind: 'shift', seconds: base.nowMs / 1000 });
    expect(argAfter(args, '-vf')).toContain(`gte(t+${(base.nowMs / 1000).toFixed(3)},`);
    expect(timelineMap(base)).toEqual({ kind: 'epochs', spawnSeconds: base.nowMs / 1000 });
  });
});
