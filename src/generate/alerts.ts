/**
 * The one source of queuescope's Prometheus rules: every alert and recording
 * rule, with its PromQL (carrying the job selector), severity, `for`,
 * runbook anchor and its summary / description in Chinese and English.
 * `prometheus.ts` renders these into rule files (or a PrometheusRule), and
 * `rule-tests.ts` holds the promtool cases whose expected annotations are
 * rendered from the same texts.
 *
 * Metric names: shared/spec/metrics.md. Alert set: shared/spec/alerting.md.
 */
import type { Fmt, LookupSpec } from './annotation-text.js';
import { jobSelector, type GenerateParams, type Lang, type Severity, type Thresholds } from './params.js';

/** What an expression or text may depend on. */
export interface RuleContext {
  /** `job="…"` */
  sel: string;
  t: Thresholds;
  lang: Lang;
}

export interface AlertText {
  summary: string;
  description: string;
}

/** One alert rule (two-level alerts are two definitions with the same name). */
export interface AlertDef {
  /** the base name; the rendered name is `alertPrefix + name` */
  name: string;
  group: 'queuescope-queues' | 'queuescope-backends' | 'queuescope-self';
  severity: Severity;
  /** true for the levels of a two-level alert: `--severity` does not apply */
  fixedSeverity?: boolean;
  /** a YAML comment above the rule (why, not what) */
  comment?: string;
  expr(c: RuleContext): string;
  for?: string;
  /** the README anchor of its runbook row */
  anchor: string;
  text: Record<Lang, (f: Fmt, c: RuleContext) => AlertText>;
}

export interface RecordingDef {
  record: string;
  comment: string;
  expr(c: RuleContext): string;
}

export function ruleContext(p: GenerateParams): RuleContext {
  return { sel: jobSelector(p), t: p.thresholds, lang: p.lang };
}

/** `0.05` → `5%` */
export const percent = (ratio: number): string => `${Number((ratio * 100).toFixed(4))}%`;

