/** Alertmanager webhook payloads (version 4) for relay tests. */
import type { WebhookAlert, WebhookPayload } from '../../src/relay/payload.js';

export interface AlertOptions {
  status?: 'firing' | 'resolved';
  alertname?: string;
  queue?: string;
  severity?: string;
  summary?: string;
  description?: string;
}

/** An alert like Prometheus + Alertmanager send for the queuescope rules. */
export function makeAlert(i: number, o: AlertOptions = {}): WebhookAlert {
  const status = o.status ?? 'firing';
  const queue = o.queue ?? `queue-${i}`;
  return {
    status,
    labels: {
      alertname: o.alertname ?? 'QueueBacklogHigh',
      severity: o.severity ?? 'critical',
      queue,
      framework: 'list',
      instance: 'queuescope:9640',
      job: 'queuescope',
    },
    annotations: {
      summary: o.summary ?? `队列 ${queue} 积压 ${1000 + i} 条`,
      description: o.description ?? `队列 ${queue} 的等待任务数超过阈值 1000 已持续 5 分钟。`,
      runbook_url: 'https://example.com/runbooks/queue-backlog',
    },
    startsAt: '2024-03-01T02:03:04.123Z',
    endsAt: status === 'resolved' ? '2024-03-01T03:00:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus:9090/graph?g0.expr=queue_tasks&i=${i}`,
    fingerprint: `fp${i.toString(16).padStart(14, '0')}`,
  };
}

/** A webhook payload around `alerts`; its `groupKey` is Alertmanager's for `group_by: [alertname, queue]` of the first alert. */
export function makePayload(alerts: WebhookAlert[], over: Partial<WebhookPayload> = {}): WebhookPayload {
  const first = alerts[0]?.labels ?? {};
  return {
    version: '4',
    groupKey: `{}:{alertname="${first.alertname ?? ''}", queue="${first.queue ?? ''}"}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'critical',
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
    ...over,
  };
}
