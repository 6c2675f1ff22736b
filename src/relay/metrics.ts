/**
 * The relay's metrics (shared/spec/metrics.md), registered into the app's
 * prom-client registry. Registering twice into the same registry (a second
 * relay after a reload) reuses the existing metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** `outcome` label values of `queuescope_notifications_total`. */
export type NotificationOutcome = 'sent' | 'failed' | 'retried' | 'truncated' | 'merged';
/** Every outcome, for pre-creating series at 0 (so `increase()` sees the first failure). */
export const NOTIFICATION_OUTCOMES: readonly NotificationOutcome[] = ['sent', 'failed', 'retried', 'truncated', 'merged'];

type Labels = 'channel' | 'target';

/** The three relay metrics. */
export interface RelayMetrics {
  /**
   * `queuescope_notifications_total{channel,target,outcome}`, counting notifications:
   * sent = delivered (a digest of n adds n), merged = folded into another
   * notification's message (a digest of n adds n−1), failed = refused
   * permanently by the robot or not delivered before shutdown; and robot
   * messages: retried = calls repeated after a rate-limit errcode, 5xx or
   * timeout, truncated = messages cut to the robot's byte limit.
   */
  readonly notifications: Counter<Labels | 'outcome'>;
  /** `queuescope_notification_queue_length{channel,target}`: notifications waiting for the robot's rate limit. */
  readonly queueLength: Gauge<Labels>;
  /** `queuescope_notification_send_duration_seconds{channel,target}`: one robot HTTP call, seconds. */
  readonly sendDuration: Histogram<Labels>;
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
      help: 'Alertmanager notifications relayed to robots, by outcome: sent, failed (refused permanently or undelivered at shutdown), merged (folded into another message), retried (robot calls repeated), truncated (messages cut to the size limit).',
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
  return { notifications, queueLength, sendDuration };
}
