/**
 * Sample values as the collection builder writes them (src/collect/collection.ts,
 * `writeValue`): integers digit by digit, values with up to three decimals by a
 * fast path, the rest through `formatValue`. For any number the bytes are the
 * text `formatValue` gives (`String(v)`, `NaN`, `+Inf`, `-Inf`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollectionBuilder } from '../../src/collect/collection.js';
import { formatValue } from '../../src/collect/exposition.js';
import { fuzzParams } from '../helpers/fuzz.js';

/** The value text of each line `queue_oldest_task_age_seconds{i="n"} <value>`, in order. */
function written(values: readonly number[]): string[] {
  const b = new CollectionBuilder(0);
  values.forEach((v, i) => b.add('queue_oldest_task_age_seconds', { i: String(i) }, v));
  const text = b.finish().exposition('text');
  return text.split('\n').filter((l) => l.startsWith('queue_oldest_task_age_seconds{')).map((l) => l.slice(l.lastIndexOf(' ') + 1));
}

const milli = fc.integer({ min: -(2 ** 50), max: 2 ** 50 }).map((n) => n / 1000);
const value = fc.oneof(
  fc.double(),
  milli,
  fc.integer({ min: -1e7, max: 1e7 }).map((n) => n / 100),
  fc.integer({ min: -1e7, max: 1e7 }).map((n) => n / 10),
  fc.integer({ min: 0, max: 2 ** 40 }).map((ms) => (Date.now() - ms) / 1000),
  fc.constantFrom(0, -0, 0.001, -0.001, 0.1 + 0.2, 999_999_999_999.999, 1e12 - 0.001, 1e12, -1e12, 1e15, 1e21, 5e-7, Number.MAX_SAFE_INTEGER, Infinity, -Infinity, NaN),
);

describe('sample values', () => {
  it('are written as formatValue writes them, for any number', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 50 }), (values) => {
        expect(written(values)).toEqual(values.map(formatValue));
      }),
      fuzzParams(500),
    );
  });
});
