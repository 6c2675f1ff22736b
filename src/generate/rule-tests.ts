/**
 * promtool unit tests for the rules in `alerts.ts`: for every alert a case
 * where it fires (all labels and annotations asserted) and one where it stays
 * silent, plus the recording rules' values. Expected annotations are rendered
 * from the alerts' own texts with the case's values (`vars`), so the tests
 * follow `--lang` and `--alert-prefix`. A group whose data was designed
 * around a threshold's default is left out when that threshold is changed
 * (the output says so).
 */
import type { Severity, Thresholds } from './params.js';

/** One input series; `instance` defaults to `queuescope:9640`, `job` is the generated job unless given. */
export interface SeriesSpec {
  /** why the series is there: a YAML comment above it */
  comment?: string;
  metric: string;
  labels?: Record<string, string>;
  values: string;
}

export interface ExpectedAlert {
  /** which level of a two-level alert; single-level alerts use their (possibly overridden) severity */
  severity?: Severity;
  labels: Record<string, string>;
  /** rendered values: `value` and the lookups' keys */
  vars: Record<string, string>;
}

export interface AlertCheck {
  at: string;
  alert: string;
  /** empty or absent: the alert must be silent */
  fire?: ExpectedAlert[];
}

export interface ExprCheck {
  /** PromQL; `$SEL` is replaced by the job selector */
  expr: string;
  at: string;
  samples: { metric: string; labels: Record<string, string>; value: number }[];
}

export interface TestGroup {
  file: 'queues' | 'streams-backends-self';
  title: string;
  /** thresholds the data was designed for: the group is skipped when one differs from its default */
  uses?: (keyof Thresholds)[];
  series: SeriesSpec[];
  exprs?: ExprCheck[];
  alerts: AlertCheck[];
}

const q = (queue: string, framework: string, extra: Record<string, string> = {}): Record<string, string> => ({ queue, framework, ...extra });

/** The check of a recording rule `metric` at `at`: one expected sample per `[labels, value]`. */
const recorded = (metric: string, at: string, values: [Record<string, string>, number][]): ExprCheck => ({
  expr: metric,
  at,
  samples: values.map(([labels, value]) => ({ metric, labels, value })),
});

/** A two-level alert past twice its threshold: the warning and the critical one of the same series. */
const bothLevels = (labels: Record<string, string>, vars: Record<string, string>): ExpectedAlert[] => [
  { severity: 'warning', labels, vars },
  { severity: 'critical', labels, vars },
];

/** An alert silent at `silentAt` and firing as `fire` at `firingAt`: the two checks every alert gets. */
const silentThenFiring = (alert: string, silentAt: string, firingAt: string, fire: ExpectedAlert[]): AlertCheck[] => [
  { at: silentAt, alert },
  { at: firingAt, alert, fire },
];

