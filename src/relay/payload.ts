/**
 * The Alertmanager webhook payload (version 4), as documented in
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config.
 * Unknown fields (newer Alertmanager adds `routeLabels`, …) are ignored;
 * missing or mistyped required fields are rejected with a reason naming the
 * field path.
 */
import { z } from 'zod';

/** Caps that keep a hostile payload from costing memory and CPU; real Alertmanager payloads are far below them. */
export const PAYLOAD_LIMITS = {
  /** characters in a label name or value */
  label: 4096,
  /** characters in an annotation value */
  annotation: 32_768,
  /** entries in one label or annotation map */
  entries: 256,
  /** alerts in one notification */
  alerts: 10_000,
} as const;

/**
 * A label or annotation map: string keys to string values within the caps.
 * Written by hand rather than with `z.record`, which drops a key named
 * `__proto__` (a valid Prometheus label name; JSON.parse makes it an own
 * key): every key becomes an own property, the prototype stays Object's.
 */
function mapOf(maxValue: number) {
  return z.unknown().transform((value, ctx): Record<string, string> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: `expected an object of strings, received ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}` });
      return z.NEVER;
    }
    const keys = Object.keys(value);
    if (keys.length > PAYLOAD_LIMITS.entries) {
      ctx.addIssue({ code: 'custom', message: `more than ${PAYLOAD_LIMITS.entries} entries` });
      return z.NEVER;
    }
    const out: Record<string, string> = {};
    let ok = true;
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key];
      if (key.length > PAYLOAD_LIMITS.label) {
        ctx.addIssue({ code: 'custom', path: [key.slice(0, 40)], message: `name longer than ${PAYLOAD_LIMITS.label} characters` });
        ok = false;
      } else if (typeof v !== 'string') {
        ctx.addIssue({ code: 'custom', path: [key], message: `expected string, received ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}` });
        ok = false;
      } else if (v.length > maxValue) {
        ctx.addIssue({ code: 'custom', path: [key], message: `longer than ${maxValue} characters` });
        ok = false;
      } else Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return ok ? out : z.NEVER;
  });
}
const labelMap = mapOf(PAYLOAD_LIMITS.label);
const annotationMap = mapOf(PAYLOAD_LIMITS.annotation);
/** An optional map: absent is `{}`. */
const optionalMap = (map: ReturnType<typeof mapOf>) => z.preprocess((v) => (v === undefined ? {} : v), map);

/**
 * RFC 3339 timestamps as Alertmanager writes them (Go's `time.Time` JSON);
 * `0001-01-01T00:00:00Z` (Go zero time) is accepted. `Date.parse` alone let
 * `"1"` or `"May 5"` through.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const timestamp = z.string().refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 timestamp');

/** One alert of the payload: `status`, `labels` and `startsAt` required; the rest defaulted. */
export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: optionalMap(annotationMap),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().default(''),
});

/** The whole payload: `version` ("4"), `groupKey`, `status`, `receiver` and a non-empty `alerts` required; unknown keys ignored. */
export const webhookPayloadSchema = z.object({
  version: z.literal('4', { error: 'must be "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: optionalMap(labelMap),
  commonLabels: optionalMap(labelMap),
  commonAnnotations: optionalMap(annotationMap),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1, 'must hold at least one alert').max(PAYLOAD_LIMITS.alerts, `more than ${PAYLOAD_LIMITS.alerts} alerts`),
});

/** One alert of a webhook notification. Times are RFC 3339 strings. */
export type WebhookAlert = z.output<typeof alertSchema>;
/** A validated Alertmanager webhook notification (payload version 4). */
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

/** The result of {@link parseWebhookPayload}: the payload, or the reason it was refused. */
export type ParseResult = { ok: true; payload: WebhookPayload } | { ok: false; reason: string };

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(body)';
}

/**
 * Validates a parsed JSON body.
 * @returns the payload, or `reason` like `alerts[0].labels.queue: expected string, received number`
 *   (at most 3 issues, each ≤ 200 characters; values from the body are not echoed).
 */
export function parseWebhookPayload(body: unknown): ParseResult {
  const r = webhookPayloadSchema.safeParse(body);
  if (r.success) return { ok: true, payload: r.data };
  const issues = r.error.issues.slice(0, 3).map((i) => `${pathText(i.path)}: ${i.message}`.slice(0, 200));
  const more = r.error.issues.length > 3 ? ` (and ${r.error.issues.length - 3} more)` : '';
  return { ok: false, reason: `invalid Alertmanager webhook payload: ${issues.join('; ')}${more}` };
}
