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

/**
 * Feeds the counters of `collection` into `tracker`: each component's
 * `queue_component_items_total` and each queue's `queue_processed_total`.
 * Seeing the same collection twice is harmless (same timestamp, ignored).
 */
export function observeCollection(tracker: RateTracker, collection: Collection): void {
  for (const s of collection.find('queue_component_items_total')) {
    const name = s.labels.component;
    if (name !== undefined) tracker.observe(componentRateKey(name), collection.at, s.value);
  }
  for (const s of collection.find('queue_processed_total')) {
    const { queue, framework } = s.labels;
    if (queue !== undefined && framework !== undefined) tracker.observe(queueRateKey(framework, queue), collection.at, s.value);
  }
  tracker.prune(collection.at);
}

function componentView(c: ComponentConfig, collection: Collection, tracker: RateTracker): ComponentView {
  const labels = { component: c.name };
  const ts = collection.value('queue_component_heartbeat_timestamp_seconds', labels);
  const up = collection.value('queue_component_up', labels);
  const status: ComponentStatus = ts === undefined ? 'unknown' : up === 1 ? 'running' : 'stopped';
  const total = c.total ? collection.value('queue_component_items_total', labels) : undefined;
  const rate = c.total && total !== undefined ? tracker.ratePerSecond(componentRateKey(c.name), collection.at) : null;
  const last = collection.value('queue_component_last_duration_seconds', labels);
  const avg = collection.value('queue_component_recent_duration_seconds', labels);
  return {
    status,
    lastHeartbeat: round(ts),
    heartbeatAgeSeconds: round(collection.value('queue_component_heartbeat_age_seconds', labels)),
    staleAfterSeconds: c.staleAfter / 1000,
    total: total ?? null,
    ratePerSecond: round(rate),
    ratePerMinute: round(rate === null ? null : rate * 60),
    lastDurationMs: round(last === undefined ? null : last * 1000),
    avgDurationMs: round(avg === undefined ? null : avg * 1000),
  };
}

const STATES = ['waiting', 'active', 'scheduled', 'retry', 'dead', 'completed'] as const;

/**
 * An empty map without a prototype: keys come from Redis (queue, group names),
 * and a queue called `__proto__` must stay an ordinary entry.
 */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function sumOrNull(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
}

function queueView(name: string, framework: string, collection: Collection, tracker: RateTracker): QueueView {
  const match = { queue: name, framework };
  const tasks = collection.find('queue_tasks', match);
  const state = (s: string): number | null => sumOrNull(tasks.filter((t) => t.labels.state === s).map((t) => t.value));
  const ages = collection.find('queue_oldest_task_age_seconds', match).map((s) => s.value);

  let groups: Record<string, GroupView> | null = null;
  for (const t of tasks) {
    const group = t.labels.group;
    if (group === undefined) continue;
    groups ??= dict<GroupView>();
    const g = (groups[group] ??= { waiting: null, active: null, oldestTaskAgeSeconds: null });
    if (t.labels.state === 'waiting') g.waiting = t.value;
    else if (t.labels.state === 'active') g.active = t.value;
  }
  for (const s of collection.find('queue_oldest_task_age_seconds', match)) {
    const group = s.labels.group;
    if (group === undefined) continue;
    groups ??= dict<GroupView>();
    const g = (groups[group] ??= { waiting: null, active: null, oldestTaskAgeSeconds: null });
    g.oldestTaskAgeSeconds = round(s.value);
  }

  let windows: Record<string, number> | null = null;
  for (const s of collection.find('queue_window_tasks', match)) {
    const w = s.labels.window;
    if (w === undefined) continue;
    (windows ??= dict<number>())[w] = s.value;
  }

  const processed = collection.value('queue_processed_total', match);
  const rate = processed === undefined ? null : tracker.ratePerSecond(queueRateKey(framework, name), collection.at);
  const paused = collection.value('queue_paused', match);
  const [waiting, active, scheduled, retry, dead, completed] = STATES.map(state);
  return {
    name,
    framework,
    waiting: waiting ?? null,
    active: active ?? null,
    scheduled: scheduled ?? null,
    retry: retry ?? null,
    dead: dead ?? null,
    completed: completed ?? null,
    processed: processed ?? null,
    failed: collection.value('queue_failed_total', match) ?? null,
    enqueued: collection.value('queue_enqueued_total', match) ?? null,
    oldestTaskAgeSeconds: round(ages.length === 0 ? null : Math.max(...ages)),
    windows,
    ratePerSecond: round(rate),
    ratePerMinute: round(rate === null ? null : rate * 60),
    paused: paused === undefined ? null : paused === 1,
    groups,
  };
}

/**
 * The queues of a collection as `[name, framework]` pairs, in first-seen order:
 * `queue_info` (present for declared queues even when Redis is down) plus any
 * pair only `queue_tasks` mentions.
 */
function queueIds(collection: Collection): Array<[string, string]> {
  const seen = new Map<string, [string, string]>();
  for (const family of ['queue_info', 'queue_tasks']) {
    for (const s of collection.find(family)) {
      const { queue, framework } = s.labels;
      if (queue === undefined || framework === undefined) continue;
      const id = `${framework}\u0000${queue}`;
      if (!seen.has(id)) seen.set(id, [queue, framework]);
    }
  }
  return [...seen.values()];
}

function mysqlView(config: Config, collection: Collection): MysqlView | null {
  if (!config.mysql) return null;
  return mysqlSummary(collection.value('mysql_up') === 1, (family) => collection.value(family));
}

/**
 * Builds the `GET /api/monitor` answer.
 *
 * Queues are keyed by name; when two frameworks use the same name (asynq's
 * `default` and Sidekiq's `default`), each of those is keyed `name@framework`.
 *
 * @param collection the scrape engine's collection (its `at` is "now" for ages and rates)
 * @param config the running config (components and their `staleAfter`; whether MySQL is configured)
 * @param tracker rate samples; call {@link observeCollection} with `collection` first
 */
export function buildSnapshot(collection: Collection, config: Config, tracker: RateTracker): MonitorSnapshot {
  const components = dict<ComponentView>();
  for (const c of config.components) components[c.name] = componentView(c, collection, tracker);

  const ids = queueIds(collection);
  const nameCount = new Map<string, number>();
  for (const [name] of ids) nameCount.set(name, (nameCount.get(name) ?? 0) + 1);
  const queues = dict<QueueView>();
  for (const [name, framework] of ids) {
    const key = (nameCount.get(name) ?? 0) > 1 ? `${name}@${framework}` : name;
    queues[key] = queueView(name, framework, collection, tracker);
  }

  return {
    generatedAt: new Date(collection.at).toISOString(),
    components,
    queues,
    mysql: mysqlView(config, collection),
    redis: { up: collection.value('redis_up') === 1 },
  };
}
