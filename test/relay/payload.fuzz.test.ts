/**
 * The Alertmanager payload parser against any JSON (issue 10, fuzzing): it
 * never throws, answers either a payload or a bounded reason, and a valid
 * payload comes back with exactly its labels, whatever their names.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseWebhookPayload, PAYLOAD_LIMITS } from '../../src/relay/payload.js';
import { fuzzParams, fuzzTimeoutMs } from '../helpers/fuzz.js';

const labelName = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', ''));
const labels = fc.dictionary(labelName, fc.string({ maxLength: 40 }), { maxKeys: 8 });
const time = fc.date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true }).map((d) => d.toISOString());
const alert = fc.record(
  {
    status: fc.constantFrom('firing', 'resolved'),
    labels,
    annotations: labels,
    startsAt: time,
    endsAt: time,
    generatorURL: fc.string({ maxLength: 30 }),
    fingerprint: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 16 }),
  },
  { requiredKeys: ['status', 'labels', 'startsAt'] },
);
const payload = fc.record({
  version: fc.constant('4'),
  groupKey: fc.string({ maxLength: 40 }),
  status: fc.constantFrom('firing', 'resolved'),
  receiver: fc.string({ maxLength: 20 }),
  groupLabels: labels,
  commonLabels: labels,
  alerts: fc.array(alert, { minLength: 1, maxLength: 4 }),
});

/** JSON as JSON.parse yields it: `__proto__` is an own key there, not the prototype. */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function ownEntries(o: unknown): Array<[string, unknown]> {
  return Object.keys(o as object)
    .sort()
    .map((k) => [k, (o as Record<string, unknown>)[k]]);
}

describe('parseWebhookPayload (fuzz)', () => {
  test(
    'any JSON value: a payload or a bounded reason, never an exception',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), payload.chain((p) => fc.jsonValue().map((j) => ({ ...p, alerts: [j] })))), (raw) => {
          const r = parseWebhookPayload(viaJson(raw));
          if (!r.ok) {
            expect(r.reason).toMatch(/^invalid Alertmanager webhook payload: /);
            expect(r.reason.length).toBeLessThan(800);
          }
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeoutMs(),
  );

  test(
    'a valid payload keeps every label as an own entry, prototype-like names included',
    () => {
      fc.assert(
        fc.property(payload, (p) => {
          const body = viaJson(p) as typeof p;
          const r = parseWebhookPayload(body);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(Object.getPrototypeOf(r.payload.commonLabels)).toBe(Object.getPrototypeOf({}));
          expect(ownEntries(r.payload.commonLabels)).toEqual(ownEntries(body.commonLabels));
          r.payload.alerts.forEach((a, i) => expect(ownEntries(a.labels)).toEqual(ownEntries(body.alerts[i]!.labels)));
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeoutMs(),
  );

  // Counter-example fast-check found on main: z.record dropped a label named `__proto__`.
  test('regression: a label named __proto__ is kept as an own label', () => {
    const body = JSON.parse('{"version":"4","groupKey":"","status":"firing","receiver":"","commonLabels":{"__proto__":"x"},"alerts":[{"status":"firing","labels":{"__proto__":"y","queue":"q"},"startsAt":"1970-01-01T00:00:00.000Z"}]}') as unknown;
    const r = parseWebhookPayload(body);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.payload.commonLabels)).toEqual(['__proto__']);
    expect(Object.entries(r.payload.alerts[0]!.labels)).toEqual([['__proto__', 'y'], ['queue', 'q']]);
    expect(Object.getPrototypeOf(r.payload.alerts[0]!.labels)).toBe(Object.prototype);
  });

  test('regression: startsAt must be RFC 3339, not anything Date.parse reads', () => {
    const base = { version: '4', groupKey: 'g', status: 'firing', receiver: 'r' };
    for (const startsAt of ['1', 'May 5', '2026', 'Tue, 01 Dec 2026 10:00:00 GMT']) {
      const r = parseWebhookPayload({ ...base, alerts: [{ status: 'firing', labels: {}, startsAt }] });
      expect(r.ok, startsAt).toBe(false);
    }
    for (const startsAt of ['0001-01-01T00:00:00Z', '2026-12-02T06:35:00.123456789+08:00']) {
      expect(parseWebhookPayload({ ...base, alerts: [{ status: 'firing', labels: {}, startsAt }] }).ok, startsAt).toBe(true);
    }
  });

  test('limits hold at their edges', () => {
    const base = { version: '4', groupKey: 'g', status: 'firing', receiver: 'r' };
    const at = (n: number) => ({ ...base, alerts: [{ status: 'firing', labels: Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v'])), startsAt: '2026-01-01T00:00:00Z' }] });
    expect(parseWebhookPayload(at(PAYLOAD_LIMITS.entries)).ok).toBe(true);
    expect(parseWebhookPayload(at(PAYLOAD_LIMITS.entries + 1)).ok).toBe(false);
  });
});