/** `600` → `10 分钟` / `10 minutes` (whole minutes when possible, else seconds). */
export function spokenDuration(seconds: number, lang: Lang): string {
  if (seconds % 60 === 0) return lang === 'zh' ? `${seconds / 60} 分钟` : `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  return lang === 'zh' ? `${seconds} 秒` : `${seconds} seconds`;
}

/** The effective threshold of the alert's queue: its own gauge, else the sidecar's default (issue 14). */
const thresholdLookup = (perQueue: string, dflt: string, format: LookupSpec['format']): LookupSpec => ({
  key: 'threshold',
  promql: `(${perQueue}{instance=%q,job=%q,queue=%q,framework=%q} or on() ${dflt}{instance=%q,job=%q})`,
  args: ['instance', 'job', 'queue', 'framework', 'instance', 'job'],
  format,
});
const BACKLOG_THRESHOLD = thresholdLookup('queue_backlog_threshold', 'queue_default_backlog_threshold', 'humanize');
const LATENCY_THRESHOLD = thresholdLookup('queue_latency_threshold_seconds', 'queue_default_latency_threshold_seconds', 'humanizeDuration');

/**
 * `left` above the queue's threshold (times `factor`): the per-queue gauge
 * where the sidecar exports one, else the sidecar's one default series.
 * `left` keeps its labels (stream queues carry `group`: many left series per
 * threshold, hence `group_left`).
 */
function overThreshold(left: string, perQueue: string, dflt: string, factor: number, sel: string): string {
  const f = factor === 1 ? '' : `${factor} * `;
  return `(
  ${left}
    > on(instance, job, queue, framework) group_left()
  (${f}${perQueue}{${sel}})
)
or
(
  (${left} unless on(instance, job, queue, framework) ${perQueue}{${sel}})
    > on(instance, job) group_left()
  (${f}${dflt}{${sel}})
)`;
}

const waiting = (sel: string): string => `queue_tasks{${sel}, state="waiting"}`;

/** `（list，消费组 g）` / ` (list, consumer group g)` */
const where = (f: Fmt, lang: Lang): string =>
  lang === 'zh'
    ? `（${f.label('framework')}${f.withLabel('group', (g) => `，消费组 ${g}`)}）`
    : ` (${f.label('framework')}${f.withLabel('group', (g) => `, consumer group ${g}`)})`;

export const ALERTS: readonly AlertDef[] = [
  {
    name: 'QueueBacklogHigh',
    group: 'queuescope-queues',
    severity: 'warning',
    fixedSeverity: true,
    comment: 'threshold: the queue\'s queue_backlog_threshold where it has its own, else queue_default_backlog_threshold',
    expr: ({ sel }) => overThreshold(waiting(sel), 'queue_backlog_threshold', 'queue_default_backlog_threshold', 1, sel),
    for: '5m',
    anchor: 'queuebackloghigh',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 积压 ${f.value('humanize')} 条`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}等待中的任务数 ${f.value('humanize')} 已超过阈值 ${f.lookup(BACKLOG_THRESHOLD)} 持续 5 分钟。请检查消费者是否在运行、处理是否变慢。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')} has ${f.value('humanize')} tasks waiting`,
        description: `Queue ${f.label('queue')}${where(f, 'en')} has had ${f.value('humanize')} waiting tasks, above its threshold of ${f.lookup(BACKLOG_THRESHOLD)}, for 5 minutes. Check that its consumers are running and not slowed down.`,
      }),
    },
  },
  {
    name: 'QueueBacklogHigh',
    group: 'queuescope-queues',
    severity: 'critical',
    fixedSeverity: true,
    expr: ({ sel }) => overThreshold(waiting(sel), 'queue_backlog_threshold', 'queue_default_backlog_threshold', 2, sel),
    for: '5m',
    anchor: 'queuebackloghigh',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 严重积压 ${f.value('humanize')} 条`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}等待中的任务数 ${f.value('humanize')} 已超过阈值 ${f.lookup(BACKLOG_THRESHOLD)} 的两倍持续 5 分钟。请立即扩容消费者或排查故障。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')} has ${f.value('humanize')} tasks waiting, twice its threshold`,
        description: `Queue ${f.label('queue')}${where(f, 'en')} has had ${f.value('humanize')} waiting tasks, more than twice its threshold of ${f.lookup(BACKLOG_THRESHOLD)}, for 5 minutes. Add consumers or investigate now.`,
      }),
    },
  },
  {
    name: 'QueueBacklogGrowing',
    group: 'queuescope-queues',
    severity: 'warning',
    comment: 'rising for 15m and, at that pace, past the (per-queue or default) threshold within the hour',
    expr: ({ sel }) =>
      `(
${overThreshold(`predict_linear(${waiting(sel)}[15m], 3600)`, 'queue_backlog_threshold', 'queue_default_backlog_threshold', 1, sel).replace(/^/gm, '  ')}
)
and
deriv(${waiting(sel)}[15m]) > 0`,
    for: '15m',
    anchor: 'queuebackloggrowing',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 积压持续增长`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}等待中的任务在过去 15 分钟持续增加，按当前速度 1 小时内将超过阈值（预计 ${f.value('humanize')} 条）。生产速度高于消费速度。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')}'s backlog keeps growing`,
        description: `Waiting tasks of queue ${f.label('queue')}${where(f, 'en')} have been rising for 15 minutes and, at this pace, pass the threshold within an hour (about ${f.value('humanize')}). Tasks arrive faster than they are processed.`,
      }),
    },
  },
  {
    name: 'QueueLatencyHigh',
    group: 'queuescope-queues',
    severity: 'warning',
    fixedSeverity: true,
    expr: ({ sel }) => overThreshold(`queue_oldest_task_age_seconds{${sel}}`, 'queue_latency_threshold_seconds', 'queue_default_latency_threshold_seconds', 1, sel),
    for: '5m',
    anchor: 'queuelatencyhigh',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 最早的任务已等待 ${f.value('humanizeDuration')}`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}最早的等待任务已等待 ${f.value('humanizeDuration')}，超过阈值 ${f.lookup(LATENCY_THRESHOLD)} 持续 5 分钟。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')}'s oldest task has waited ${f.value('humanizeDuration')}`,
        description: `The oldest waiting task of queue ${f.label('queue')}${where(f, 'en')} has waited ${f.value('humanizeDuration')}, longer than its threshold of ${f.lookup(LATENCY_THRESHOLD)}, for 5 minutes.`,
      }),
    },
  },
  {
    name: 'QueueLatencyHigh',
    group: 'queuescope-queues',
    severity: 'critical',
    fixedSeverity: true,
    expr: ({ sel }) => overThreshold(`queue_oldest_task_age_seconds{${sel}}`, 'queue_latency_threshold_seconds', 'queue_default_latency_threshold_seconds', 2, sel),
    for: '5m',
    anchor: 'queuelatencyhigh',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 最早的任务已等待 ${f.value('humanizeDuration')}`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}最早的等待任务已等待 ${f.value('humanizeDuration')}，超过阈值 ${f.lookup(LATENCY_THRESHOLD)} 的两倍持续 5 分钟。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')}'s oldest task has waited ${f.value('humanizeDuration')}`,
        description: `The oldest waiting task of queue ${f.label('queue')}${where(f, 'en')} has waited ${f.value('humanizeDuration')}, more than twice its threshold of ${f.lookup(LATENCY_THRESHOLD)}, for 5 minutes.`,
      }),
    },
  },
  {
    name: 'QueueFailureRateHigh',
    group: 'queuescope-queues',
    severity: 'warning',
    comment: 'a minimum volume, so two failures out of three do not page anyone',
    expr: ({ sel, t }) => `queue:queue_failure_ratio:rate5m{${sel}} > ${t.failureRatio}
and on(instance, job, queue, framework)
queue:queue_processed:rate5m{${sel}} * 300 >= ${t.failureMinTasks}`,
    for: '10m',
    anchor: 'queuefailureratehigh',
    text: {
      zh: (f, { t }) => ({
        summary: `队列 ${f.label('queue')} 失败率 ${f.value('humanizePercentage')}`,
        description: `队列 ${f.label('queue')}（${f.label('framework')}）最近 5 分钟失败率 ${f.value('humanizePercentage')}，超过 ${percent(t.failureRatio)} 已持续 10 分钟。请查看消费者日志中的错误。`,
      }),
      en: (f, { t }) => ({
        summary: `Queue ${f.label('queue')} fails ${f.value('humanizePercentage')} of its tasks`,
        description: `Queue ${f.label('queue')} (${f.label('framework')}) has failed ${f.value('humanizePercentage')} of the tasks it finished in the last 5 minutes, above ${percent(t.failureRatio)}, for 10 minutes. Look for errors in the consumers' logs.`,
      }),
    },
  },
  {
    name: 'QueueDeadLettersIncreasing',
    group: 'queuescope-queues',
    severity: 'warning',
    expr: ({ sel }) => `delta(queue_tasks{${sel}, state="dead"}[15m]) > 0`,
    anchor: 'queuedeadlettersincreasing',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 死信增加`,
        description: `队列 ${f.label('queue')}（${f.label('framework')}）的死信（最终失败）任务在最近 15 分钟有增加，当前共 ${f.lookup(DEAD_NOW)} 条。这些任务不会再自动重试。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')} has new dead tasks`,
        description: `Dead (finally failed) tasks of queue ${f.label('queue')} (${f.label('framework')}) increased in the last 15 minutes; ${f.lookup(DEAD_NOW)} in total now. They will not be retried automatically.`,
      }),
    },
  },
  {
    name: 'QueueTasksStuck',
    group: 'queuescope-queues',
    severity: 'warning',
    comment: 'picked up by a worker that is gone (expired lease, stale process heartbeat, lost lock): they never finish on their own',
    expr: ({ sel }) => `queue_tasks{${sel}, state="stuck"} > 0`,
    for: '10m',
    anchor: 'queuetasksstuck',
    text: {
      zh: (f) => ({
        summary: `队列 ${f.label('queue')} 有 ${f.value('humanize')} 个任务卡住`,
        description: `队列 ${f.label('queue')}${where(f, 'zh')}有 ${f.value('humanize')} 个任务已被工作进程取走，但该进程已不在（租约过期、心跳停止或锁丢失），持续 10 分钟。这些任务不会自行完成，请重新投递或清理。`,
      }),
      en: (f) => ({
        summary: `Queue ${f.label('queue')} has ${f.value('humanize')} stuck tasks`,
        description: `Queue ${f.label('queue')}${where(f, 'en')} has had ${f.value('humanize')} tasks picked up by a worker that is gone (expired lease, stale heartbeat or lost lock) for 10 minutes. They will not finish on their own: re-enqueue or clean them up.`,
      }),
    },
  },
  {
    name: 'StreamConsumerGroupStalled',
    group: 'queuescope-queues',
    severity: 'critical',
    comment: 'lag (not yet delivered) + pending (delivered, not acknowledged) > 0 while the group has no consumers or all are idle; `queue` = the stream, so grouping and inhibition work as for queues',
    expr: ({ sel, t }) => `label_replace(
  (
    queue_stream_group_pending{${sel}}
    + (queue_stream_group_lag{${sel}} or queue_stream_group_pending{${sel}} * 0)
  ) > 0
  and on(instance, job, stream, group)
  (
    queue_stream_group_consumers{${sel}} == 0
    or on(instance, job, stream, group)
    min by (instance, job, stream, group) (queue_stream_consumer_idle_seconds{${sel}}) > ${t.streamIdleSeconds}
  ),
  "queue", "$1", "stream", "(.*)"
)`,
    for: '2m',
    anchor: 'streamconsumergroupstalled',
    text: {
      zh: (f, { t }) => ({
        summary: `Stream ${f.label('stream')} 的消费组 ${f.label('group')} 停止消费`,
        description: `Stream ${f.label('stream')} 的消费组 ${f.label('group')} 还有 ${f.value('humanize')} 条未处理（未投递 + 未确认），但没有消费者或所有消费者已空闲超过 ${spokenDuration(t.streamIdleSeconds, 'zh')}。请检查消费者进程。`,
      }),
      en: (f, { t }) => ({
        summary: `Consumer group ${f.label('group')} of stream ${f.label('stream')} stopped consuming`,
        description: `Consumer group ${f.label('group')} of stream ${f.label('stream')} has ${f.value('humanize')} entries to process (undelivered + unacknowledged), but no consumers, or all of them idle for more than ${spokenDuration(t.streamIdleSeconds, 'en')}. Check the consumer processes.`,
      }),
    },
  },
  {
    name: 'ComponentDown',
    group: 'queuescope-queues',
    severity: 'critical',
    expr: ({ sel }) => `queue_component_up{${sel}} == 0`,
    for: '2m',
    anchor: 'componentdown',
    text: {
      zh: (f) => ({
        summary: `组件 ${f.label('component')} 心跳超时`,
        description: `组件 ${f.label('component')}（生产者或消费者）的心跳已过期或不存在超过 2 分钟，上次心跳在 ${f.lookup({ ...HEARTBEAT_AGE, suffix: ' 前', orElse: '未知时间' })}。`,
      }),
      en: (f) => ({
        summary: `Component ${f.label('component')} stopped sending heartbeats`,
        description: `Component ${f.label('component')} (a producer or consumer) has had a stale or missing heartbeat for 2 minutes; its last heartbeat was ${f.lookup({ ...HEARTBEAT_AGE, suffix: ' ago', orElse: 'at an unknown time' })}.`,
      }),
    },
  },
  {
    name: 'QueuescopeRedisDown',
    group: 'queuescope-backends',
    severity: 'critical',
    comment: 'prefixed (was RedisDown): redis-mixin has its own RedisDown for redis_exporter',
    expr: ({ sel }) => `redis_up{${sel}} == 0`,
    for: '1m',
    anchor: 'queuescoperedisdown',
    text: {
      zh: (f) => ({
        summary: `Redis 无法访问（${f.label('instance')}）`,
        description: `queuescope ${f.label('instance')} 已 1 分钟无法从 Redis 读取数据，队列指标缺失。该实例的队列告警已被抑制。`,
      }),
      en: (f) => ({
        summary: `Redis unreachable (${f.label('instance')})`,
        description: `queuescope ${f.label('instance')} has not been able to read from Redis for 1 minute; queue metrics are missing. The queue alerts of this instance are inhibited.`,
      }),
    },
  },
  {
    name: 'QueuescopeMySQLDown',
    group: 'queuescope-backends',
    severity: 'critical',
    comment: 'prefixed (was MySQLDown): mysqld-mixin has its own MySQLDown for mysqld_exporter',
    expr: ({ sel }) => `mysql_up{${sel}} == 0`,
    for: '1m',
    anchor: 'queuescopemysqldown',
    text: {
      zh: (f) => ({
        summary: `MySQL 无法访问（${f.label('instance')}）`,
        description: `queuescope ${f.label('instance')} 已 1 分钟无法连接 MySQL。`,
      }),
      en: (f) => ({
        summary: `MySQL unreachable (${f.label('instance')})`,
        description: `queuescope ${f.label('instance')} has not been able to connect to MySQL for 1 minute.`,
      }),
    },
  },
  {
    name: 'MySQLConnectionsNearLimit',
    group: 'queuescope-backends',
    severity: 'warning',
    expr: ({ sel, t }) => `mysql_global_status_threads_connected{${sel}}
  / on(instance, job)
mysql_global_variables_max_connections{${sel}}
> ${t.mysqlConnectionsRatio}`,
    for: '5m',
    anchor: 'mysqlconnectionsnearlimit',
    text: {
      zh: (f, { t }) => ({
        summary: `MySQL 连接数已达上限的 ${f.value('humanizePercentage')}`,
        description: `MySQL（${f.label('instance')}）当前连接数占 max_connections 的 ${f.value('humanizePercentage')}，超过 ${percent(t.mysqlConnectionsRatio)} 已持续 5 分钟，新连接可能被拒绝。`,
      }),
      en: (f, { t }) => ({
        summary: `MySQL connections at ${f.value('humanizePercentage')} of the limit`,
        description: `MySQL (${f.label('instance')}) has used ${f.value('humanizePercentage')} of max_connections, above ${percent(t.mysqlConnectionsRatio)}, for 5 minutes; new connections may be refused.`,
      }),
    },
  },
  {
    name: 'MySQLSlowQueries',
    group: 'queuescope-backends',
    severity: 'warning',
    expr: ({ sel, t }) => `rate(mysql_global_status_slow_queries{${sel}}[5m]) > ${t.slowQueriesPerSecond}`,
    for: '10m',
    anchor: 'mysqlslowqueries',
    text: {
      zh: (f, { t }) => ({
        summary: `MySQL 慢查询 ${f.value('fixed2')} 条/秒`,
        description: `MySQL（${f.label('instance')}）最近 5 分钟每秒 ${f.value('fixed2')} 条慢查询，超过 ${t.slowQueriesPerSecond} 条/秒已持续 10 分钟。请查看慢查询日志。`,
      }),
      en: (f, { t }) => ({
        summary: `MySQL runs ${f.value('fixed2')} slow queries per second`,
        description: `MySQL (${f.label('instance')}) has run ${f.value('fixed2')} slow queries per second over the last 5 minutes, above ${t.slowQueriesPerSecond}/s, for 10 minutes. Look at the slow query log.`,
      }),
    },
  },
  {
    name: 'QueuescopeDown',
    group: 'queuescope-self',
    severity: 'critical',
    expr: ({ sel }) => `up{${sel}} == 0`,
    for: '2m',
    anchor: 'queuescopedown',
    text: {
      zh: (f) => ({
        summary: `queuescope ${f.label('instance')} 无法抓取`,
        description: `Prometheus 已 2 分钟无法抓取 queuescope ${f.label('instance')}，所有队列告警都不会触发。`,
      }),
      en: (f) => ({
        summary: `queuescope ${f.label('instance')} cannot be scraped`,
        description: `Prometheus has not been able to scrape queuescope ${f.label('instance')} for 2 minutes; none of the queue alerts can fire.`,
      }),
    },
  },
  {
    name: 'QueuescopeCollectorFailing',
    group: 'queuescope-self',
    severity: 'warning',
    expr: ({ sel }) => `queuescope_scrape_collector_success{${sel}} == 0`,
    for: '5m',
    anchor: 'queuescopecollectorfailing',
    text: {
      zh: (f) => ({
        summary: `queuescope 采集器 ${f.label('collector')} 失败`,
        description: `queuescope ${f.label('instance')} 的采集器 ${f.label('collector')} 已连续 5 分钟采集失败，相关指标缺失或不完整。请查看 queuescope 日志。`,
      }),
      en: (f) => ({
        summary: `queuescope collector ${f.label('collector')} is failing`,
        description: `Collector ${f.label('collector')} of queuescope ${f.label('instance')} has failed for 5 minutes; its metrics are missing or incomplete. Look at queuescope's log.`,
      }),
    },
  },
  {
    name: 'QueuescopeNotificationsFailing',
    group: 'queuescope-self',
    severity: 'warning',
    expr: ({ sel }) => `increase(queuescope_notifications_total{${sel}, outcome="failed"}[15m]) > 0`,
    anchor: 'queuescopenotificationsfailing',
    text: {
      zh: (f) => ({
        summary: `${f.label('channel')} 机器人 ${f.label('target')} 的通知发送失败`,
        description: `最近 15 分钟有告警通知未能发送到 ${f.label('channel')} 机器人 ${f.label('target')}（被机器人拒绝或关闭前未送达）。请查看 queuescope 日志中的 errcode；这条告警可能也无法通过该机器人送达。`,
      }),
      en: (f) => ({
        summary: `Notifications to ${f.label('channel')} robot ${f.label('target')} failed`,
        description: `In the last 15 minutes an alert notification could not be delivered to ${f.label('channel')} robot ${f.label('target')} (refused by the robot, or undelivered at shutdown). Look for the errcode in queuescope's log; this alert may not get through that robot either.`,
      }),
    },
  },
  {
    name: 'QueuescopeNotificationsUndelivered',
    group: 'queuescope-self',
    severity: 'critical',
    comment: 'accepted from Alertmanager but not yet taken by the robot: the on-call group is not hearing about alerts',
    expr: ({ sel, t }) => `queuescope_notification_oldest_undelivered_age_seconds{${sel}} > ${t.undeliveredSeconds}`,
    for: '5m',
    anchor: 'queuescopenotificationsundelivered',
    text: {
      zh: (f, { t }) => ({
        summary: `${f.label('channel')} 机器人 ${f.label('target')} 有通知 ${f.value('humanizeDuration')} 未送达`,
        description: `发往 ${f.label('channel')} 机器人 ${f.label('target')} 的最早一条通知已等待 ${f.value('humanizeDuration')}，超过 ${spokenDuration(t.undeliveredSeconds, 'zh')} 仍未送达，已持续 5 分钟。机器人可能被限流、拒绝或无法访问；通知保存在 queuescope 的发件箱中，机器人恢复后补发。请查看 queuescope 日志。`,
      }),
      en: (f, { t }) => ({
        summary: `Notifications to ${f.label('channel')} robot ${f.label('target')} undelivered for ${f.value('humanizeDuration')}`,
        description: `The oldest notification for ${f.label('channel')} robot ${f.label('target')} has waited ${f.value('humanizeDuration')}, more than ${spokenDuration(t.undeliveredSeconds, 'en')}, for 5 minutes. The robot may be throttling, refusing or unreachable; the notifications stay in queuescope's outbox and go out once it recovers. Look at queuescope's log.`,
      }),
    },
  },
];

