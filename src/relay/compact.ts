/**
 * What the outbox keeps of a notification, and the two keys that bound it.
 *
 * - {@link compactPayload}: only the fields rendering uses, each string
 *   capped to the byte size the renderer would show anyway (render.ts caps
 *   labels at 256 bytes, annotations at 1500, URLs at 1024), so a hostile
 *   32 KiB annotation costs 1.5 KB in the store instead of megabytes.
 * - {@link groupId}: receiver + `groupKey` for one robot. Alertmanager sends the
 *   whole current state of a group every time, so a newer notification of the
 *   same group replaces the queued one ({@link supersede}).
 * - {@link dedupeKey}: the same notification received twice (the Alertmanager
 *   HA fan-out, or a retry after a timeout we had already stored).
 */
import { createHash } from 'node:crypto';
import { ellipsizeUtf8 } from './text.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';

/** Byte caps matching what render.ts shows (label 256, annotation 1500, URL 1024). */
const CAP = { label: 256, annotation: 1500, url: 1024 } as const;

function capMap(m: Record<string, string>, valueCap: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[ellipsizeUtf8(k, CAP.label)] = ellipsizeUtf8(v, valueCap);
  return out;
}

function sortedEntries(m: Record<string, string>): [string, string][] {
  return Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

/** A stable alert identity: Alertmanager's fingerprint, or a hash of the sorted labels when it is missing. */
export function alertIdentity(a: WebhookAlert): string {
  if (a.fingerprint) return a.fingerprint;
  return `l:${createHash('sha256').update(JSON.stringify(sortedEntries(a.labels))).digest('hex').slice(0, 16)}`;
}

/**
 * The stored form of a notification: same shape as {@link WebhookPayload}
 * (so the renderer takes it as is), without `commonAnnotations` (unused by
 * rendering), strings capped as the renderer caps them, and every alert
 * carrying a fingerprint (computed from its labels when Alertmanager sent none).
 */
export function compactPayload(p: WebhookPayload): WebhookPayload {
  return {
    version: '4',
    groupKey: p.groupKey,
    truncatedAlerts: p.truncatedAlerts,
    status: p.status,
    receiver: p.receiver,
    groupLabels: capMap(p.groupLabels, CAP.label),
    commonLabels: capMap(p.commonLabels, CAP.label),
    commonAnnotations: {},
    externalURL: ellipsizeUtf8(p.externalURL, CAP.url),
    alerts: p.alerts.map((a) => ({
      status: a.status,
      labels: capMap(a.labels, CAP.label),
      annotations: capMap(a.annotations, CAP.annotation),
      startsAt: a.startsAt,
      ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
      generatorURL: ellipsizeUtf8(a.generatorURL, CAP.url),
      fingerprint: alertIdentity(a),
    })),
  };
}

/** The supersede key of a notification for one robot: receiver and Alertmanager's `groupKey`. */
export function groupId(p: Pick<WebhookPayload, 'receiver' | 'groupKey'>): string {
  return createHash('sha256').update(`${p.receiver}\n${p.groupKey}`).digest('hex').slice(0, 32);
}

/**
 * The de-duplication key: robot (`channel/target`), receiver, `groupKey`,
 * the notification's status, and every alert's fingerprint, status and
 * `startsAt` (and `endsAt` for resolved alerts: a firing alert's `endsAt` is
 * a moving estimate), alerts in fingerprint order. Two Alertmanager peers
 * sending the same group state produce the same key; a real state change
 * (an alert added, resolved, or re-fired with a new `startsAt`) does not.
 */
export function dedupeKey(robot: string, p: WebhookPayload): string {
  const alerts = p.alerts
    .map((a) => `${alertIdentity(a)}|${a.status}|${a.startsAt}|${a.status === 'resolved' ? (a.endsAt ?? '') : ''}`)
    .sort();
  return createHash('sha256').update(JSON.stringify([robot, p.receiver, p.groupKey, p.status, alerts])).digest('hex').slice(0, 40);
}

/**
 * The notification that replaces a queued `older` one of the same group:
 * `newer` as Alertmanager sent it, plus the alerts `older` reported as
 * resolved that `newer` no longer lists (Alertmanager drops a resolved alert
 * after sending it once, so without this the resolution would never reach the
 * chat). An alert `older` had firing and `newer` does not list is left out:
 * Alertmanager's newer state no longer holds it (or cut it by `max_alerts`,
 * which `truncatedAlerts` counts), and we cannot claim it resolved.
 * The same rule is implemented in Lua for the Redis store (redis-scripts.ts).
 */
export function supersede(older: WebhookPayload, newer: WebhookPayload): WebhookPayload {
  const seen = new Set(newer.alerts.map((a) => a.fingerprint));
  const kept: WebhookAlert[] = [];
  for (const a of older.alerts) {
    if (a.status !== 'resolved' || seen.has(a.fingerprint)) continue;
    seen.add(a.fingerprint); // once, even if the older copy listed it twice
    kept.push(a);
  }
  return kept.length === 0 ? newer : { ...newer, alerts: [...newer.alerts, ...kept] };
}
