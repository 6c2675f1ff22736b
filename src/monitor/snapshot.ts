/**
 * The monitor API's answer (shared/spec/monitor-api.md), built from one
 * collection of the scrape engine — the same samples `/metrics` exposes, so
 * the page and Prometheus never disagree — plus the sidecar's own rate samples.
 *
 * Pure: no I/O, no clock but the collection's `at`.
 */
import type { Collection } from '../collect/collection.js';
import type { ComponentConfig, Config } from '../config/schema.js';
import type { RateTracker } from './rates.js';
import { mysqlSummary } from '../collect/mysql.js';
import { indexCollection, type CollectionIndex, type IndexedQueue } from './queue-index.js';
import type { z } from 'zod';
import type { componentViewSchema, groupViewSchema, monitorSnapshotSchema, mysqlViewSchema, queueViewSchema } from './schema.js';

/** `running`: heartbeat younger than `staleAfter`; `stopped`: older; `unknown`: key missing or unreadable (or Redis down). */
export type ComponentStatus = ComponentView['status'];
/** One producer or consumer (a `components:` entry); see `componentViewSchema`. */
export type ComponentView = z.infer<typeof componentViewSchema>;
/** One consumer group of a stream queue; see `groupViewSchema`. */
export type GroupView = z.infer<typeof groupViewSchema>;
/** One queue (declared or discovered); see `queueViewSchema`. */
export type QueueView = z.infer<typeof queueViewSchema>;
/** MySQL load; see `mysqlViewSchema` (the collector's `MysqlSummary` has the same shape). */
export type MysqlView = z.infer<typeof mysqlViewSchema>;
/** `GET /api/monitor`; see `monitorSnapshotSchema`. */
export type MonitorSnapshot = z.infer<typeof monitorSnapshotSchema>;

/** Rate-tracker key of a component's `total`. */
export const componentRateKey = (name: string): string => `component\u0000${name}`;
/** Rate-tracker key of a queue's `processed`. */
export const queueRateKey = (framework: string, name: string): string => `queue\u0000${framework}\u0000${name}`;

/** Rounds to `digits` decimals, keeping `null`; floating noise (1.0009999) never reaches the JSON. */
function round(value: number | null | undefined, digits = 3): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Collections already fed to a tracker (feeding one is O(queues); the monitor and /metrics share collections). */
const observed = new WeakMap<RateTracker, WeakSet<Collection>>();

/**
 * Feeds the counters of `collection` into `tracker`: each component's
 * `queue_component_items_total` and each queue's `queue_processed_total`.
 * Seeing the same collection twice is harmless and costs nothing the second time.
 */
export function observeCollection(tracker: RateTracker, collection: Collection): void {
  let seen = observed.get(tracker);
  if (!seen) observed.set(tracker, (seen = new WeakSet()));
  if (seen.has(collection)) return;
  seen.add(collection);
  const index = indexCollection(collection);
  for (const [name, values] of index.components) {
    const total = values.get('queue_component_items_total');
    if (total !== undefined) tracker.observe(componentRateKey(name), collection.at, total);
  }
  for (const q of index.queues) {
    if (q.processed !== undefined) tracker.observe(queueRateKey(q.framework, q.name), collection.at, q.processed);
  }
  tracker.prune(collection.at);
}

function componentView(c: ComponentConfig, index: CollectionIndex, at: number, tracker: RateTracker): ComponentView {
  const values = index.components.get(c.name);
  const v = (family: string): number | undefined => values?.get(family);
  const ts = v('queue_component_heartbeat_timestamp_seconds');
  const up = v('queue_component_up');
  const status: ComponentStatus = ts === undefined ? 'unknown' : up === 1 ? 'running' : 'stopped';
  const total = c.total ? v('queue_component_items_total') : undefined;
  const rate = c.total && total !== undefined ? tracker.ratePerSecond(componentRateKey(c.name), at) : null;
  const last = v('queue_component_last_duration_seconds');
  const avg = v('queue_component_recent_duration_seconds');
  return {
    status,
    lastHeartbeat: round(ts),
    heartbeatAgeSeconds: round(v('queue_component_heartbeat_age_seconds')),
    staleAfterSeconds: c.staleAfter / 1000,
    total: total ?? null,
    ratePerSecond: round(rate),
    ratePerMinute: round(rate === null ? null : rate * 60),
    lastDurationMs: round(last === undefined ? null : last * 1000),
    avgDurationMs: round(avg === undefined ? null : avg * 1000),
  };
}

/**
 * An empty map without a prototype: keys come from Redis (queue, group names),
 * and a queue called `__proto__` must stay an ordinary entry.
 */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

type State = 'waiting' | 'active' | 'scheduled' | 'retry' | 'dead' | 'completed';
const STATES: ReadonlySet<string> = new Set<State>(['waiting', 'active', 'scheduled', 'retry', 'dead', 'completed']);

