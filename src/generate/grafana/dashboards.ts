/**
 * queuescope's Grafana boards. Each query reads raw metrics from
 * `shared/spec/metrics.md` (never recording rules, so the boards work with
 * any Prometheus that scrapes queuescope). Thresholds drawn on panels are the
 * alert rules' (see {@link ALERT}); per-queue thresholds come from the
 * `queue_backlog_threshold` / `queue_latency_threshold_seconds` gauges the
 * rules compare against, drawn as dashed reference lines.
 */
import { dashboard as makeDashboard, standardVariables, labelVariable, QUEUE_VIEW_LINK, UNIT, upDownMappings, type BoardOptions, type Dashboard, type PanelSpec } from './builder.js';
import { DEFAULT_PARAMS, DEFAULT_THRESHOLDS, type GenerateParams, type Thresholds } from '../params.js';

/** The alert numbers the boards draw (the rules in `prometheus/rules/` use the same; the dashboards test compares them). */
export interface AlertNumbers {
  /** QueueFailureRateHigh: failed / processed over 5m. */
  failureRatio: number;
  /** StreamConsumerGroupStalled: consumers idle beyond this (seconds). */
  streamIdleSeconds: number;
  /** MySQLConnectionsNearLimit: threads_connected / max_connections. */
  mysqlConnectionsRatio: number;
  /** MySQLSlowQueries: rate(slow_queries[5m]) per second. */
  slowQueriesPerSecond: number;
  /** ComponentDown fires on `queue_component_up == 0`; the default `staleAfter` is 30 s. */
  componentStaleSeconds: number;
  /** QueuescopeNotificationsUndelivered: oldest undelivered notification (seconds). */
  undeliveredSeconds: number;
}

function alertNumbers(t: Thresholds): AlertNumbers {
  return {
    failureRatio: t.failureRatio,
    streamIdleSeconds: t.streamIdleSeconds,
    mysqlConnectionsRatio: t.mysqlConnectionsRatio,
    slowQueriesPerSecond: t.slowQueriesPerSecond,
    componentStaleSeconds: 30,
    undeliveredSeconds: t.undeliveredSeconds,
  };
}

/** The numbers of the default generation (what the shipped boards draw). */
export const ALERT: Readonly<AlertNumbers> = alertNumbers(DEFAULT_THRESHOLDS);

/**
 * The boards for `p`: its thresholds on the panels, its data-source input
 * for Grafana's Import, its default `queuescope_url` for the data links to
 * the sidecar's queue views.
 * @returns file name (in `grafana/dashboards/`) → dashboard
 */
