import { describe, expect, it } from 'vitest';
import { type Schedule, StartQueue } from '../../origin/start-queue.ts';
import { manualClock } from '../../src/clock.ts';

/** A scheduler driven by the manual clock: `advance` runs what fell due. */
function manualScheduler(clock: ReturnType<typeof manualClock>) {
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const t = { at: clock.now() + ms, fn, cancelled: false };
    timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  };
  const advance = (ms: number) => {
    const end = clock.now() + ms;
    for (;;) {
      const due = timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      clock.set(due.at);
      due.fn();
    }
    clock.set(end);
  };
  return { schedule, advance };
}

describe('staggered start queue', () => {
  it('releases one start per interval, in order, and shows positions meanwhile', () => {
    const clock = manualClock(0);
    const { schedule, advance } = manualScheduler(clock);
    const started: [string, number][] = [];
    const lengths: number[] = [];
    const q = new StartQueue({ intervalMs: 2000, clock, schedule, onChange: (n) => lengths.push(n) });
    q.run();
    for (const id of ['a', 'b', 'c']) q.enqueue(id, () => started.push([id, clock.now()]));
    expect(started).toEqual([['a', 0]]);
    expect([q.position('b'), q.position('c'), q.position('a')]).toEqual([1, 2, undefined]);
    advance(1999);
    expect(started).toHaveLength(1);
    advance(1);
    advance(10_000);
    expect(started).toEqual([
      ['a', 0],
      ['b', 2000],
      ['c', 4000],
    ]);
    expect(q.length).toBe(0);
    expect(lengths.at(-1)).toBe(0);
    expect(q.recentStarts()).toEqual([
      { id: 'a', at: 0 },
      { id: 'b', at: 2000 },
      { id: 'c', at: 4000 },
    ]);
  });

  it('spaces a later start from the previous one, not from when it was queued', () => {
    const clock = manualClock(0);
    const { schedule, advance } = manualScheduler(clock);
    const started: number[] = [];
    const q = new StartQueue({ intervalMs: 2000, clock, schedule });
    q.run();
    q.enqueue('a', () => started.push(clock.now()));
    advance(500);
    q.enqueue('b', () => started.push(clock.now()));
    advance(5000);
    q.enqueue('c', () => started.push(clock.now()));
    expect(started).toEqual([0, 2000, 5500]);
  });

  it('holds starts until run(), drops removed ids and ignores a duplicate', () => {
    const clock = manualClock(0);
    const { schedule, advance } = manualScheduler(clock);
    const started: string[] = [];
    const q = new StartQueue({ intervalMs: 1000, clock, schedule });
    q.enqueue('a', () => started.push('a'));
    q.enqueue('a', () => started.push('a-again'));
    q.enqueue('b', () => started.push('b'));
    q.enqueue('c', () => started.push('c'));
    q.remove('b');
    advance(5000);
    expect(started).toEqual([]);
    q.run();
    advance(5000);
    expect(started).toEqual(['a', 'c']);
  });

  it('halt stops releasing', () => {
    const clock = manualClock(0);
    const { schedule, advance } = manualScheduler(clock);
    const started: string[] = [];
    const q = new StartQueue({ intervalMs: 1000, clock, schedule });
    q.run();
    q.enqueue('a', () => started.push('a'));
    q.enqueue('b', () => started.push('b'));
    q.halt();
    advance(5000);
    expect(started).toEqual(['a']);
    expect(q.position('b')).toBe(1);
  });
});
