import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBitrate, UsageError } from '../../origin/cli/args.ts';
import { parsePlanArgs } from '../../origin/cli/plan.ts';
import { computePlan, type Plan, packChannels } from '../../origin/cli/plan-model.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function plan(...argv: string[]): Plan {
  const parsed = parsePlanArgs(argv);
  if (parsed === 'help') throw new Error('unexpected help');
  return computePlan(parsed.input);
}

function cli(...argv: string[]) {
  const r = spawnSync(process.execPath, ['origin/cli/plan.ts', ...argv], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('plan: egress (seed: 5,000 viewers × 4 Mbps ≈ 20 Gbps)', () => {
  it('5000 × 4 Mbps is 20 Gbps, 6,570 TB in a 730 h month, 3 ten-gig ports at ≤ 80 %', () => {
    const p = plan('--viewers', '5000', '--bitrate', '4M');
    expect(p.egress.peakGbps).toBeCloseTo(20, 9);
    // 20e9 b/s × 730 × 3600 s / 8 = 6.57e15 B
    expect(p.egress.tbPerMonth).toBeCloseTo(6570, 6);
    expect(p.egress.ports).toBe(3);
    expect(p.encoding).toBeNull();
  });

  it('prices each option: metered per GB, unmetered per port, plus encoding nodes', () => {
    const p = plan(
      ...['--viewers', '5000', '--bitrate', '4M', '--channels', 'sports=30'],
      ...['--price-per-gb', '0.05', '--uplink-price', '1500', '--node-price', '900'],
    );
    const [metered, unmetered] = p.options;
    expect(metered!.egressPerMonth).toBeCloseTo(6_570_000 * 0.05, 6); // 328,500
    expect(unmetered!.egressPerMonth).toBe(3 * 1500);
    expect(metered!.encodingPerMonth).toBe(4 * 900); // 2 L4 per copy × 2 copies, one GPU per node
    expect(unmetered!.totalPerMonth).toBe(4500 + 3600);
  });

  it('an average load below the peak scales the monthly volume, not the ports', () => {
    const p = plan('--viewers', '5000', '--bitrate', '4M', '--average-load', '0.4');
    expect(p.egress.averageGbps).toBeCloseTo(8, 9);
    expect(p.egress.tbPerMonth).toBeCloseTo(2628, 6);
    expect(p.egress.ports).toBe(3);
  });

  it('derives the viewer bitrate from the channel line-up (video + audio, by channel count)', () => {
    const p = plan('--channels', 'sports=10,news=20', '--viewers', '1000');
    expect(p.egress.bitrateFrom).toBe('channel profiles');
    expect(p.egress.bitrateBps).toBeCloseTo((10 * 6_128_000 + 20 * 3_128_000) / 30, 6);
  });
});

describe('plan: encoding on L4 at P5 (24 sports / 32 news; 20 / 27 watermarked)', () => {
  const gpus = (...argv: string[]) => plan(...argv).encoding!;

  it('30 sports channels need ceil(30/24) = 2 GPUs per copy, 4 for active-active', () => {
    expect(gpus('--channels', 'sports=30')).toMatchObject({
      devicesPerCopy: 2,
      copies: 2,
      devicesTotal: 4,
      nodesPerCopy: 2,
      nodesTotal: 4,
    });
    expect(gpus('--channels', 'sports=24').devicesPerCopy).toBe(1);
    expect(gpus('--channels', 'news=32').devicesPerCopy).toBe(1);
    expect(gpus('--channels', 'news=33').devicesPerCopy).toBe(2);
  });

  it('packs GPUs into nodes', () => {
    expect(gpus('--channels', 'sports=30', '--gpus-per-node', '2')).toMatchObject({
      devicesTotal: 4,
      nodesPerCopy: 1,
      nodesTotal: 2,
    });
    expect(gpus('--channels', 'sports=100', '--gpus-per-node', '4')).toMatchObject({
      devicesPerCopy: 5, // ceil(100/24)
      nodesPerCopy: 2,
      nodesTotal: 4,
    });
  });

  it('an embedded watermark costs 15 %: 20 sports / 27 news per GPU', () => {
    expect(gpus('--channels', 'sports=20', '--watermark', 'on').devicesPerCopy).toBe(1);
    expect(gpus('--channels', 'sports=21', '--watermark', 'on').devicesPerCopy).toBe(2);
    expect(gpus('--channels', 'news=27', '--watermark', 'on').devicesPerCopy).toBe(1);
    expect(gpus('--channels', 'news=28', '--watermark', 'on').devicesPerCopy).toBe(2);
    expect(plan('--channels', 'sports=1', '--watermark', 'on').capacity.rows[0]!.perDevice).toBe(20);
  });

  it('A/B variants are two encodes: 12 sports per GPU', () => {
    expect(gpus('--channels', 'sports=12', '--watermark', 'ab').devicesPerCopy).toBe(1);
    expect(gpus('--channels', 'sports=13', '--watermark', 'ab').devicesPerCopy).toBe(2);
  });

  it('mixes profiles by their share of a GPU, never splitting a channel', () => {
    // 12/24 + 16/32 = exactly one GPU
    expect(gpus('--channels', 'sports=12,news=16').devicesPerCopy).toBe(1);
    // 10/24 + 20/32 = 1.04
    expect(gpus('--channels', 'sports=10,news=20').devicesPerCopy).toBe(2);
    // three channels each needing 0.6 of a device fit on no fewer than three devices (sum 1.8 says 2)
    expect(packChannels([0.6, 0.6, 0.6])).toHaveLength(3);
  });

  it('names the source of its figures', () => {
    const p = plan('--channels', 'sports=1');
    expect(p.capacity.device).toBe('NVIDIA L4 (NVENC preset p5)');
    expect(p.capacity.source).toMatch(/IPTV production guide/);
  });

  it('plans CPU nodes from the libx264 figure measured here (test-180p: 0.05 cores)', () => {
    const p = plan('--channels', 'test=40', '--cpu-cores', '2');
    expect(p.capacity.rows[0]).toMatchObject({ profile: 'test-180p', perDevice: 40 });
    expect(p.capacity.source).toMatch(/measured here/);
    expect(p.encoding).toMatchObject({ devicesPerCopy: 1, nodesTotal: 2 });
    expect(plan('--channels', 'test=41', '--cpu-cores', '2').encoding!.devicesPerCopy).toBe(2);
  });
});

describe('plan: input errors name the flag', () => {
  it.each([
    [[], /give --channels, --viewers, or both/],
    [['--viewers', '5000'], /--bitrate: needed/],
    [['--viewers=-5', '--bitrate', '4M'], /--viewers: -5 is outside/],
    [
      ['--viewers', '-5', '--bitrate', '4M'],
      /--viewers: needs a value \(a value starting with "-" is written --viewers=VALUE\)/,
    ],
    [['--viewers', '5k', '--bitrate', '4M'], /--viewers: "5k" is not an integer/],
    [['--viewers', '10', '--bitrate', '4X'], /--bitrate: "4X" is not a bitrate/],
    [['--viewers', '10', '--bitrate', '0'], /--bitrate: "0" is not a bitrate/],
    [['--channels', 'sports'], /--channels: "sports" is not TYPE=COUNT/],
    [['--channels', 'sports=abc'], /--channels: "abc" is not an integer/],
    [['--channels', 'cricket=3'], /--channels: no profile "cricket"/],
    [['--channels', 'sports=1,sports-1080p=2'], /--channels: sports-1080p is given twice/],
    [['--channels', 'sports=1', '--gpu', 'H100'], /--gpu: no capacity figures for "H100"/],
    [['--channels', 'sports=1', '--cpu-cores', '8', '--gpu', 'L4'], /--cpu-cores plans CPU nodes/],
    [['--channels', 'sports=1', '--gpus-per-node', '0'], /--gpus-per-node: 0 is outside/],
    [['--channels', 'sports=1', '--watermark', 'maybe'], /--watermark: "maybe" is not one of/],
    [['--viewers', '1', '--bitrate', '1M', '--average-load', '1.5'], /--average-load: 1.5 is outside/],
    [['--viewers', '1', '--bitrate', '1M', '--price-per-gb=-1'], /--price-per-gb: -1 is outside/],
    [['--viewers', '1', '--bitrate', '1M', '--colour', 'red'], /--colour: unknown flag/],
    [['--viewers'], /--viewers: needs a value/],
    [['stray'], /unexpected argument stray/],
  ])('%j', (argv, message) => {
    expect(() => parsePlanArgs(argv)).toThrow(UsageError);
    expect(() => parsePlanArgs(argv)).toThrow(message);
  });

  it('reads bitrates the way ffmpeg does (decimal SI)', () => {
    expect(parseBitrate('b', '4M')).toBe(4e6);
    expect(parseBitrate('b', '3.5M')).toBe(3.5e6);
    expect(parseBitrate('b', '800k')).toBe(8e5);
    expect(parseBitrate('b', '4000000')).toBe(4e6);
    expect(parseBitrate('b', '4Mbps')).toBe(4e6);
    expect(parseBitrate('b', '1G')).toBe(1e9);
  });
});

describe('plan CLI', () => {
  it('prints the seed figure, and the same plan as JSON with --json', () => {
    const text = cli('--viewers', '5000', '--bitrate', '4M');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('5,000 viewers × 4.000 Mbps (flag) = 20.00 Gbps at peak');
    expect(text.stdout).toContain('6,570 TB/month');
    const json = cli('--viewers', '5000', '--bitrate', '4M', '--channels', 'sports=30', '--json');
    expect(json.code).toBe(0);
    const p = JSON.parse(json.stdout) as Plan;
    expect(p.egress.peakGbps).toBe(20);
    expect(p.encoding).toMatchObject({ devicesPerCopy: 2, devicesTotal: 4 });
  });

  it('exits 2 with the flag named and the usage on bad input', () => {
    const r = cli('--viewers', 'lots');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --viewers: "lots" is not an integer');
    expect(r.stderr).toContain('usage: npm run plan');
    expect(r.stdout).toBe('');
  });

  it('--help prints the usage and exits 0', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: npm run plan');
  });
});
