/**
 * The relay's metrics (shared/spec/metrics.md), registered into the app's
 * prom-client registry. Registering twice into the same registry (a second
 * relay after a reload) reuses the existing metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** `outcome` label values of `queuescope_notifications_total`. */
export type NotificationOutcome = 'sent' | 'failed' | 'retried' | 'truncated' | 'merged' | 'stored' | 'superseded' | 'deduplicated' | 'recovered';
/** Every outcome, for pre-creating series at 0 (so `increase()` sees the first failure). */
export const NOTIFICATION_OUTCOMES: readonly NotificationOutcome[] = ['sent', 'failed', 'retried', 'truncated', 'merged', 'stored', 'superseded', 'deduplicated', 'recovered'];

/** `outcome` label values of `queuescope_notification_leases_total`. */
export type LeaseOutcome = 'acquired' | 'taken_over' | 'lost' | 'released';
export const LEASE_OUTCOMES: readonly LeaseOutcome[] = ['acquired', 'taken_over', 'lost', 'released'];

type Labels = 'channel' | 'target';

/** The relay metrics. */
export interface RelayMetrics {
  /**
   * `queuescope_notifications_total{channel,target,outcome}`, counting notifications:
   * sent = delivered (a digest of n adds n), merged = folded into another
   * notification's message (a digest of n adds n−1), failed = refused
   * permanently by the robot or not delivered before shutdown; and robot
   * messages: retried = calls repeated after a rate-limit errcode, 5xx or
   * timeout, truncated = messages cut to the robot's byte limit; and the
   * store: stored = accepted as a new entry, superseded = merged into the
   * queued entry of the same group, deduplicated = the same notification
   * accepted already (HA fan-out), recovered = found undelivered in the store
   * at start (or taken over from a replica that died mid-send).
   */
  readonly notifications: Counter<Labels | 'outcome'>;
  /** `queuescope_notification_queue_length{channel,target}`: notifications waiting for the robot's rate limit. */
  readonly queueLength: Gauge<Labels>;
  /** `queuescope_notification_send_duration_seconds{channel,target}`: one robot HTTP call, seconds. */
  readonly sendDuration: Histogram<Labels>;
  /** `queuescope_notification_store_bytes`: payload bytes the outbox store holds (shared store: as last read from Redis). */
  readonly storeBytes: Gauge;
  /** `queuescope_notification_oldest_undelivered_age_seconds{channel,target}`: age of the oldest accepted, undelivered notification; 0 when nothing waits. */
  readonly oldestAge: Gauge<Labels>;
  /** `queuescope_notification_leases_total{outcome}`: robot sender leases (shared store only). */
  readonly leases: Counter<'outcome'>;
}

/** Callbacks run when the age / bytes gauges are scraped (so an age grows while nothing else happens). */
const collectHooks = new WeakMap<object, Set<() => void>>();

/** Runs `hook` whenever `gauge` is collected; returns a function that removes it. */
export function onCollect(gauge: Gauge<string>, hook: () => void): () => void {
  let set = collectHooks.get(gauge);
  if (!set) collectHooks.set(gauge, (set = new Set()));
  set.add(hook);
  return () => set.delete(hook);
}

function runHooks(this: object): void {
  for (const hook of collectHooks.get(this) ?? []) hook();
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** Creates (or finds) the relay metrics in `registry`. */
export function relayMetrics(registry: Registry): RelayMetrics {
  const notifications =
    existing<Counter<Labels | 'outcome'>>(registry, 'queuescope_notifications_total') ??
    new Counter({
      name: 'queuescope_notifications_total',
      help: 'Alertmanager notifications relayed to robots, by outcome: sent, failed (refused permanently), merged (folded into another message), retried (robot calls repeated), truncated (messages cut to the size limit), stored, superseded (replaced by a newer notification of the same group), deduplicated (received twice), recovered (found undelivered at start).',
      labelNames: ['channel', 'target', 'outcome'],
      registers: [registry],
    });
  const queueLength =
    existing<Gauge<Labels>>(registry, 'queuescope_notification_queue_length') ??
    new Gauge({
      name: 'queuescope_notification_queue_length',
      help: "Notifications waiting for the robot's rate limit.",
      labelNames: ['channel', 'target'],
      registers: [registry],
    });
  const sendDuration =
    existing<Histogram<Labels>>(registry, 'queuescope_notification_send_duration_seconds') ??
    new Histogram({
      name: 'queuescope_notification_send_duration_seconds',
      help: 'Duration of one robot HTTP call (DingTalk / WeCom webhook), seconds.',
      labelNames: ['channel', 'target'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  const storeBytes =
    existing<Gauge>(registry, 'queuescope_notification_store_bytes') ??
    new Gauge({
      name: 'queuescope_notification_store_bytes',
      help: 'Bytes of notification payloads held in the relay outbox store (notify.store.maxBytes caps it).',
      registers: [registry],
      collect: runHooks,
    });
  const oldestAge =
    existing<Gauge<Labels>>(registry, 'queuescope_notification_oldest_undelivered_age_seconds') ??
    new Gauge({
      name: 'queuescope_notification_oldest_undelivered_age_seconds',
      help: 'Age of the oldest accepted notification not yet delivered to the robot, seconds; 0 when nothing waits.',
      labelNames: ['channel', 'target'],
      registers: [registry],
      collect: runHooks,
    });
  const leases =
    existing<Counter<'outcome'>>(registry, 'queuescope_notification_leases_total') ??
    new Counter({
      name: 'queuescope_notification_leases_total',
      help: 'Robot sender leases of the shared outbox: acquired, taken_over (from a replica that died mid-send), lost (another replica holds it now), released (shutdown).',
      labelNames: ['outcome'],
      registers: [registry],
    });
  return { notifications, queueLength, sendDuration, storeBytes, oldestAge, leases };
}
