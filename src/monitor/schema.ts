/**
 * The monitor API's answer (shared/spec/monitor-api.md) as one zod schema:
 * the TypeScript types of `snapshot.ts` are inferred from it, and the JSON
 * Schema Fastify serialises `GET /api/monitor` with is generated from it
 * (`z.toJSONSchema`), so the two can never disagree.
 */
import { z } from 'zod';

const nullableNumber = z.number().nullable();

/** One producer or consumer (a `components:` entry). Absent values are `null`. */
export const componentViewSchema = z.object({
  /** `running`: heartbeat younger than `staleAfter`; `stopped`: older; `unknown`: key missing or unreadable (or Redis down). */
  status: z.enum(['running', 'stopped', 'unknown']),
  /** Last heartbeat, unix seconds (fractional when the component writes milliseconds). */
  lastHeartbeat: nullableNumber,
  /** Seconds between the heartbeat and the collection (`generatedAt`). */
  heartbeatAgeSeconds: nullableNumber,
  /** The component's `staleAfter`, seconds. */
  staleAfterSeconds: z.number(),
  /** The `total` counter (items written or processed); `null` when the component has no `total` key. */
  total: nullableNumber,
  /** Growth of `total` per second over `ui.rateWindow`; `null` until two samples exist in the window. */
  ratePerSecond: nullableNumber,
  /** `ratePerSecond` × 60. */
  ratePerMinute: nullableNumber,
  /** The `lastDuration` key, milliseconds. */
  lastDurationMs: nullableNumber,
  /** Mean of the `durations` list, milliseconds. */
  avgDurationMs: nullableNumber,
});

/** One consumer group of a stream queue. */
export const groupViewSchema = z.object({
  /** Entries not yet delivered to the group (lag). */
  waiting: nullableNumber,
  /** Delivered, not acknowledged (PEL size). */
  active: nullableNumber,
  /** Seconds since the oldest undelivered entry was added. */
  oldestTaskAgeSeconds: nullableNumber,
});

/**
 * One queue (declared or discovered). Task counts are the normalised
 * `queue_tasks` states of metrics.md; a state the layout does not keep is
 * `null`, not 0. For streams, `waiting` / `active` sum the groups (work still
 * to deliver / to acknowledge across all groups) and `oldestTaskAgeSeconds` is
 * the oldest over the groups; `groups` has each group.
 */
export const queueViewSchema = z.object({
  /** The `queue` label (the map key, unless two frameworks share the name). */
  name: z.string(),
  /** The `framework` label: list, stream, zset, asynq, bullmq, sidekiq, celery, rq. */
  framework: z.string(),
  waiting: nullableNumber,
  active: nullableNumber,
  scheduled: nullableNumber,
  retry: nullableNumber,
  dead: nullableNumber,
  completed: nullableNumber,
  /** `queue_processed_total`: finished tasks, successful or not. */
  processed: nullableNumber,
  /** `queue_failed_total`. */
  failed: nullableNumber,
  /** `queue_enqueued_total`. */
  enqueued: nullableNumber,
  /** Seconds since the oldest waiting task was enqueued; 0 when nothing waits. */
  oldestTaskAgeSeconds: nullableNumber,
  /** Timeline counts by window label (`1m`, `10m`…); `null` without a timeline. */
  windows: z.record(z.string(), z.number()).nullable(),
  /** Growth of `processed` per second over `ui.rateWindow`; `null` until two samples exist. */
  ratePerSecond: nullableNumber,
  /** `ratePerSecond` × 60. */
  ratePerMinute: nullableNumber,
  /** `true` when the framework marks the queue paused; `null` when it has no such notion. */
  paused: z.boolean().nullable(),
  /** Stream consumer groups by name; `null` for other layouts. */
  groups: z.record(z.string(), groupViewSchema).nullable(),
});

/** MySQL load, from the same collection (mysqld_exporter names). `null` fields when unknown. */
export const mysqlViewSchema = z.object({
  up: z.boolean(),
  threadsConnected: nullableNumber,
  connections: nullableNumber,
  maxConnections: nullableNumber,
  slowQueries: nullableNumber,
  threadsRunning: nullableNumber,
});

/** `GET /api/monitor`. */
export const monitorSnapshotSchema = z.object({
  /** When the collection was taken, ISO 8601 UTC. */
  generatedAt: z.string(),
  /** Every configured component, in config order. */
  components: z.record(z.string(), componentViewSchema),
  /** One page of the collection's queues (declared and discovered), see `page`. */
  queues: z.record(z.string(), queueViewSchema),
  /** Which queues `queues` holds: `limit` from `offset` of `total`; `nextOffset` is null on the last page. */
  page: z.object({ offset: z.number().int(), limit: z.number().int(), total: z.number().int(), nextOffset: z.number().int().nullable() }),
  /** Sum of `waiting` over every queue (all pages); null when no queue reports waiting tasks. */
  totalWaiting: z.number().nullable(),
  /** `null` when the config has no `mysql:` block. */
  mysql: mysqlViewSchema.nullable(),
  redis: z.object({ up: z.boolean() }),
});

/** `GET /api/monitor/:component` for a name not in `components:`. */
export const monitorErrorSchema = z.object({ error: z.string() });

/** The JSON Schema (draft-07, as Fastify's serializer reads it) of a zod schema above. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
}
