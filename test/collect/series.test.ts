/**
 * Plan-time series packed into shared slabs (src/collect/series.ts): for any
 * family and labels, the prefix is exactly `family{labels} `, the labels read
 * back unchanged, and a collection writes the same line through `set` as
 * through `add` — also for series that straddle slab boundaries or are too
 * long for a slab.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollectionBuilder } from '../../src/collect/collection.js';
import { labelText } from '../../src/collect/exposition.js';
import { put, series, seriesLabels, seriesText } from '../../src/collect/series.js';
import type { Labels, SampleSink } from '../../src/collect/types.js';
import { fuzzParams } from '../helpers/fuzz.js';

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
const labelsArb = fc.dictionary(labelName, fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 4 });

describe('series', () => {
  it('keeps family{labels} exactly and reads the labels back, for any labels', () => {
    fc.assert(
      fc.property(fc.array(labelsArb, { minLength: 1, maxLength: 200 }), (sets) => {
        const made = sets.map((l) => series('queue_tasks', l));
        sets.forEach((l, i) => {
          expect(seriesText(made[i]!)).toBe(`queue_tasks${labelText(l)} `);
          expect(seriesLabels(made[i]!)).toEqual(l);
        });
      }),
      fuzzParams(100),
    );
  });

  it('writes through set the same line add writes, across slab boundaries and for oversized label sets', () => {
    const sets: Labels[] = [];
    // ~3,000 series of ~60 bytes cross several 64 KiB slabs; two are longer than a quarter slab.
    for (let i = 0; i < 3000; i++) sets.push({ queue: `q-${i}-${'é'.repeat(i % 17)}`, framework: 'list', state: 'waiting' });
    sets.push({ queue: 'x'.repeat(20_000), framework: 'list', state: 'waiting' }, { queue: '"\\\n'.repeat(9000), framework: 'list', state: 'waiting' });
    const viaSet = new CollectionBuilder(0);
    const viaAdd = new CollectionBuilder(0);
    sets.forEach((l, i) => {
      viaSet.set(series('queue_tasks', l), i);
      viaAdd.add('queue_tasks', l, i);
    });
    const a = viaSet.finish().expositionBytes('text');
    const b = viaAdd.finish().expositionBytes('text');
    expect(a.equals(b)).toBe(true);
  });

  it('put falls back to add with the labels read back when a sink has no set', () => {
    const got: [string, Labels, number][] = [];
    const sink: SampleSink = { declare: () => undefined, add: (f, l, v) => void got.push([f, l, v]), fail: () => undefined };
    put(sink, series('queue_tasks', { queue: 'a"b', framework: 'list', state: 'failed' }), 7);
    expect(got).toEqual([['queue_tasks', { queue: 'a"b', framework: 'list', state: 'failed' }, 7]]);
  });
});