export const TEST_GROUPS: readonly TestGroup[] = [
  {
    file: 'queues',
    title: 'QueueBacklogHigh: per-queue thresholds and the default (+ the effective-threshold recording rule)',
    series: [
      { metric: 'queue_default_backlog_threshold', values: '1000x15' },
      { comment: 'no own threshold: the default 1000 applies → warning', metric: 'queue_tasks', labels: q('exam-tasks', 'list', { state: 'waiting' }), values: '1500x15' },
      { metric: 'queue_info', labels: q('exam-tasks', 'list', { key: 'task:queue' }), values: '1x15' },
      { comment: 'no own threshold, more than twice the default → warning and critical', metric: 'queue_tasks', labels: q('crawl', 'asynq', { state: 'waiting' }), values: '2500x15' },
      { metric: 'queue_info', labels: q('crawl', 'asynq', { key: 'asynq:{crawl}:' }), values: '1x15' },
      { comment: 'same queue name, other framework, its own higher threshold: silent (the override wins over the default)', metric: 'queue_tasks', labels: q('crawl', 'sidekiq', { state: 'waiting' }), values: '2500x15' },
      { metric: 'queue_backlog_threshold', labels: q('crawl', 'sidekiq'), values: '5000x15' },
      { comment: 'its own lower threshold: 300 > 2 × 100 → warning and critical although below the default', metric: 'queue_tasks', labels: q('tight', 'list', { state: 'waiting' }), values: '300x15' },
      { metric: 'queue_backlog_threshold', labels: q('tight', 'list'), values: '100x15' },
      { comment: 'below the default: silent; other states never count', metric: 'queue_tasks', labels: q('quiet', 'list', { state: 'waiting' }), values: '10x15' },
      { metric: 'queue_tasks', labels: q('quiet', 'list', { state: 'completed' }), values: '99999x15' },
    ],
    exprs: [
      recorded('queue:queue_backlog_threshold:effective', '6m', [
        [q('exam-tasks', 'list'), 1000],
        [q('crawl', 'asynq'), 1000],
        [q('crawl', 'sidekiq'), 5000],
        [q('tight', 'list'), 100],
      ]),
    ],
    alerts: [
      ...silentThenFiring('QueueBacklogHigh', '4m', '6m', [
        { severity: 'warning', labels: q('exam-tasks', 'list', { state: 'waiting' }), vars: { value: '1.5k', threshold: '1k' } },
        ...bothLevels(q('crawl', 'asynq', { state: 'waiting' }), { value: '2.5k', threshold: '1k' }),
        ...bothLevels(q('tight', 'list', { state: 'waiting' }), { value: '300', threshold: '100' }),
      ]),
    ],
  },
  {
    file: 'queues',
    title: 'QueueBacklogHigh: stream queues carry `group`; a drained backlog stops the alert',
    series: [
      { metric: 'queue_default_backlog_threshold', values: '1000x16' },
      { metric: 'queue_tasks', labels: q('task_stream', 'stream', { group: 'workers', state: 'waiting' }), values: '300x8 0x8' },
      { metric: 'queue_backlog_threshold', labels: q('task_stream', 'stream'), values: '100x16' },
    ],
    alerts: [
      {
        at: '7m',
        alert: 'QueueBacklogHigh',
        fire: [
          ...bothLevels(q('task_stream', 'stream', { group: 'workers', state: 'waiting' }), { value: '300', threshold: '100' }),
        ],
      },
      { at: '12m', alert: 'QueueBacklogHigh' },
    ],
  },
  {
    file: 'queues',
    title: 'QueueBacklogGrowing',
    series: [
      { metric: 'queue_default_backlog_threshold', values: '1000x40' },
      { comment: '+20 per minute, default threshold: 1200 more within the hour, past 1000', metric: 'queue_tasks', labels: q('exam-tasks', 'list', { state: 'waiting' }), values: '0+20x40' },
      { comment: '+1 per minute, default threshold: will not reach it within the hour', metric: 'queue_tasks', labels: q('slow', 'list', { state: 'waiting' }), values: '0+1x40' },
      { comment: '+1 per minute but its own threshold is 30: reached within the hour', metric: 'queue_tasks', labels: q('small', 'list', { state: 'waiting' }), values: '0+1x40' },
      { metric: 'queue_backlog_threshold', labels: q('small', 'list'), values: '30x40' },
      { comment: 'high but flat: not growing', metric: 'queue_tasks', labels: q('flat', 'list', { state: 'waiting' }), values: '900x40' },
      { metric: 'queue_backlog_threshold', labels: q('flat', 'list'), values: '800x40' },
    ],
    alerts: [
      ...silentThenFiring('QueueBacklogGrowing', '10m', '20m', [
        { labels: q('exam-tasks', 'list', { state: 'waiting' }), vars: { value: '1.6k' } },
        { labels: q('small', 'list', { state: 'waiting' }), vars: { value: '80' } },
      ]),
    ],
  },
  {
    file: 'queues',
    title: 'QueueLatencyHigh: per-queue thresholds and the default',
    series: [
      { metric: 'queue_default_latency_threshold_seconds', values: '300x10' },
      { metric: 'queue_oldest_task_age_seconds', labels: q('exam-tasks', 'list'), values: '420x10' },
      { metric: 'queue_latency_threshold_seconds', labels: q('exam-tasks', 'list'), values: '300x10' },
      { comment: 'no own threshold: the default 5m applies, more than twice → warning and critical', metric: 'queue_oldest_task_age_seconds', labels: q('crawl', 'bullmq'), values: '900x10' },
      { comment: 'its own 1h threshold: silent although far above the default', metric: 'queue_oldest_task_age_seconds', labels: q('patient', 'rq'), values: '900x10' },
      { metric: 'queue_latency_threshold_seconds', labels: q('patient', 'rq'), values: '3600x10' },
      { metric: 'queue_oldest_task_age_seconds', labels: q('quiet', 'list'), values: '0x10' },
    ],
    exprs: [
      recorded('queue:queue_latency_threshold_seconds:effective', '6m', [
        [q('exam-tasks', 'list'), 300],
        [q('patient', 'rq'), 3600],
      ]),
    ],
    alerts: [
      ...silentThenFiring('QueueLatencyHigh', '3m', '6m', [
        { severity: 'warning', labels: q('exam-tasks', 'list'), vars: { value: '7m 0s', threshold: '5m 0s' } },
        ...bothLevels(q('crawl', 'bullmq'), { value: '15m 0s', threshold: '5m 0s' }),
      ]),
    ],
  },
  {
    file: 'queues',
    title: 'QueueFailureRateHigh (+ recording rules)',
    uses: ['failureRatio', 'failureMinTasks'],
    series: [
      { comment: '60 processed / min, 6 of them failed: 10 %', metric: 'queue_processed_total', labels: q('exam-tasks', 'list'), values: '0+60x30' },
      { metric: 'queue_failed_total', labels: q('exam-tasks', 'list'), values: '0+6x30' },
      { comment: '50 % failures but only 2 tasks a minute (10 per 5 minutes): below the minimum volume', metric: 'queue_processed_total', labels: q('rare', 'list'), values: '0+2x30' },
      { metric: 'queue_failed_total', labels: q('rare', 'list'), values: '0+1x30' },
      { comment: '1 failure in 60: under 5 %', metric: 'queue_processed_total', labels: q('healthy', 'list'), values: '0+60x30' },
      { metric: 'queue_failed_total', labels: q('healthy', 'list'), values: '0+1x30' },
      { comment: 'idle: nothing processed, no ratio at all', metric: 'queue_processed_total', labels: q('idle', 'list'), values: '5x30' },
      { metric: 'queue_failed_total', labels: q('idle', 'list'), values: '5x30' },
    ],
    exprs: [
      { expr: 'queue:queue_processed:rate5m{queue="exam-tasks"}', at: '10m', samples: [{ metric: 'queue:queue_processed:rate5m', labels: q('exam-tasks', 'list'), value: 1 }] },
      recorded('queue:queue_failure_ratio:rate5m', '10m', [
        [q('exam-tasks', 'list'), 0.1],
        [q('rare', 'list'), 0.5],
        [q('healthy', 'list'), 0.016666666666666666],
      ]),
    ],
    alerts: [
      ...silentThenFiring('QueueFailureRateHigh', '9m', '20m', [{ labels: q('exam-tasks', 'list'), vars: { value: '10%' } }]),
    ],
  },
  {
    file: 'queues',
    title: 'QueueDeadLettersIncreasing',
    series: [
      { metric: 'queue_tasks', labels: q('exam-tasks', 'list', { state: 'dead' }), values: '0 0 0 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5' },
      { metric: 'queue_tasks', labels: q('crawl', 'asynq', { state: 'dead' }), values: '7x25' },
    ],
    alerts: [
      ...silentThenFiring('QueueDeadLettersIncreasing', '2m', '5m', [{ labels: q('exam-tasks', 'list', { state: 'dead' }), vars: { dead: '5' } }]),
      // 15 minutes without growth: quiet again
      { at: '24m', alert: 'QueueDeadLettersIncreasing' },
    ],
  },
  {
    file: 'queues',
    title: 'QueueTasksStuck',
    series: [
      { comment: '3 tasks of a dead worker from minute 2 on', metric: 'queue_tasks', labels: q('crawl', 'asynq', { state: 'stuck' }), values: '0 0 3x20' },
      { comment: 'stuck briefly, then reclaimed: silent', metric: 'queue_tasks', labels: q('flaky', 'bullmq', { state: 'stuck' }), values: '0 2 2 0x20' },
      { metric: 'queue_tasks', labels: q('crawl', 'asynq', { state: 'active' }), values: '50x22' },
    ],
    alerts: [
      ...silentThenFiring('QueueTasksStuck', '8m', '15m', [{ labels: q('crawl', 'asynq', { state: 'stuck' }), vars: { value: '3' } }]),
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'StreamConsumerGroupStalled',
    uses: ['streamIdleSeconds'],
    series: [
      { comment: '5 pending, no consumers, no lag series (Redis < 7): stalled', metric: 'queue_stream_group_pending', labels: { stream: 'task_stream', group: 'workers' }, values: '5x10' },
      { metric: 'queue_stream_group_consumers', labels: { stream: 'task_stream', group: 'workers' }, values: '0x10' },
      { comment: '3 pending + 10 lag, the only consumer idle for 10 minutes: stalled', metric: 'queue_stream_group_pending', labels: { stream: 'crawl_stream', group: 'crawlers' }, values: '3x10' },
      { metric: 'queue_stream_group_lag', labels: { stream: 'crawl_stream', group: 'crawlers' }, values: '10x10' },
      { metric: 'queue_stream_group_consumers', labels: { stream: 'crawl_stream', group: 'crawlers' }, values: '1x10' },
      { metric: 'queue_stream_consumer_idle_seconds', labels: { stream: 'crawl_stream', group: 'crawlers', consumer: 'c1' }, values: '600+60x10' },
      { comment: 'pending, but one of two consumers is active: silent', metric: 'queue_stream_group_pending', labels: { stream: 'busy_stream', group: 'g' }, values: '3x10' },
      { metric: 'queue_stream_group_lag', labels: { stream: 'busy_stream', group: 'g' }, values: '50x10' },
      { metric: 'queue_stream_group_consumers', labels: { stream: 'busy_stream', group: 'g' }, values: '2x10' },
      { metric: 'queue_stream_consumer_idle_seconds', labels: { stream: 'busy_stream', group: 'g', consumer: 'a' }, values: '900x10' },
      { metric: 'queue_stream_consumer_idle_seconds', labels: { stream: 'busy_stream', group: 'g', consumer: 'b' }, values: '1x10' },
      { comment: 'nothing to do and nobody listening: silent', metric: 'queue_stream_group_pending', labels: { stream: 'empty_stream', group: 'g' }, values: '0x10' },
      { metric: 'queue_stream_group_lag', labels: { stream: 'empty_stream', group: 'g' }, values: '0x10' },
      { metric: 'queue_stream_group_consumers', labels: { stream: 'empty_stream', group: 'g' }, values: '0x10' },
    ],
    alerts: [
      ...silentThenFiring('StreamConsumerGroupStalled', '1m', '3m', [
        { labels: { stream: 'task_stream', group: 'workers', queue: 'task_stream' }, vars: { value: '5' } },
        { labels: { stream: 'crawl_stream', group: 'crawlers', queue: 'crawl_stream' }, vars: { value: '13' } },
      ]),
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'ComponentDown',
    series: [
      { metric: 'queue_component_up', labels: { component: 'consumer' }, values: '0x10' },
      { metric: 'queue_component_heartbeat_age_seconds', labels: { component: 'consumer' }, values: '90+60x10' },
      { metric: 'queue_component_up', labels: { component: 'simulator' }, values: '1x10' },
      { comment: 'down only briefly: silent', metric: 'queue_component_up', labels: { component: 'flaky' }, values: '1 0 1 1 1 1 1 1 1 1' },
    ],
    alerts: [
      ...silentThenFiring('ComponentDown', '1m', '3m', [{ labels: { component: 'consumer' }, vars: { heartbeatAge: '4m 30s' } }]),
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'QueuescopeRedisDown, QueuescopeMySQLDown',
    series: [
      { metric: 'redis_up', values: '1 0 0 0 0' },
      { metric: 'redis_up', labels: { instance: 'queuescope-b:9640' }, values: '1x5' },
      { comment: 'another exporter\'s redis_up under another job: never ours', metric: 'redis_up', labels: { instance: 'redis-exporter:9121', job: 'redis' }, values: '0x5' },
      { metric: 'mysql_up', values: '0x5' },
      { metric: 'mysql_up', labels: { instance: 'queuescope-b:9640' }, values: '1x5' },
      { metric: 'mysql_up', labels: { instance: 'mysqld-exporter:9104', job: 'mysql' }, values: '0x5' },
    ],
    alerts: [
      ...silentThenFiring('QueuescopeRedisDown', '1m', '3m', [{ labels: {}, vars: {} }]),
      ...silentThenFiring('QueuescopeMySQLDown', '0m', '2m', [{ labels: {}, vars: {} }]),
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'MySQLConnectionsNearLimit, MySQLSlowQueries',
    uses: ['mysqlConnectionsRatio', 'slowQueriesPerSecond'],
    series: [
      { metric: 'mysql_global_status_threads_connected', values: '90x20' },
      { metric: 'mysql_global_variables_max_connections', values: '100x20' },
      { metric: 'mysql_global_status_threads_connected', labels: { instance: 'queuescope-b:9640' }, values: '50x20' },
      { metric: 'mysql_global_variables_max_connections', labels: { instance: 'queuescope-b:9640' }, values: '100x20' },
      { comment: '12 slow queries a minute = 0.2/s', metric: 'mysql_global_status_slow_queries', values: '0+12x20' },
      { comment: '3 a minute = 0.05/s: silent', metric: 'mysql_global_status_slow_queries', labels: { instance: 'queuescope-b:9640' }, values: '0+3x20' },
    ],
    alerts: [
      ...silentThenFiring('MySQLConnectionsNearLimit', '4m', '6m', [{ labels: {}, vars: { value: '90%' } }]),
      ...silentThenFiring('MySQLSlowQueries', '9m', '15m', [{ labels: {}, vars: { value: '0.20' } }]),
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'QueuescopeDown, QueuescopeCollectorFailing, QueuescopeNotificationsFailing',
    series: [
      { metric: 'up', values: '0x10' },
      { metric: 'up', labels: { instance: 'queuescope-b:9640' }, values: '1x10' },
      { metric: 'up', labels: { instance: 'node:9100', job: 'node' }, values: '0x10' },
      { metric: 'queuescope_scrape_collector_success', labels: { collector: 'mysql' }, values: '0x10' },
      { metric: 'queuescope_scrape_collector_success', labels: { collector: 'redis' }, values: '1x10' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'dingtalk', target: 'ops', outcome: 'failed' }, values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'failed' }, values: '0x25' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'sent' }, values: '0+5x25' },
      { comment: 'outcomes of the durable outbox: none of them is a failure', metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'stored' }, values: '0+5x25' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'superseded' }, values: '0+1x25' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'deduplicated' }, values: '0+1x25' },
      { metric: 'queuescope_notifications_total', labels: { channel: 'wecom', target: 'backend', outcome: 'recovered' }, values: '0 3x24' },
    ],
    alerts: [
      ...silentThenFiring('QueuescopeDown', '1m', '3m', [{ labels: {}, vars: {} }]),
      ...silentThenFiring('QueuescopeCollectorFailing', '4m', '6m', [{ labels: { collector: 'mysql' }, vars: {} }]),
      ...silentThenFiring('QueuescopeNotificationsFailing', '2m', '4m', [{ labels: { channel: 'dingtalk', target: 'ops', outcome: 'failed' }, vars: {} }]),
      { at: '20m', alert: 'QueuescopeNotificationsFailing' },
    ],
  },
  {
    file: 'streams-backends-self',
    title: 'QueuescopeNotificationsUndelivered',
    uses: ['undeliveredSeconds'],
    series: [
      { comment: 'nothing taken by the robot since minute 0: older than 10m from minute 11 on', metric: 'queuescope_notification_oldest_undelivered_age_seconds', labels: { channel: 'dingtalk', target: 'ops' }, values: '0+60x20' },
      { comment: 'delivered within seconds: silent', metric: 'queuescope_notification_oldest_undelivered_age_seconds', labels: { channel: 'wecom', target: 'backend' }, values: '0 5 0x18' },
    ],
    alerts: [
      ...silentThenFiring('QueuescopeNotificationsUndelivered', '12m', '18m', [{ labels: { channel: 'dingtalk', target: 'ops' }, vars: { value: '18m 0s' } }]),
    ],
  },
];
