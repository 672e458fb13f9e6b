/**
 * Request coalescing: while one caller (the leader) fetches an object from an origin, every other caller
 * asking for the same key waits for that one fetch instead of starting its own. Waiting is bounded, so a
 * slow fill never holds a player longer than the bound; after it, the waiter is told to go on its own.
 */
export class Flights<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Starts a flight for `key` unless one is in progress; the returned `land` must be called exactly once. */
  lead(key: string): ((outcome: T) => void) | undefined {
    if (this.inFlight.has(key)) return undefined;
    let land!: (outcome: T) => void;
    const flight = new Promise<T>((resolve) => {
      land = resolve;
    });
    this.inFlight.set(key, flight);
    let landed = false;
    return (outcome) => {
      if (landed) return;
      landed = true;
      if (this.inFlight.get(key) === flight) this.inFlight.delete(key);
      land(outcome);
    };
  }

  /** Waits for the flight of `key`: its outcome, `'timeout'` after `boundMs`, `undefined` if none is flying. */
  join(key: string, boundMs: number): Promise<T | 'timeout'> | undefined {
    const flight = this.inFlight.get(key);
    if (!flight) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), boundMs);
    });
    return Promise.race([flight, bound]).finally(() => clearTimeout(timer));
  }

  get size(): number {
    return this.inFlight.size;
  }
}
