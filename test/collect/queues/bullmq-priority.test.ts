import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bandBounds, bandOf, counterOf, oldestHead, PRIORITY_BAND, scoredMembers } from '../../../src/collect/queues/bullmq-priority.js';

const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 200);

describe('BullMQ prioritized scores (getPriorityScore.lua)', () => {
  it('splits a score into band and counter', () => {
    expect(bandOf(100 * PRIORITY_BAND + 7)).toBe(100);
    expect(counterOf(100 * PRIORITY_BAND + 7)).toBe(7);
    expect(bandBounds(3)).toEqual([String(3 * PRIORITY_BAND), `(${4 * PRIORITY_BAND}`]);
  });

  it('the oldest head is the smallest counter, not the lowest score', () => {
    // priority 1 jobs added after the priority 100 job have bigger counters.
    const heads = [
      { id: '7', score: 1 * PRIORITY_BAND + 5 },
      { id: '1', score: 100 * PRIORITY_BAND + 1 },
      { id: '3', score: 5 * PRIORITY_BAND + 3 },
    ];
    expect(oldestHead(heads)).toBe('1');
    expect(oldestHead([])).toBeUndefined();
  });

  it('reads WITHSCORES replies, dropping unreadable scores', () => {
    expect(scoredMembers(['a', '4294967297', 'b', 'x', 'c'])).toEqual([{ id: 'a', score: 4294967297 }]);
  });

  // Scores are doubles (in Redis too): exact below 2^53, i.e. for every priority below BullMQ's maximum 2^21.
  it('round-trips every priority below 2^21 and every counter (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 21 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (p, c) => {
        const score = p * PRIORITY_BAND + c;
        return bandOf(score) === p && counterOf(score) === c;
      }),
      { numRuns: runs },
    );
  });
});
