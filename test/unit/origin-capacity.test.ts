import { describe, expect, it } from 'vitest';
import { admit, channelCost, type Device, maxChannels } from '../../origin/capacity.ts';
import { PROFILES } from '../../origin/profiles.ts';

const L4: Device = { kind: 'gpu', model: 'NVIDIA L4' };
const sports = PROFILES['sports-1080p']!;
const news = PROFILES['news-1080p']!;
const small = PROFILES['test-180p']!;

describe('capacity model', () => {
  it('an L4 at P5 carries 24 sports or 32 news channels', () => {
    expect(maxChannels(L4, sports)).toBe(24);
    expect(maxChannels(L4, news)).toBe(32);
  });

  it('loses 15 % when the watermark is embedded in the encoder (20 / 27)', () => {
    expect(maxChannels(L4, sports, 'embedded')).toBe(20);
    expect(maxChannels(L4, news, 'embedded')).toBe(27);
  });

  it('counts A/B variants encoded twice as two encodes', () => {
    expect(maxChannels(L4, sports, 'ab')).toBe(12);
    expect(maxChannels(L4, news, 'ab')).toBe(16);
    expect(channelCost(L4, news, 'ab')).toBeCloseTo(2 / 32, 12);
  });

  it('mixes profiles on one device by their share of it', () => {
    const used = 12 * channelCost(L4, sports); // half the GPU
    expect(admit(L4, used, news).figures.remainingOfProfile).toBe(16);
    const full = 12 * channelCost(L4, sports) + 16 * channelCost(L4, news);
    expect(full).toBeCloseTo(1, 12);
    expect(admit(L4, full, news).ok).toBe(false);
  });

  it('the CPU device is the configured cores over what one encode takes', () => {
    const cpu: Device = { kind: 'cpu', cores: 0.175 };
    expect(maxChannels(cpu, small)).toBe(3);
    let used = 0;
    for (let i = 0; i < 3; i++) {
      const a = admit(cpu, used, small);
      expect(a.ok).toBe(true);
      used += a.figures.requested!;
    }
    const refused = admit(cpu, used, small);
    expect(refused.ok).toBe(false);
    expect(refused.figures).toMatchObject({
      device: cpu,
      total: 1,
      remainingOfProfile: 0,
      requested: expect.any(Number),
      used: expect.any(Number),
      source: expect.stringContaining('measured'),
    });
  });

  it('admits exactly up to a full device (no rounding refusal at the boundary)', () => {
    const cpu: Device = { kind: 'cpu', cores: 0.15 };
    const cost = channelCost(cpu, small);
    expect(admit(cpu, 2 * cost, small).ok).toBe(true);
    expect(admit(cpu, 3 * cost, small).ok).toBe(false);
  });

  it('refuses a GPU it has no figures for', () => {
    expect(() => maxChannels({ kind: 'gpu', model: 'Tesla K80' }, news)).toThrow(/no capacity figures/);
  });
});