const DEAD_NOW: LookupSpec = {
  key: 'dead',
  promql: 'queue_tasks{instance=%q,job=%q,queue=%q,framework=%q,state="dead"}',
  args: ['instance', 'job', 'queue', 'framework'],
  format: 'humanize',
};
const HEARTBEAT_AGE: LookupSpec = {
  key: 'heartbeatAge',
  promql: 'queue_component_heartbeat_age_seconds{instance=%q,job=%q,component=%q}',
  args: ['instance', 'job', 'component'],
  format: 'humanizeDuration',
};

/** The queue alerts a Redis outage explains (inhibited by QueuescopeRedisDown of the same instance). */
export const REDIS_CONSEQUENCES = ['QueueBacklogHigh', 'QueueBacklogGrowing', 'QueueLatencyHigh', 'QueueFailureRateHigh', 'QueueDeadLettersIncreasing', 'QueueTasksStuck', 'StreamConsumerGroupStalled', 'ComponentDown'];

/** Effective threshold per queue: its own gauge, else the sidecar's default (one series per sidecar). */
const effective = (perQueue: string, dflt: string) => ({ sel }: RuleContext) => `max by (instance, job, queue, framework) (${perQueue}{${sel}})
or on(instance, job, queue, framework)
(
  max by (instance, job, queue, framework) (queue_info{${sel}}) * 0
  + on(instance, job) group_left()
  max by (instance, job) (${dflt}{${sel}})
)`;

