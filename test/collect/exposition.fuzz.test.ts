/**
 * The exposition writer against any label bytes (issue 10, fuzzing): every
 * page it writes, text 0.0.4 and OpenMetrics, is accepted by `promtool check
 * metrics` and by the strict OpenMetrics parser of the official Python client
 * — label values with quotes, backslashes, newlines, NUL, any Unicode, and
 * key bytes outside UTF-8 (carried as lone surrogates, `redis/bytes.ts`).
 * One page per run holds many series, and each checker runs once per page.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { render } from '../../src/collect/exposition.js';
import type { Family } from '../../src/collect/family.js';
import { fuzzParams, fuzzTimeoutMs } from '../helpers/fuzz.js';
import { openMetricsErrors, promtoolErrors } from '../helpers/strict-parsers.js';

const nasty = fc.constantFrom('"', '\\', '\n', '\r', '\t', '\u0000', '\udcff', '\ud800', '\udc80x', '😀', '\u2028', '{', '}', '=', ',', '# EOF', '\\x', 'é');
const labelValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 3 })), { maxLength: 6 }).map((a) => a.join('')),
);
const series = fc.array(fc.record({ queue: labelValue, state: labelValue, value: fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e12, noNaN: true })) }), { minLength: 1, maxLength: 40 });
const help = fc.oneof(fc.string({ maxLength: 30 }).map((s) => `Help ${s}`), fc.array(nasty, { maxLength: 5 }).map((a) => `Help ${a.join('')}`));

/** The page for these series: a gauge, a counter and an info family over the same label sets. */
function families(rows: { queue: string; state: string; value: number }[], helpText: string): Family[] {
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const k = `${r.queue}\u0000${r.state}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return [
    { name: 'queue_tasks', type: 'gauge', help: helpText, samples: unique.map((r) => ({ labels: { queue: r.queue, state: r.state }, value: r.value })) },
    { name: 'queue_processed_total', type: 'counter', help: 'Tasks processed.', samples: unique.map((r) => ({ labels: { queue: r.queue, state: r.state }, value: Math.floor(r.value) })) },
    { name: 'queue_info', type: 'info', help: 'One per queue.', samples: unique.map((r) => ({ labels: { queue: r.queue, key: r.state }, value: 1 })) },
  ];
}

describe('exposition writer (fuzz)', () => {
  test(
    'any label values: promtool and the strict OpenMetrics parser accept the page',
    () => {
      fc.assert(
        fc.property(series, help, (rows, helpText) => {
          const fams = families(rows, helpText);
          const text = render(fams, 'text');
          expect(promtoolErrors(text)).toBeNull();
          const om = render(fams, 'openmetrics');
          expect(openMetricsErrors([om])).toEqual([null]);
        }),
        fuzzParams(15),
      );
    },
    fuzzTimeoutMs(120_000),
  );

  // The defined escaping of key bytes outside UTF-8 (issue 10 #9): on main such a byte reached the
  // label as U+FFFD, indistinguishable from a key that really holds U+FFFD; now it is `\xNN`.
  test('regression: an escaped key byte is written as \\xNN', () => {
    const page = render([{ name: 'queue_tasks', type: 'gauge', help: 'h', samples: [{ labels: { queue: 'jobs:\udcffa' }, value: 3 }] }], 'openmetrics');
    expect(page).toContain('queue_tasks{queue="jobs:\\\\xffa"} 3\n');
    expect(openMetricsErrors([page])).toEqual([null]);
  });
});
