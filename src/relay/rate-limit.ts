/**
 * A per-robot sliding-window limiter: never more than `count` robot calls in
 * any window of `windowMs` milliseconds.
 *
 * Why not a token bucket: a bucket that refills continuously lets 20 calls
 * through at once and then one more a few seconds later — 21 in one minute,
 * which DingTalk answers with errcode 130101 and a 10-minute throttle. A log
 * of call times cannot.
 *
 * Each call is recorded when it *ends* (response received, timed out or
 * failed): the robot saw it no later than that, and the next call starts no
 * earlier than its own send, so the robot's arrival times are at least
 * `windowMs` apart for calls `count` apart, whatever the network delay.
 */
export class SlidingWindowLimiter {
  private readonly times: number[] = [];

  /**
   * @param count calls allowed per window (≥ 1)
   * @param windowMs window length in milliseconds
   * @param marginMs extra spacing added to be safe against clock granularity (ms)
   * @param now clock in milliseconds (injectable for tests)
   */
  constructor(
    public count: number,
    public windowMs: number,
    private readonly marginMs = 5,
    private readonly now: () => number = Date.now,
  ) {
    if (!(count >= 1)) throw new RangeError('rate limit count must be at least 1');
  }

  private prune(t: number): void {
    while (this.times.length > 0 && (this.times[0] ?? 0) + this.windowMs + this.marginMs <= t) this.times.shift();
  }

  /** Milliseconds until another call may start; 0 when one may start now. */
  delayMs(): number {
    const t = this.now();
    this.prune(t);
    if (this.times.length < this.count) return 0;
    const oldest = this.times[this.times.length - this.count] ?? t;
    return Math.max(0, oldest + this.windowMs + this.marginMs - t);
  }

  /** Records a finished call (at `at` ms, default now). */
  record(at: number = this.now()): void {
    this.times.push(at);
    if (this.times.length > this.count * 2) this.times.splice(0, this.times.length - this.count);
  }

  /** Calls recorded within the last window (for tests and diagnostics). */
  inWindow(): number {
    this.prune(this.now());
    return this.times.length;
  }
}
