/**
 * FollowUpWave (src/collect/follow-ups.ts): items that join in one event-loop
 * turn (its socket reads of first-batch replies) go out as one sub-batch, the
 * wave reports the most round trips any sub-batch took, and nothing is sent
 * once it is abandoned.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FollowUpWave, type WaveBatch } from '../../src/collect/follow-ups.js';

/** A wave whose sends are recorded; `outcome` decides each sub-batch's answer. */
function recorded(outcome: (items: readonly number[]) => WaveBatch = () => ({ up: true, roundtrips: 1 })) {
  const sent: number[][] = [];
  const wave = new FollowUpWave<number>(async (items) => {
    sent.push([...items]);
    return outcome(items);
  });
  return { wave, sent };
}

/** Lets the wave's flush (a setImmediate) run, as the end of an event-loop turn of socket reads does. */
const endOfRead = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FollowUpWave', () => {
  it('sends what joined during one read as one sub-batch, at the end of that read', async () => {
    const { wave, sent } = recorded();
    wave.add(1);
    wave.add(2);
    expect(sent).toEqual([]);
    await endOfRead();
    expect(sent).toEqual([[1, 2]]);
    wave.add(3);
    await endOfRead();
    wave.add(4);
    wave.add(5);
    expect(await wave.settle()).toEqual({ up: true, roundtrips: 1 });
    expect(sent).toEqual([[1, 2], [3], [4, 5]]);
  });

  it('reports no round trip when nothing followed up', async () => {
    const { wave, sent } = recorded();
    expect(await wave.settle()).toEqual({ up: true, roundtrips: 0 });
    expect(sent).toEqual([]);
  });

  it('is down when any sub-batch failed, and counts overlapping sub-batches as the most any took', async () => {
    const { wave } = recorded((items) => ({ up: items[0] !== 2, roundtrips: items[0] === 3 ? 2 : 1 }));
    wave.add(1);
    await endOfRead();
    wave.add(2);
    await endOfRead();
    wave.add(3);
    expect(await wave.settle()).toEqual({ up: false, roundtrips: 2 });
  });

  it('sends nothing more once abandoned (the first batch failed), and still settles what is in flight', async () => {
    const { wave, sent } = recorded();
    wave.add(1);
    await endOfRead();
    wave.add(2);
    wave.abandon();
    await endOfRead();
    expect(await wave.settle()).toEqual({ up: true, roundtrips: 1 });
    expect(sent).toEqual([[1]]);
  });

  it('sends every item exactly once, in order, however the reads cut them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 4 }), { maxLength: 30 }), async (reads) => {
        const { wave, sent } = recorded();
        let next = 0;
        for (const n of reads) {
          for (let i = 0; i < n; i++) wave.add(next++);
          await endOfRead();
        }
        await wave.settle();
        expect(sent.flat()).toEqual(Array.from({ length: next }, (_, i) => i));
        expect(sent.every((b) => b.length > 0)).toBe(true);
        expect(sent.length).toBe(reads.filter((n) => n > 0).length);
      }),
      { numRuns: 100 },
    );
  });
});