export const RECORDING_RULES: readonly RecordingDef[] = [
  { record: 'queue:queue_processed:rate5m', comment: 'Throughput: tasks finished per second (successful or not).', expr: ({ sel }) => `rate(queue_processed_total{${sel}}[5m])` },
  { record: 'queue:queue_failed:rate5m', comment: 'Failed attempts per second.', expr: ({ sel }) => `rate(queue_failed_total{${sel}}[5m])` },
  { record: 'queue:queue_enqueued:rate5m', comment: 'Tasks enqueued per second.', expr: ({ sel }) => `rate(queue_enqueued_total{${sel}}[5m])` },
  {
    record: 'queue:queue_failure_ratio:rate5m',
    comment: 'Failure ratio: failed / processed (processed counts failures too, see metrics.md). Absent while nothing was processed.',
    expr: ({ sel }) => `rate(queue_failed_total{${sel}}[5m])
  / on(instance, job, queue, framework)
(rate(queue_processed_total{${sel}}[5m]) > 0)`,
  },
  {
    record: 'queue:queue_backlog_threshold:effective',
    comment: 'Backlog threshold of every queue: queue_backlog_threshold where the queue has its own, else the sidecar\'s queue_default_backlog_threshold.',
    expr: effective('queue_backlog_threshold', 'queue_default_backlog_threshold'),
  },
  {
    record: 'queue:queue_latency_threshold_seconds:effective',
    comment: 'Latency threshold of every queue, likewise.',
    expr: effective('queue_latency_threshold_seconds', 'queue_default_latency_threshold_seconds'),
  },
];
