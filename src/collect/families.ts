/**
 * The table of every metric family the scrape engine produces (the contract in
 * `shared/spec/metrics.md`). HELP says where the value comes from. Self-metrics
 * of the process and the relay live in prom-client (`src/metrics/registry.ts`).
 */
import type { MetricType } from './types.js';

/** Declaration of one metric family. */
export interface FamilyDef {
  readonly type: MetricType;
  readonly help: string;
}

const g = (help: string): FamilyDef => ({ type: 'gauge', help });
const c = (help: string): FamilyDef => ({ type: 'counter', help });
const info = (help: string): FamilyDef => ({ type: 'info', help });

/**
 * Family name -> declaration. Counter names carry `_total` here as they do in
 * the text exposition; the OpenMetrics writer strips it for the family line.
 */
export const FAMILIES = {
  // Queues (any backend)
  queue_tasks: g('Tasks per state (waiting: LLEN / stream group lag / framework pending list; active, scheduled, retry, dead, completed, deferred, aggregating, canceled: the framework\'s own list or sorted set; stuck: active work whose owner is gone: expired lease, missing lock, started past expiry, stale heartbeat, PEL entry idle past the threshold).'),
  queue_oldest_task_age_seconds: g('Seconds since the oldest waiting task was enqueued (stream: first entry after the group\'s last-delivered-id; list: the head task\'s created_at; framework enqueue timestamps). 0 when nothing waits.'),
  queue_enqueued_total: c('Tasks ever enqueued (HLEN of the details hash; stream entries-added; framework counters).'),
  queue_processed_total: c('Tasks that finished processing, successful or not (SCARD done + SCARD failed; processed counters).'),
  queue_failed_total: c('Failed task attempts (SCARD failed; failed counters).'),
  queue_window_tasks: g('Tasks in the timeline sorted set within the trailing window (ZCOUNT timeline now-window now).'),
  queue_paused: g('1 when the framework marks the queue paused.'),
  queue_backlog_threshold: g('Waiting-task threshold from the queuescope config, for alert rules; only for queues whose threshold differs from queue_default_backlog_threshold.'),
  queue_latency_threshold_seconds: g('Oldest-task-age threshold in seconds from the queuescope config, for alert rules; only for queues whose threshold differs from queue_default_latency_threshold_seconds.'),
  queue_default_backlog_threshold: g('Waiting-task threshold of every queue without its own queue_backlog_threshold (the queuescope default), for alert rules.'),
  queue_default_latency_threshold_seconds: g('Oldest-task-age threshold in seconds of every queue without its own queue_latency_threshold_seconds (the queuescope default), for alert rules.'),
  queue_info: info('One series per queue; key is the main Redis key or key prefix.'),
  queue_workers: g('Live worker processes serving the queue where the framework records them (Sidekiq processes SCARD processes, RQ SCARD rq:workers:<q>, BullMQ CLIENT LIST names); queue="*" where kept globally.'),
  queue_broker_unacked: g('Messages delivered to a Celery worker and not yet acknowledged (HLEN of kombu\'s global unacked hash).'),

  // Streams (detail)
  queue_stream_length: g('Entries in the stream (XINFO STREAM length).'),
  queue_stream_entries_added_total: c('Entries ever added to the stream (XINFO STREAM entries-added, Redis >= 7).'),
  queue_stream_last_entry_timestamp_seconds: g('Unix time of the last generated entry id (millisecond part of XINFO STREAM last-generated-id).'),
  queue_stream_groups: g('Consumer groups of the stream (XINFO STREAM groups).'),
  queue_stream_group_consumers: g('Consumers in the group (XINFO GROUPS consumers).'),
  queue_stream_group_pending: g('Entries delivered to the group but not acknowledged: the PEL size (XINFO GROUPS pending).'),
  queue_stream_group_lag: g('Entries not yet delivered to the group (XINFO GROUPS lag, Redis >= 7; absent when Redis reports it unknown).'),
  queue_stream_group_oldest_pending_age_seconds: g('Seconds since the oldest pending entry was added (XPENDING summary: now - millisecond part of the smallest pending id).'),
  queue_stream_consumer_pending: g('Entries pending for the consumer (XINFO CONSUMERS pending).'),
  queue_stream_consumer_idle_seconds: g('Seconds since the consumer last interacted with the stream (XINFO CONSUMERS idle / 1000).'),

  // Components
  queue_component_heartbeat_timestamp_seconds: g('Unix time of the component\'s last heartbeat (GET heartbeat key; unix seconds or milliseconds, auto-detected).'),
  queue_component_heartbeat_age_seconds: g('Seconds since the component\'s last heartbeat.'),
  queue_component_up: g('1 when the heartbeat exists and is younger than staleAfter.'),
  queue_component_items_total: c('Items the component reports as written or processed (GET total key).'),
  queue_component_last_duration_seconds: g('Duration of the component\'s last item (GET lastDuration key, milliseconds / 1000).'),
  queue_component_recent_duration_seconds: g('Average duration of the component\'s recent items (mean of LRANGE durations 0 -1, milliseconds / 1000).'),

  // Redis
  redis_up: g('1 when the scrape\'s Redis batch succeeded.'),
  queuescope_scrape_redis_commands: g('Commands sent to Redis by the last collection.'),
  queuescope_scrape_redis_roundtrips: g('Pipelined batches (round trips) sent to Redis by the last collection.'),
  queuescope_scrape_collector_success: g('1 when the collector read everything it planned in the last collection.'),
  queuescope_scrape_collector_duration_seconds: g('Seconds the collector took in the last collection.'),
  queuescope_discovered_queues: g('Queues found by the last discovery pass, per framework.'),
  queuescope_discovery_duration_seconds: g('Seconds the last discovery pass took.'),
  queuescope_discovery_truncated: g('1 when scrape.maxQueues (a cap per framework) cut this framework\'s queues in the last discovery pass.'),
} as const satisfies Record<string, FamilyDef>;

/** A family name the engine knows; MySQL families are dynamic and declared by the MySQL collector. */
export type FamilyName = keyof typeof FAMILIES;
