/**
 * Staggered start queue (seed rule: ffmpeg starts 2 s apart, because many NVENC sessions initialised at once
 * deadlock). Every spawn — first start, restart after a crash, re-synchronisation — goes through it, so
 * two spawns are never closer than the interval, however many channels are posted at once.
 */
import type { Clock } from '../src/clock.ts';

export type Schedule = (fn: () => void, ms: number) => { cancel(): void };

export const realSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

interface Item {
  id: string;
  start: () => void;
}

/** How many past releases are kept, so operators can see the spacing. */
const HISTORY = 20;

export class StartQueue {
  private readonly items: Item[] = [];
  private readonly history: { id: string; at: number }[] = [];
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly schedule: Schedule;
  private readonly onChange: (length: number) => void;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private pending: { cancel(): void } | undefined;
  private running = false;

  constructor(opts: {
    intervalMs: number;
    clock: Clock;
    schedule?: Schedule;
    onChange?: (length: number) => void;
  }) {
    this.intervalMs = opts.intervalMs;
    this.clock = opts.clock;
    this.schedule = opts.schedule ?? realSchedule;
    this.onChange = opts.onChange ?? (() => {});
  }

  /** Begins releasing starts (a node that has not finished booting holds its queue). */
  run(): void {
    this.running = true;
    this.pump();
  }

  /** Halts releases (shutdown); queued items stay until removed. */
  halt(): void {
    this.running = false;
    this.pending?.cancel();
    this.pending = undefined;
  }

  /** Adds a start at the back; an id already waiting keeps its place. */
  enqueue(id: string, start: () => void): void {
    if (this.items.some((i) => i.id === id)) return;
    this.items.push({ id, start });
    this.onChange(this.items.length);
    this.pump();
  }

  remove(id: string): void {
    const at = this.items.findIndex((i) => i.id === id);
    if (at < 0) return;
    this.items.splice(at, 1);
    this.onChange(this.items.length);
  }

  /** 1-based place in the queue, or undefined when not waiting. */
  position(id: string): number | undefined {
    const at = this.items.findIndex((i) => i.id === id);
    return at < 0 ? undefined : at + 1;
  }

  get length(): number {
    return this.items.length;
  }

  /** The last releases, oldest first (`at` on the queue's clock). */
  recentStarts(): { id: string; at: number }[] {
    return [...this.history];
  }

  private pump(): void {
    if (!this.running || this.pending || this.items.length === 0) return;
    const wait = this.lastStartAt + this.intervalMs - this.clock.now();
    if (wait > 0) {
      this.pending = this.schedule(() => {
        this.pending = undefined;
        this.pump();
      }, wait);
      return;
    }
    const item = this.items.shift()!;
    this.lastStartAt = this.clock.now();
    this.history.push({ id: item.id, at: this.lastStartAt });
    if (this.history.length > HISTORY) this.history.shift();
    this.onChange(this.items.length);
    item.start();
    this.pump();
  }
}
