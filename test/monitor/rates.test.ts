/** The sidecar's own rate samples: window, two-sample rule, resets, duplicates. */
import { describe, expect, it } from 'vitest';
import { RateTracker } from '../../src/monitor/rates.js';

describe('RateTracker', () => {
  it('is null with one sample and the slope once two exist', () => {
    const t = new RateTracker(60_000);
    t.observe('a', 1_000_000, 100);
    expect(t.ratePerSecond('a', 1_000_000)).toBeNull();
    t.observe('a', 1_002_000, 700);
    expect(t.ratePerSecond('a', 1_002_000)).toBe(300);
    t.observe('a', 1_004_000, 1000);
    // oldest to newest inside the window: (1000 - 100) / 4 s
    expect(t.ratePerSecond('a', 1_004_000)).toBe(225);
  });

  it('is null for a counter never seen', () => {
    expect(new RateTracker(60_000).ratePerSecond('nope', 0)).toBeNull();
  });

  it('forgets samples older than the window', () => {
    const t = new RateTracker(10_000);
    t.observe('a', 0, 0);
    t.observe('a', 5_000, 5000);
    t.observe('a', 20_000, 5300);
    // only 20 s is inside [10 s, 20 s]: one sample -> null
    expect(t.ratePerSecond('a', 20_000)).toBeNull();
    expect(t.samples('a')).toBe(1);
    t.observe('a', 23_000, 5600);
    expect(t.ratePerSecond('a', 23_000)).toBe(100);
    // asked later, when both samples fell out of the window
    expect(t.ratePerSecond('a', 40_000)).toBeNull();
  });

  it('restarts the window on a counter reset', () => {
    const t = new RateTracker(60_000);
    t.observe('a', 0, 5000);
    t.observe('a', 1000, 6000);
    t.observe('a', 2000, 10); // key deleted and recreated
    expect(t.ratePerSecond('a', 2000)).toBeNull();
    t.observe('a', 4000, 210);
    expect(t.ratePerSecond('a', 4000)).toBe(100);
  });

  it('ignores the same collection seen twice and out-of-order samples', () => {
    const t = new RateTracker(60_000);
    t.observe('a', 1000, 10);
    t.observe('a', 1000, 10);
    expect(t.ratePerSecond('a', 1000)).toBeNull();
    t.observe('a', 3000, 30);
    t.observe('a', 2000, 9999);
    expect(t.ratePerSecond('a', 3000)).toBe(10);
    expect(t.samples('a')).toBe(2);
  });

  it('ignores non-finite values and prunes series that went quiet', () => {
    const t = new RateTracker(1000);
    t.observe('a', 0, Number.NaN);
    expect(t.samples('a')).toBe(0);
    t.observe('b', 0, 1);
    t.prune(5000);
    expect(t.samples('b')).toBe(0);
  });

  it('keeps keys apart', () => {
    const t = new RateTracker(60_000);
    t.observe('a', 0, 0);
    t.observe('b', 0, 0);
    t.observe('a', 1000, 50);
    t.observe('b', 1000, 7);
    expect(t.ratePerSecond('a', 1000)).toBe(50);
    expect(t.ratePerSecond('b', 1000)).toBe(7);
  });
});