function queueView(q: IndexedQueue, at: number, tracker: RateTracker): QueueView {
  // Sums per state (a stream's groups add up); a state with no sample stays null.
  const sums: Partial<Record<State, number>> = {};
  let groups: Record<string, GroupView> | null = null;
  for (const t of q.tasks) {
    const st = t.labels.state;
    if (st !== undefined && STATES.has(st)) sums[st as State] = (sums[st as State] ?? 0) + t.value;
    const group = t.labels.group;
    if (group === undefined) continue;
    groups ??= dict<GroupView>();
    const g = (groups[group] ??= { waiting: null, active: null, oldestTaskAgeSeconds: null });
    if (st === 'waiting') g.waiting = t.value;
    else if (st === 'active') g.active = t.value;
  }
  let oldest: number | null = null;
  for (const s of q.ages) {
    oldest = oldest === null ? s.value : Math.max(oldest, s.value);
    const group = s.labels.group;
    if (group === undefined) continue;
    groups ??= dict<GroupView>();
    const g = (groups[group] ??= { waiting: null, active: null, oldestTaskAgeSeconds: null });
    g.oldestTaskAgeSeconds = round(s.value);
  }

  let windows: Record<string, number> | null = null;
  for (const s of q.windows) {
    const w = s.labels.window;
    if (w === undefined) continue;
    (windows ??= dict<number>())[w] = s.value;
  }

  const rate = q.processed === undefined ? null : tracker.ratePerSecond(queueRateKey(q.framework, q.name), at);
  return {
    name: q.name,
    framework: q.framework,
    waiting: sums.waiting ?? null,
    active: sums.active ?? null,
    scheduled: sums.scheduled ?? null,
    retry: sums.retry ?? null,
    dead: sums.dead ?? null,
    completed: sums.completed ?? null,
    processed: q.processed ?? null,
    failed: q.failed ?? null,
    enqueued: q.enqueued ?? null,
    oldestTaskAgeSeconds: round(oldest),
    windows,
    ratePerSecond: round(rate),
    ratePerMinute: round(rate === null ? null : rate * 60),
    paused: q.paused === undefined ? null : q.paused === 1,
    groups,
  };
}

function mysqlView(config: Config, collection: Collection): MysqlView | null {
  if (!config.mysql) return null;
  return mysqlSummary(collection.value('mysql_up') === 1, (family) => collection.value(family));
}

/** Default number of queues per `GET /api/monitor` answer. */
export const DEFAULT_QUEUE_PAGE = 500;
/** Largest `limit` a caller may ask for. */
export const MAX_QUEUE_PAGE = 5000;

/** Which queues to include: `limit` queues from `offset` on, in the collection's order. */
export interface QueuePage {
  /** Index of the first queue, >= 0. Default 0. */
  readonly offset?: number;
  /** Queues to include, 0..{@link MAX_QUEUE_PAGE}. Default {@link DEFAULT_QUEUE_PAGE}. */
  readonly limit?: number;
}

/**
 * Builds the `GET /api/monitor` answer in time proportional to the page of
 * queues (plus, once per collection, the index: {@link indexCollection}).
 *
 * Queues are keyed by name; when two frameworks use the same name (asynq's
 * `default` and Sidekiq's `default`), each of those is keyed `name@framework`.
 *
 * @param collection the scrape engine's collection (its `at` is "now" for ages and rates)
 * @param config the running config (components and their `staleAfter`; whether MySQL is configured)
 * @param tracker rate samples; call {@link observeCollection} with `collection` first
 * @param page which queues; `page.total` in the answer counts them all
 */
export function buildSnapshot(collection: Collection, config: Config, tracker: RateTracker, page: QueuePage = {}): MonitorSnapshot {
  const index = indexCollection(collection);
  const components = dict<ComponentView>();
  for (const c of config.components) components[c.name] = componentView(c, index, collection.at, tracker);

  const total = index.queues.length;
  const offset = Math.max(0, Math.floor(page.offset ?? 0));
  const limit = Math.min(MAX_QUEUE_PAGE, Math.max(0, Math.floor(page.limit ?? DEFAULT_QUEUE_PAGE)));
  const end = Math.min(total, offset + limit);
  const queues = dict<QueueView>();
  for (let i = offset; i < end; i++) {
    const q = index.queues[i]!;
    const key = index.sharedNames.has(q.name) ? `${q.name}@${q.framework}` : q.name;
    queues[key] = queueView(q, collection.at, tracker);
  }

  return {
    generatedAt: new Date(collection.at).toISOString(),
    components,
    queues,
    page: { offset, limit, total, nextOffset: end < total ? end : null },
    totalWaiting: index.totalWaiting,
    mysql: mysqlView(config, collection),
    redis: { up: collection.value('redis_up') === 1 },
  };
}
