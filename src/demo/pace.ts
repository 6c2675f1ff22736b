/**
 * Pacing for the demo: a token pacer (tasks per second), the burst schedule,
 * and sleeps that end early when the demo stops.
 */

/**
 * Hands out whole tasks at `rate()` per second. Unused credit is capped at one
 * second's worth, so an idle consumer does not bank a burst of capacity.
 */
export class Pacer {
  private credit = 0;
  private last: number;

  /**
   * @param rate tasks per second, read on every `take` (so bursts can change it).
   * @param nowMs clock, unix ms (injectable for tests).
   */
  constructor(
    private readonly rate: () => number,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.last = nowMs();
  }

  /**
   * Takes up to `max` whole tasks that are due now.
   * @returns how many tasks may be started (0 when none are due).
   */
  take(max = Number.POSITIVE_INFINITY): number {
    const now = this.nowMs();
    const r = this.rate();
    this.credit = Math.min(this.credit + ((now - this.last) / 1000) * r, Math.max(r, 1));
    this.last = now;
    const n = Math.min(Math.floor(this.credit), max);
    this.credit -= n;
    return n;
  }

  /** Gives back `n` tasks taken but not used (e.g. the queue was empty). */
  refund(n: number): void {
    this.credit += n;
  }
}

/**
 * Whether a burst is on at `elapsedMs` since the demo started: the first burst
 * starts after `delayMs`, lasts `forMs`, and repeats every `everyMs`.
 */
export function inBurst(elapsedMs: number, schedule: { delayMs: number; forMs: number; everyMs: number }): boolean {
  if (elapsedMs < schedule.delayMs) return false;
  return (elapsedMs - schedule.delayMs) % schedule.everyMs < schedule.forMs;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A uniformly random integer in [min, max]. */
export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * Logs a repeating error at most once per `everyMs` per message, so a demo
 * whose Redis went away does not flood its log.
 */
export function throttledWarn(warn: (obj: object, msg: string) => void, everyMs = 10_000): (err: unknown, what: string) => void {
  const lastAt = new Map<string, number>();
  return (err, what) => {
    const message = err instanceof Error ? err.message : String(err);
    const key = `${what}: ${message}`;
    const now = Date.now();
    if ((lastAt.get(key) ?? 0) + everyMs > now) return;
    lastAt.set(key, now);
    warn({ err: message }, what);
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}
