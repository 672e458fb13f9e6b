/**
 * How the session guard talks to its store: every call is bounded by a timeout (a hung store must not hang
 * requests), counted and timed, and failures are logged at most once per interval with how many were
 * suppressed, plus one line when the store answers again.
 */
import type { Clock } from '../clock.ts';
import { errorFields, type Logger } from '../log.ts';
import type { SessionMetrics, StoreOp } from './guard-metrics.ts';

export class StoreTimeoutError extends Error {
  constructor(op: StoreOp, ms: number) {
    super(`session store ${op} did not answer within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

export interface StoreCallOptions {
  timeoutMs: number;
  metrics: SessionMetrics;
  logger: Logger;
  clock: Clock;
  /** logged with failures so an operator reads what the outage does to players */
  policy: 'open' | 'closed';
  logIntervalMs: number;
}

export class StoreCalls {
  readonly #o: StoreCallOptions;
  #down = false;
  #lastLog = -Infinity;
  #suppressed = 0;

  constructor(o: StoreCallOptions) {
    this.#o = o;
  }

  async run<T>(op: StoreOp, fn: () => Promise<T>): Promise<T> {
    const { metrics, timeoutMs } = this.#o;
    metrics.commands.inc({ op });
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeoutError(op, timeoutMs)), timeoutMs);
    });
    try {
      const result = await Promise.race([fn(), timeout]);
      this.#recovered();
      return result;
    } catch (err) {
      metrics.errors.inc({ op, kind: err instanceof StoreTimeoutError ? 'timeout' : 'error' });
      this.#failed(op, err);
      throw err;
    } finally {
      clearTimeout(timer);
      metrics.latency.observe((performance.now() - started) / 1000, { op });
    }
  }

  #failed(op: StoreOp, err: unknown): void {
    this.#down = true;
    const now = this.#o.clock.now();
    if (now - this.#lastLog < this.#o.logIntervalMs) {
      this.#suppressed++;
      return;
    }
    const { stack: _, ...fields } = errorFields(err);
    this.#o.logger.warn('session store unavailable', {
      op,
      policy: this.#o.policy,
      suppressed: this.#suppressed,
      ...fields,
    });
    this.#lastLog = now;
    this.#suppressed = 0;
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#o.logger.info('session store answering again');
  }
}
