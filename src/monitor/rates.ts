/**
 * Rates for the monitor API, computed by the sidecar from its own samples of
 * counters (shared/spec/monitor-api.md): nothing is written back to Redis and
 * nothing runs on a timer. Every collection the monitor sees contributes one
 * sample per counter; the rate is the slope between the oldest and the newest
 * sample inside the sliding window.
 */

/** One observation of a counter. */
interface Point {
  /** Unix milliseconds the value was read at (the collection's `at`). */
  readonly atMs: number;
  readonly value: number;
}

/** Upper bound on samples kept per counter; older ones are dropped first (a page polled every 100 ms for a 1 h window stays bounded). */
const MAX_POINTS = 600;

/**
 * A small ring of `(timestamp, value)` samples per counter, keyed by a string
 * the caller chooses (e.g. `component\0simulator`).
 *
 * - Samples older than the window are dropped (relative to the newest sample).
 * - A sample with a timestamp not after the newest one is ignored (the same
 *   collection seen twice; a collection that finished out of order).
 * - A value smaller than the previous one is a counter reset (key deleted,
 *   wrap-around): the window restarts from that sample.
 * - A series not observed for a whole window is forgotten (queues that went away).
 */
export class RateTracker {
  private readonly series = new Map<string, Point[]>();

  /** @param windowMs sliding window, milliseconds (`ui.rateWindow`). */
  constructor(readonly windowMs: number) {}

  /**
   * Records `value` of counter `key` read at `atMs` (unix ms).
   * Non-finite values are ignored.
   */
  observe(key: string, atMs: number, value: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(atMs)) return;
    let points = this.series.get(key);
    if (!points) {
      points = [];
      this.series.set(key, points);
    }
    const last = points[points.length - 1];
    if (last && atMs <= last.atMs) return;
    if (last && value < last.value) points.length = 0;
    points.push({ atMs, value });
    const oldest = atMs - this.windowMs;
    let drop = 0;
    while (drop < points.length - 1 && points[drop]!.atMs < oldest) drop++;
    if (points.length - drop > MAX_POINTS) drop = points.length - MAX_POINTS;
    if (drop > 0) points.splice(0, drop);
  }

  /**
   * Per-second rate of counter `key` over the window ending at `nowMs`.
   * @param nowMs unix ms; samples older than `nowMs - windowMs` do not count.
   * @returns units per second, or `null` while fewer than two samples lie in the window.
   */
  ratePerSecond(key: string, nowMs: number): number | null {
    const points = this.series.get(key);
    if (!points) return null;
    const from = nowMs - this.windowMs;
    let first: Point | undefined;
    for (const p of points) {
      if (p.atMs >= from) {
        first = p;
        break;
      }
    }
    const last = points[points.length - 1];
    if (!first || !last || last.atMs <= first.atMs) return null;
    return ((last.value - first.value) * 1000) / (last.atMs - first.atMs);
  }

  /** Number of samples currently kept for `key` (tests and debugging). */
  samples(key: string): number {
    return this.series.get(key)?.length ?? 0;
  }

  /** Forgets series whose newest sample is older than the window at `nowMs`. */
  prune(nowMs: number): void {
    for (const [key, points] of this.series) {
      const last = points[points.length - 1];
      if (!last || last.atMs < nowMs - this.windowMs) this.series.delete(key);
    }
  }
}
