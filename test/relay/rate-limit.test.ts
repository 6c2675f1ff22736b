import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../src/relay/rate-limit.js';

describe('sliding-window limiter', () => {
  it('lets 20 through, then holds the 21st until the first is a full window old', () => {
    let now = 0;
    const l = new SlidingWindowLimiter(20, 60_000, 5, () => now);
    for (let i = 0; i < 20; i++) {
      expect(l.delayMs()).toBe(0);
      l.record(now);
      now += 100;
    }
    expect(l.delayMs()).toBe(60_005 - 2000);
    now = 60_004;
    expect(l.delayMs()).toBe(1);
    now = 60_005;
    expect(l.delayMs()).toBe(0);
  });

  it('never allows more than `count` calls in any window, unlike a token bucket', () => {
    // a greedy sender with random call durations (ends recorded), checked against every window
    let now = 0;
    const l = new SlidingWindowLimiter(20, 60_000, 5, () => now);
    const starts: number[] = [];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    while (starts.length < 200) {
      now += l.delayMs();
      starts.push(now);
      now += Math.floor(rnd() * 3000); // the robot call
      l.record(now);
    }
    for (const s of starts) expect(starts.filter((t) => t >= s && t < s + 60_000).length).toBeLessThanOrEqual(20);
    // and it is not needlessly slow: 200 calls take about 10 windows
    expect(now).toBeLessThan(11 * 60_000 + 200 * 3000);
  });
});