export function buildDashboards(p: GenerateParams): Record<string, Dashboard> {
  const ALERT = alertNumbers(p.thresholds);
  const dashboard = (opts: BoardOptions): Dashboard => makeDashboard({ ...opts, datasourceInput: p.datasourceInput, queuescopeURL: p.queuescopeURL });
  /** Label matchers every query carries: the board's job and instance. */
  const JI = 'job=~"$job", instance=~"$instance"';
  /** … plus the queue selection. */
  const JIQ = `${JI}, queue=~"$queue"`;
  const RI = '$__rate_interval';
  /**
   * The queue's threshold as the rules see it: its own gauge where the sidecar
   * exports one, else the sidecar's default series (issue 14).
   */
  const effective = (perQueue: string, dflt: string): string =>
    `(max by (queue, framework) (${perQueue}{${JIQ}}) or on(queue, framework) (max by (queue, framework) (queue_info{${JIQ}}) * 0 + on() group_left() max(${dflt}{${JI}})))`;
  const BACKLOG_T = effective('queue_backlog_threshold', 'queue_default_backlog_threshold');
  const LATENCY_T = effective('queue_latency_threshold_seconds', 'queue_default_latency_threshold_seconds');
  const links = [QUEUE_VIEW_LINK];

  const stat = (title: string, description: string, expr: string, unit: string, extra: Partial<PanelSpec> = {}): PanelSpec => ({
    type: 'stat',
    title,
    description,
    queries: [[expr, '']],
    unit,
    ...extra,
  });
  const series = (title: string, description: string, queries: [string, string][], unit: string, extra: Partial<PanelSpec> = {}): PanelSpec => ({
    type: 'timeseries',
    title,
    description,
    queries,
    unit,
    ...extra,
  });

  const queues: Dashboard = dashboard({
    uid: 'queuescope-queues',
    title: 'queuescope / Queues',
    description: 'Is work piling up, how old is the oldest task, and are tasks failing? Every queue queuescope reads (lists, streams, BullMQ, asynq, Sidekiq, Celery, RQ) with normalised states.',
    variables: standardVariables(`label_values(queue_info{${JI}}, queue)`),
    sections: [
      {
        title: 'Now',
        panels: [
          stat('Waiting tasks', 'Tasks ready but not yet picked up, all selected queues (queue_tasks{state="waiting"}).', `sum(queue_tasks{${JIQ}, state="waiting"})`, UNIT.count),
          stat(
            'Queues over backlog threshold',
            'Queues whose waiting tasks exceed their configured backlogThreshold (what QueueBacklogHigh compares, before its 5m `for`).',
            `count(max by (queue, framework) (queue_tasks{${JIQ}, state="waiting"}) > on (queue, framework) ${BACKLOG_T}) or vector(0)`,
            UNIT.count,
            { thresholds: [['red', 1]] },
          ),
          stat('Oldest waiting task', 'Age of the oldest waiting task across the selected queues (queue_oldest_task_age_seconds).', `max(queue_oldest_task_age_seconds{${JIQ}})`, UNIT.seconds),
          stat('Processed', 'Tasks finished per second, successful or not (rate of queue_processed_total).', `sum(rate(queue_processed_total{${JIQ}}[${RI}]))`, UNIT.tasksPerSecond),
          stat(
            'Failure ratio (5m)',
            `Failed / processed over 5 minutes; QueueFailureRateHigh fires above ${ALERT.failureRatio * 100}% for 10m.`,
            `sum(rate(queue_failed_total{${JIQ}}[5m])) / sum(rate(queue_processed_total{${JIQ}}[5m]))`,
            UNIT.ratio,
            { thresholds: [['red', ALERT.failureRatio]], decimals: 1 },
          ),
          stat('Dead tasks', 'Tasks failed for good: dead-letter streams, archived, BullMQ failed, RQ failed (queue_tasks{state="dead"}).', `sum(queue_tasks{${JIQ}, state="dead"})`, UNIT.count),
          stat(
            'Stuck tasks',
            'Picked up by a worker that is gone: expired lease, stale process heartbeat, lost lock (queue_tasks{state="stuck"}; QueueTasksStuck fires after 10m).',
            `sum(queue_tasks{${JIQ}, state="stuck"}) or vector(0)`,
            UNIT.count,
            { thresholds: [['orange', 1]] },
          ),
        ],
      },
      {
        title: 'Backlog and latency',
        panels: [
          series(
            'Waiting tasks by queue',
            'LLEN / stream group lag / framework pending lists. Dashed: the queue\'s backlogThreshold, or the default where it has none (QueueBacklogHigh fires above it for 5m). Click a series for the queue in queuescope.',
            [
              [`sum by (queue, framework) (queue_tasks{${JIQ}, state="waiting"})`, '{{queue}} ({{framework}})'],
              [BACKLOG_T, '{{queue}} threshold'],
            ],
            UNIT.count,
            { referenceLines: ['B'], min: 0, links },
          ),
          series(
            'Oldest waiting task age',
            'Seconds since the oldest waiting task was enqueued (head task\'s created_at, first undelivered stream entry, framework timestamps). Dashed: latencyThreshold, or the default (QueueLatencyHigh).',
            [
              [`max by (queue, framework) (queue_oldest_task_age_seconds{${JIQ}})`, '{{queue}} ({{framework}})'],
              [LATENCY_T, '{{queue}} threshold'],
            ],
            UNIT.seconds,
            { referenceLines: ['B'], min: 0, links },
          ),
          series(
            'Tasks by state',
            'Every normalised state a layout has: waiting, active, scheduled, retry, dead, completed, stuck, deferred, aggregating, canceled.',
            [[`sum by (queue, framework, state) (queue_tasks{${JIQ}})`, '{{queue}} ({{framework}}) {{state}}']],
            UNIT.count,
            { min: 0, links },
          ),
          series(
            'Backlog trend',
            'How fast waiting tasks grow (+) or drain (−), per second over 5m (what QueueBacklogGrowing extrapolates).',
            [[`sum by (queue, framework) (deriv(queue_tasks{${JIQ}, state="waiting"}[5m]))`, '{{queue}} ({{framework}})']],
            UNIT.tasksPerSecond,
          ),
        ],
      },
      {
        title: 'Throughput and failures',
        panels: [
          series('Produced', 'Tasks enqueued per second (details HLEN, stream entries-added, framework counters).', [[`sum by (queue, framework) (rate(queue_enqueued_total{${JIQ}}[${RI}]))`, '{{queue}} ({{framework}})']], UNIT.tasksPerSecond, { w: 8, min: 0 }),
          series('Processed', 'Tasks finished per second, successful or not.', [[`sum by (queue, framework) (rate(queue_processed_total{${JIQ}}[${RI}]))`, '{{queue}} ({{framework}})']], UNIT.tasksPerSecond, { w: 8, min: 0 }),
          series('Failed', 'Failed attempts per second.', [[`sum by (queue, framework) (rate(queue_failed_total{${JIQ}}[${RI}]))`, '{{queue}} ({{framework}})']], UNIT.tasksPerSecond, { w: 8, min: 0 }),
          series(
            'Failure ratio (5m)',
            `Failed / processed over 5m per queue; the dashed line is QueueFailureRateHigh's ${ALERT.failureRatio * 100}%.`,
            [[`sum by (queue, framework) (rate(queue_failed_total{${JIQ}}[5m])) / sum by (queue, framework) (rate(queue_processed_total{${JIQ}}[5m]))`, '{{queue}} ({{framework}})']],
            UNIT.ratio,
            { thresholds: [['red', ALERT.failureRatio]], showThresholds: true, min: 0 },
          ),
          {
            type: 'bargauge',
            title: 'Tasks in trailing windows',
            description: 'Tasks enqueued within each configured window (ZCOUNT of the timeline sorted set).',
            queries: [[`sum by (queue, window) (queue_window_tasks{${JIQ}})`, '{{queue}} last {{window}}']],
            unit: UNIT.count,
            min: 0,
          },
          stat('Paused', 'Queues the framework marks paused (queue_paused).', `max by (queue, framework) (queue_paused{${JIQ}})`, UNIT.none, {
            w: 12,
            mappings: upDownMappings('paused', 'running'),
            thresholds: [['orange', 1]],
            queries: [[`max by (queue, framework) (queue_paused{${JIQ}})`, '{{queue}}']],
            options: { graphMode: 'none', textMode: 'value_and_name' },
          }),
        ],
      },
      {
        title: 'Workers',
        panels: [
          series(
            'Workers per queue',
            'Live worker processes serving each queue, where the framework records them: Sidekiq processes, RQ workers, BullMQ workers by client name, stream consumers seen recently (queue_workers; queue "*" where the framework keeps them globally). Zero workers while tasks wait is the usual cause of a backlog.',
            [[`max by (queue, framework) (queue_workers{${JIQ}})`, '{{queue}} ({{framework}})']],
            UNIT.count,
            { min: 0, links },
          ),
          series(
            'Broker: unacknowledged messages',
            'Celery/kombu\'s global `unacked` hash: messages delivered to a worker and not yet acknowledged (queue_broker_unacked).',
            [[`max by (framework) (queue_broker_unacked{${JI}})`, '{{framework}}']],
            UNIT.count,
            { min: 0 },
          ),
        ],
      },
    ],
  });

  const SJI = `${JI}, stream=~"$stream"`;

  const streams: Dashboard = dashboard({
    uid: 'queuescope-streams',
    title: 'queuescope / Streams and consumer groups',
    description: 'Are consumer groups keeping up, is anything stuck in the PEL after a crash, which consumers went quiet, and what goes to retry and the dead-letter stream?',
    variables: [
      ...standardVariables(`label_values(queue_info{${JI}, framework="stream"}, queue)`),
      labelVariable('stream', 'Stream', `label_values(queue_stream_length{${JI}}, stream)`),
    ],
    sections: [
      {
        title: 'Now',
        panels: [
          stat('Lag', 'Entries not yet delivered to the groups (XINFO GROUPS lag).', `sum(queue_stream_group_lag{${SJI}})`, UNIT.count),
          stat('Pending (PEL)', 'Entries delivered but not acknowledged (XINFO GROUPS pending).', `sum(queue_stream_group_pending{${SJI}})`, UNIT.count),
          stat(
            'Oldest pending entry',
            `Age of the oldest unacknowledged entry (XPENDING). Past ${ALERT.streamIdleSeconds / 60}m nobody is acknowledging it (StreamConsumerGroupStalled).`,
            `max(queue_stream_group_oldest_pending_age_seconds{${SJI}})`,
            UNIT.seconds,
            { thresholds: [['red', ALERT.streamIdleSeconds]] },
          ),
          stat('Consumers', 'Consumers registered in the groups (XINFO GROUPS consumers).', `sum(queue_stream_group_consumers{${SJI}})`, UNIT.count),
          stat('Retry', 'Entries waiting in retry streams.', `sum(queue_tasks{${JIQ}, framework="stream", state="retry"})`, UNIT.count),
          stat('Dead letters', 'Entries in dead-letter streams.', `sum(queue_tasks{${JIQ}, framework="stream", state="dead"})`, UNIT.count, { thresholds: [['orange', 1]] }),
        ],
      },
      {
        title: 'Consumer groups',
        panels: [
          series('Lag by group', 'Entries added to the stream but not yet delivered to the group.', [[`max by (stream, group) (queue_stream_group_lag{${SJI}})`, '{{stream}} / {{group}}']], UNIT.count, { min: 0 }),
          series('Pending entries (PEL) by group', 'Delivered, not acknowledged: in-flight work plus what crashed consumers left behind.', [[`max by (stream, group) (queue_stream_group_pending{${SJI}})`, '{{stream}} / {{group}}']], UNIT.count, { min: 0 }),
          series(
            'Oldest pending entry age',
            `Seconds since the smallest pending id was added; dashed at ${ALERT.streamIdleSeconds / 60}m.`,
            [[`max by (stream, group) (queue_stream_group_oldest_pending_age_seconds{${SJI}})`, '{{stream}} / {{group}}']],
            UNIT.seconds,
            { thresholds: [['red', ALERT.streamIdleSeconds]], showThresholds: true, min: 0 },
          ),
          series(
            'Oldest undelivered entry age',
            'Seconds since the first entry after the group\'s last-delivered-id was added (the group\'s queueing delay).',
            [[`max by (queue, group) (queue_oldest_task_age_seconds{${JIQ}, framework="stream"})`, '{{queue}} / {{group}}']],
            UNIT.seconds,
            { min: 0 },
          ),
        ],
      },
      {
        title: 'Consumers',
        panels: [
          series(
            'Consumer idle time',
            `Seconds since each consumer last read (XINFO CONSUMERS idle). A consumer idle past ${ALERT.streamIdleSeconds / 60}m while entries wait is stalled or dead.`,
            [[`max by (stream, group, consumer) (queue_stream_consumer_idle_seconds{${SJI}})`, '{{group}} / {{consumer}}']],
            UNIT.seconds,
            { thresholds: [['red', ALERT.streamIdleSeconds]], showThresholds: true, min: 0 },
          ),
          series('Pending per consumer', 'Unacknowledged entries owned by each consumer; a crashed consumer keeps its entries until they are claimed.', [[`max by (stream, group, consumer) (queue_stream_consumer_pending{${SJI}})`, '{{group}} / {{consumer}}']], UNIT.count, { min: 0 }),
          series('Consumers per group', 'XINFO GROUPS consumers.', [[`max by (stream, group) (queue_stream_group_consumers{${SJI}})`, '{{stream}} / {{group}}']], UNIT.count, { w: 8, min: 0 }),
          series('Retry and dead-letter streams', 'Length of each stream queue\'s retry and dead-letter stream.', [[`sum by (queue, state) (queue_tasks{${JIQ}, framework="stream", state=~"retry|dead"})`, '{{queue}} {{state}}']], UNIT.count, { w: 8, min: 0 }),
          series('Entries added', 'XADDs per second (XINFO STREAM entries-added).', [[`sum by (stream) (rate(queue_stream_entries_added_total{${SJI}}[${RI}]))`, '{{stream}}']], UNIT.perSecond, { w: 8, min: 0 }),
          series('Stream length', 'XLEN: entries kept (trimmed by MAXLEN / MINID).', [[`max by (stream) (queue_stream_length{${SJI}})`, '{{stream}}']], UNIT.count, { min: 0 }),
          series('Seconds since the last entry', 'Now − the last generated id\'s time: how long producers have been quiet.', [[`time() - max by (stream) (queue_stream_last_entry_timestamp_seconds{${SJI}})`, '{{stream}}']], UNIT.seconds, { min: 0 }),
        ],
      },
    ],
  });

  const CJI = `${JI}, component=~"$component"`;

  const components: Dashboard = dashboard({
    uid: 'queuescope-components',
    title: 'queuescope / Producers and consumers',
    description: 'Is every producer and consumer alive (heartbeat), how fast is each working, and how long does one item take?',
    variables: [...standardVariables(), labelVariable('component', 'Component', `label_values(queue_component_up{${JI}}, component)`)],
    sections: [
      {
        title: 'Status',
        panels: [
          stat('Up', `1 while the heartbeat is younger than staleAfter; ComponentDown fires after 2m at 0.`, `max by (component) (queue_component_up{${CJI}})`, UNIT.none, {
            w: 12,
            queries: [[`max by (component) (queue_component_up{${CJI}})`, '{{component}}']],
            mappings: upDownMappings('UP', 'DOWN'),
            thresholds: [['red', 0], ['green', 1]],
            options: { graphMode: 'none', textMode: 'value_and_name' },
          }),
          stat('Last heartbeat', 'When each component last wrote its heartbeat key.', `max by (component) (queue_component_heartbeat_timestamp_seconds{${CJI}}) * 1000`, UNIT.fromNow, {
            w: 12,
            queries: [[`max by (component) (queue_component_heartbeat_timestamp_seconds{${CJI}}) * 1000`, '{{component}}']],
            options: { graphMode: 'none', textMode: 'value_and_name', colorMode: 'none' },
          }),
          {
            type: 'state-timeline',
            title: 'Up over time',
            description: 'Heartbeat fresh (UP) or stale (DOWN), per component.',
            queries: [[`max by (component) (queue_component_up{${CJI}})`, '{{component}}']],
            unit: UNIT.none,
            w: 24,
            h: 6,
            mappings: upDownMappings('UP', 'DOWN'),
            thresholds: [['red', 0], ['green', 1]],
          },
          series(
            'Heartbeat age',
            `Seconds since the last heartbeat; dashed at the default staleAfter (${ALERT.componentStaleSeconds}s).`,
            [[`max by (component) (queue_component_heartbeat_age_seconds{${CJI}})`, '{{component}}']],
            UNIT.seconds,
            { w: 24, thresholds: [['red', ALERT.componentStaleSeconds]], showThresholds: true, min: 0 },
          ),
        ],
      },
      {
        title: 'Work',
        panels: [
          series('Throughput', 'Items per second from each component\'s own counter (written, processed, re-driven).', [[`sum by (component) (rate(queue_component_items_total{${CJI}}[${RI}]))`, '{{component}}']], UNIT.perSecond, { w: 24, min: 0 }),
          series('Last item duration', 'How long the latest item took (lastDuration key, ms → s).', [[`max by (component) (queue_component_last_duration_seconds{${CJI}})`, '{{component}}']], UNIT.seconds, { min: 0 }),
          series('Recent average duration', 'Mean of the recent durations list (e.g. the last 20 items).', [[`max by (component) (queue_component_recent_duration_seconds{${CJI}})`, '{{component}}']], UNIT.seconds, { min: 0 }),
        ],
      },
    ],
  });

  const mysql: Dashboard = dashboard({
    uid: 'queuescope-mysql',
    title: 'queuescope / MySQL',
    description: 'Is the database the workers write into saturated: connections against the limit, threads running, query rate and mix, slow queries, what the threads are doing.',
    variables: standardVariables(),
    sections: [
      {
        title: 'Now',
        panels: [
          stat('MySQL up', 'queuescope could read SHOW GLOBAL STATUS (QueuescopeMySQLDown fires after 1m at 0).', `max(mysql_up{${JI}})`, UNIT.none, { mappings: upDownMappings('UP', 'DOWN'), thresholds: [['red', 0], ['green', 1]] }),
          stat(
            'Connections used',
            `Threads_connected / max_connections; MySQLConnectionsNearLimit fires above ${ALERT.mysqlConnectionsRatio * 100}% for 5m.`,
            `max(mysql_global_status_threads_connected{${JI}}) / max(mysql_global_variables_max_connections{${JI}})`,
            UNIT.ratio,
            { thresholds: [['red', ALERT.mysqlConnectionsRatio]], decimals: 1 },
          ),
          stat('Threads running', 'Threads executing a statement right now.', `max(mysql_global_status_threads_running{${JI}})`, UNIT.count),
          stat('Queries', 'Statements per second (Queries status counter).', `sum(rate(mysql_global_status_queries{${JI}}[${RI}]))`, UNIT.queriesPerSecond),
          stat(
            'Slow queries (5m)',
            `Per second over 5m; MySQLSlowQueries fires above ${ALERT.slowQueriesPerSecond}/s for 10m.`,
            `sum(rate(mysql_global_status_slow_queries{${JI}}[5m]))`,
            UNIT.perSecond,
            { thresholds: [['red', ALERT.slowQueriesPerSecond]], decimals: 2 },
          ),
          stat('Version', 'mysql_version_info.', `max by (version) (mysql_version_info{${JI}})`, UNIT.none, {
            queries: [[`max by (version) (mysql_version_info{${JI}})`, '{{version}}']],
            options: { graphMode: 'none', textMode: 'name', colorMode: 'none' },
          }),
        ],
      },
      {
        title: 'Load',
        panels: [
          series(
            'Connections vs max',
            `Threads_connected against max_connections; dashed: the ${ALERT.mysqlConnectionsRatio * 100}% alert line.`,
            [
              [`max(mysql_global_status_threads_connected{${JI}})`, 'connected'],
              [`max(mysql_global_variables_max_connections{${JI}}) * ${ALERT.mysqlConnectionsRatio}`, `alert at ${ALERT.mysqlConnectionsRatio * 100}% of max_connections`],
              [`max(mysql_global_variables_max_connections{${JI}})`, 'max_connections'],
            ],
            UNIT.count,
            { referenceLines: ['B'], min: 0 },
          ),
          series('Threads running', 'Threads_running: concurrency inside the server.', [[`max(mysql_global_status_threads_running{${JI}})`, 'running']], UNIT.count, { min: 0 }),
          series('Statements by command', 'Com_* counters per second, the busiest eight.', [[`topk(8, sum by (command) (rate(mysql_global_status_commands_total{${JI}}[${RI}])))`, '{{command}}']], UNIT.queriesPerSecond, { min: 0 }),
          series(
            'Slow queries',
            `Slow_queries per second; dashed at ${ALERT.slowQueriesPerSecond}/s (MySQLSlowQueries).`,
            [[`sum(rate(mysql_global_status_slow_queries{${JI}}[${RI}]))`, 'slow queries']],
            UNIT.perSecond,
            { thresholds: [['red', ALERT.slowQueriesPerSecond]], showThresholds: true, min: 0 },
          ),
          series('Processlist', 'Threads by command and state (information_schema.processlist).', [[`sum by (command, state) (mysql_info_schema_processlist_threads{${JI}})`, '{{command}} {{state}}']], UNIT.count, { stacked: true, min: 0 }),
          // Handler_* rather than Innodb_rows_*: MariaDB 10.6+ dropped the latter, the handlers exist everywhere.
          series(
            'Row operations (handlers)',
            'Storage-engine row reads and writes per second (Handler_* counters), the busiest eight: how hard the workers\' INSERTs and the reports\' scans work the tables.',
            [[`topk(8, sum by (handler) (rate(mysql_global_status_handlers_total{${JI}}[${RI}])))`, '{{handler}}']],
            UNIT.perSecond,
            { min: 0 },
          ),
        ],
      },
    ],
  });

  const self: Dashboard = dashboard({
    uid: 'queuescope-self',
    title: 'queuescope / queuescope',
    description: 'Is queuescope itself healthy: collectors succeeding, how long a scrape takes and how many Redis round trips it costs, what discovery found, and whether alert notifications reach DingTalk / WeCom.',
    variables: standardVariables(),
    sections: [
      {
        title: 'Now',
        panels: [
          stat('Redis up', 'The scrape\'s Redis batch succeeded (QueuescopeRedisDown fires after 1m at 0).', `max(redis_up{${JI}})`, UNIT.none, { mappings: upDownMappings('UP', 'DOWN'), thresholds: [['red', 0], ['green', 1]] }),
          stat('Failing collectors', 'Collectors whose last collection failed (QueuescopeCollectorFailing fires after 5m).', `count(queuescope_scrape_collector_success{${JI}} == 0) or vector(0)`, UNIT.count, { thresholds: [['red', 1]] }),
          stat('Scrape duration', 'How long Prometheus\' scrape of /metrics took.', `max(scrape_duration_seconds{${JI}})`, UNIT.seconds),
          stat('Round trips per scrape', 'Pipelined Redis batches of the last collection (two at most per node).', `max(queuescope_scrape_redis_roundtrips{${JI}})`, UNIT.count),
          stat('Discovered queues', 'Queues the last discovery pass found.', `sum(queuescope_discovered_queues{${JI}})`, UNIT.count),
          stat('Version', 'queuescope_build_info.', `max by (version) (queuescope_build_info{${JI}})`, UNIT.none, {
            queries: [[`max by (version) (queuescope_build_info{${JI}})`, '{{version}}']],
            options: { graphMode: 'none', textMode: 'name', colorMode: 'none' },
          }),
        ],
      },
      {
        title: 'Collection',
        panels: [
          {
            type: 'state-timeline',
            title: 'Collector success',
            description: 'Per collector: 1 when it read everything it planned.',
            queries: [[`min by (collector) (queuescope_scrape_collector_success{${JI}})`, '{{collector}}']],
            unit: UNIT.none,
            w: 24,
            h: 6,
            mappings: upDownMappings('ok', 'failing'),
            thresholds: [['red', 0], ['green', 1]],
          },
          series('Collector duration', 'Seconds each collector took in the last collection.', [[`max by (collector) (queuescope_scrape_collector_duration_seconds{${JI}})`, '{{collector}}']], UNIT.seconds, { min: 0 }),
          series(
            'Redis commands and round trips',
            'Per collection: commands sent and pipelined batches (one round trip each).',
            [
              [`max(queuescope_scrape_redis_commands{${JI}})`, 'commands'],
              [`max(queuescope_scrape_redis_roundtrips{${JI}})`, 'round trips'],
            ],
            UNIT.count,
            { min: 0 },
          ),
          series('Discovered queues', 'Per framework, from the last discovery pass (SCAN, on its own interval).', [[`sum by (framework) (queuescope_discovered_queues{${JI}})`, '{{framework}}']], UNIT.count, { min: 0 }),
          series(
            'Discovery',
            'Duration of the last discovery pass; truncated = 1 (per framework) when scrape.maxQueues stopped it.',
            [
              [`max(queuescope_discovery_duration_seconds{${JI}})`, 'duration (s)'],
              [`max by (framework) (queuescope_discovery_truncated{${JI}})`, 'truncated {{framework}}'],
            ],
            UNIT.none,
            { min: 0 },
          ),
        ],
      },
      {
        title: 'Notifications',
        panels: [
          series(
            'Notifications',
            'Robot messages per outcome over 5m: sent, failed, retried, truncated, merged, and the outbox\'s stored, superseded, deduplicated, recovered (QueuescopeNotificationsFailing fires on any failure).',
            [[`sum by (channel, target, outcome) (increase(queuescope_notifications_total{${JI}}[5m]))`, '{{channel}}/{{target}} {{outcome}}']],
            UNIT.count,
            { min: 0 },
          ),
          series('Notifications waiting', 'Messages queued for a robot\'s 20/min budget.', [[`max by (channel, target) (queuescope_notification_queue_length{${JI}})`, '{{channel}}/{{target}}']], UNIT.count, { w: 6, min: 0 }),
          series(
            'Robot call duration (p95)',
            'HTTP call to DingTalk / WeCom, 95th percentile over 5m.',
            [[`histogram_quantile(0.95, sum by (le, channel, target) (rate(queuescope_notification_send_duration_seconds_bucket{${JI}}[5m])))`, '{{channel}}/{{target}}']],
            UNIT.seconds,
            { w: 6, min: 0 },
          ),
        ],
      },
      {
        title: 'Relay outbox',
        panels: [
          stat(
            'Oldest undelivered',
            `Age of the oldest notification accepted from Alertmanager and not yet taken by its robot; QueuescopeNotificationsUndelivered fires above ${ALERT.undeliveredSeconds / 60}m for 5m.`,
            `max(queuescope_notification_oldest_undelivered_age_seconds{${JI}})`,
            UNIT.seconds,
            { w: 6, thresholds: [['red', ALERT.undeliveredSeconds]] },
          ),
          stat('Outbox size', 'Bytes the durable outbox holds (notify.store.maxBytes: past it the relay answers 503 and Alertmanager keeps the notification).', `sum(queuescope_notification_store_bytes{${JI}})`, UNIT.bytes, { w: 6 }),
          series(
            'Undelivered age by robot',
            `Per robot: seconds since its oldest undelivered notification was accepted; dashed at ${ALERT.undeliveredSeconds / 60}m.`,
            [[`max by (channel, target) (queuescope_notification_oldest_undelivered_age_seconds{${JI}})`, '{{channel}}/{{target}}']],
            UNIT.seconds,
            { w: 12, thresholds: [['red', ALERT.undeliveredSeconds]], showThresholds: true, min: 0 },
          ),
          series(
            'Outbox outcomes',
            'Stored (accepted, synced before the 2xx), superseded (a newer state of the same alert replaced it), deduplicated (another replica had it), recovered (found in the store after a restart), per 5m.',
            [[`sum by (channel, target, outcome) (increase(queuescope_notifications_total{${JI}, outcome=~"stored|superseded|deduplicated|recovered"}[5m]))`, '{{channel}}/{{target}} {{outcome}}']],
            UNIT.count,
            { w: 24, min: 0 },
          ),
        ],
      },
      {
        title: 'Process',
        panels: [
          series('Memory', 'Resident set size.', [[`max(process_resident_memory_bytes{${JI}})`, 'RSS']], UNIT.bytes, { w: 8, min: 0 }),
          series('CPU', 'CPU seconds per second.', [[`sum(rate(process_cpu_seconds_total{${JI}}[${RI}]))`, 'cpu']], UNIT.ratio, { w: 8, min: 0 }),
          series('Event loop lag (p99)', 'Node.js event loop delay, 99th percentile.', [[`max(nodejs_eventloop_lag_p99_seconds{${JI}})`, 'p99']], UNIT.seconds, { w: 8, min: 0 }),
        ],
      },
    ],
  });

  return {
    'queuescope-queues.json': queues,
    'queuescope-streams.json': streams,
    'queuescope-components.json': components,
    'queuescope-mysql.json': mysql,
    'queuescope-self.json': self,
  };
}

/** File name (in `grafana/dashboards/`) → dashboard. */
export const DASHBOARDS: Readonly<Record<string, Dashboard>> = buildDashboards(DEFAULT_PARAMS);

/** The JSON text Grafana provisions for `board` (2-space indent, trailing newline). */
export function render(board: Dashboard): string {
  return `${JSON.stringify(board, null, 2)}\n`;
}
