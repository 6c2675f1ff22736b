/**
 * buildSnapshot on collections built by hand (the same CollectionBuilder the
 * engine uses), with pinned timestamps: statuses, null vs 0, numbers, queue
 * aggregation, rates.
 */
import { describe, expect, it } from 'vitest';
import { CollectionBuilder, type Collection } from '../../src/collect/collection.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { RateTracker } from '../../src/monitor/rates.js';
import { buildSnapshot, observeCollection } from '../../src/monitor/snapshot.js';

const AT = Date.UTC(2026, 4, 16, 9, 21, 7);

function config(extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    discover: [],
    components: [
      { name: 'simulator', heartbeat: 'simulator:heartbeat', staleAfter: '30s', total: 'simulator:written:total' },
      { name: 'consumer', heartbeat: 'consumer:heartbeat', staleAfter: '30s', total: 'consumer:processed:total', lastDuration: 'consumer:last_duration', durations: 'consumer:durations' },
      { name: 'stale', heartbeat: 'stale:heartbeat', staleAfter: '10s' },
      { name: 'missing', heartbeat: 'missing:heartbeat' },
    ],
    ...extra,
  });
}

interface Counts {
  simulatorTotal: number;
  processed: number;
}

function collection(at: number, counts: Counts = { simulatorTotal: 452000, processed: 448900 }, redisUp = true): Collection {
  const b = new CollectionBuilder(at);
  const s = b.sink('components');
  if (redisUp) {
    s.add('queue_component_up', { component: 'simulator' }, 1);
    s.add('queue_component_heartbeat_timestamp_seconds', { component: 'simulator' }, at / 1000 - 2);
    s.add('queue_component_heartbeat_age_seconds', { component: 'simulator' }, 2);
    s.add('queue_component_items_total', { component: 'simulator' }, counts.simulatorTotal);
    s.add('queue_component_up', { component: 'consumer' }, 1);
    s.add('queue_component_heartbeat_timestamp_seconds', { component: 'consumer' }, at / 1000 - 1.0009999);
    s.add('queue_component_heartbeat_age_seconds', { component: 'consumer' }, 1.0009999);
    s.add('queue_component_items_total', { component: 'consumer' }, 448888);
    s.add('queue_component_last_duration_seconds', { component: 'consumer' }, 0.035);
    s.add('queue_component_recent_duration_seconds', { component: 'consumer' }, 0.038);
    s.add('queue_component_up', { component: 'stale' }, 0);
    s.add('queue_component_heartbeat_timestamp_seconds', { component: 'stale' }, at / 1000 - 600);
    s.add('queue_component_heartbeat_age_seconds', { component: 'stale' }, 600);
    s.add('queue_component_up', { component: 'missing' }, 0);
  }
  const l = b.sink('list');
  l.add('queue_info', { queue: 'exam-tasks', framework: 'list', key: 'task:queue' }, 1);
  if (redisUp) {
    l.add('queue_tasks', { queue: 'exam-tasks', framework: 'list', state: 'waiting' }, 1821);
    l.add('queue_oldest_task_age_seconds', { queue: 'exam-tasks', framework: 'list' }, 4.2);
    l.add('queue_processed_total', { queue: 'exam-tasks', framework: 'list' }, counts.processed);
    l.add('queue_failed_total', { queue: 'exam-tasks', framework: 'list' }, 12);
    l.add('queue_window_tasks', { queue: 'exam-tasks', framework: 'list', window: '1m' }, 18000);
    l.add('queue_window_tasks', { queue: 'exam-tasks', framework: 'list', window: '10m' }, 180000);
    const st = b.sink('stream');
    st.add('queue_info', { queue: 'task_stream', framework: 'stream', key: 'task_stream' }, 1);
    st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'active', group: 'g1' }, 3);
    st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'waiting', group: 'g1' }, 6);
    st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'active', group: 'g2' }, 0);
    st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'waiting', group: 'g2' }, 10);
    st.add('queue_oldest_task_age_seconds', { queue: 'task_stream', framework: 'stream', group: 'g1' }, 90);
    st.add('queue_oldest_task_age_seconds', { queue: 'task_stream', framework: 'stream', group: 'g2' }, 100);
    st.add('queue_tasks', { queue: 'task_stream', framework: 'stream', state: 'dead' }, 2);
    const d = b.sink('discovery');
    d.add('queue_tasks', { queue: 'default', framework: 'asynq', state: 'waiting' }, 5);
    d.add('queue_paused', { queue: 'default', framework: 'asynq' }, 1);
    d.add('queue_tasks', { queue: 'default', framework: 'sidekiq', state: 'waiting' }, 7);
    d.add('queue_tasks', { queue: '__proto__', framework: 'list', state: 'waiting' }, 1);
  }
  const m = b.sink('mysql');
  m.declare('mysql_up', 'gauge', 'up');
  m.add('mysql_up', {}, 1);
  for (const [name, v] of [['threads_connected', 22], ['connections', 38], ['slow_queries', 1], ['threads_running', 3]] as const) {
    m.declare(`mysql_global_status_${name}`, 'gauge', name);
    m.add(`mysql_global_status_${name}`, {}, v);
  }
  m.declare('mysql_global_variables_max_connections', 'gauge', 'max');
  m.add('mysql_global_variables_max_connections', {}, 151);
  b.add('redis_up', {}, redisUp ? 1 : 0);
  return b.finish();
}

describe('buildSnapshot', () => {
  it('reports each component from its heartbeat: running, stopped, unknown', () => {
    const c = collection(AT);
    const tracker = new RateTracker(60_000);
    observeCollection(tracker, c);
    const snap = buildSnapshot(c, config(), tracker);
    expect(snap.generatedAt).toBe('2026-05-16T09:21:07.000Z');
    expect(Object.keys(snap.components)).toEqual(['simulator', 'consumer', 'stale', 'missing']);
    expect(snap.components.simulator).toEqual({
      status: 'running', lastHeartbeat: AT / 1000 - 2, heartbeatAgeSeconds: 2, staleAfterSeconds: 30, total: 452000,
      ratePerSecond: null, ratePerMinute: null, lastDurationMs: null, avgDurationMs: null,
    });
    expect(snap.components.consumer).toMatchObject({ status: 'running', heartbeatAgeSeconds: 1.001, total: 448888, lastDurationMs: 35, avgDurationMs: 38 });
    expect(snap.components.stale).toMatchObject({ status: 'stopped', heartbeatAgeSeconds: 600, staleAfterSeconds: 10, total: null });
    expect(snap.components.missing).toEqual({
      status: 'unknown', lastHeartbeat: null, heartbeatAgeSeconds: null, staleAfterSeconds: 30, total: null,
      ratePerSecond: null, ratePerMinute: null, lastDurationMs: null, avgDurationMs: null,
    });
  });

  it('computes rates from two collections and none from one', () => {
    const tracker = new RateTracker(60_000);
    const first = collection(AT, { simulatorTotal: 452000, processed: 448900 });
    observeCollection(tracker, first);
    expect(buildSnapshot(first, config(), tracker).components.simulator!.ratePerSecond).toBeNull();
    const second = collection(AT + 2000, { simulatorTotal: 452600, processed: 449490 });
    observeCollection(tracker, second);
    const snap = buildSnapshot(second, config(), tracker);
    expect(snap.components.simulator).toMatchObject({ ratePerSecond: 300, ratePerMinute: 18000 });
    expect(snap.queues['exam-tasks']).toMatchObject({ ratePerSecond: 295, ratePerMinute: 17700 });
    // a component without a total has no rate, ever
    expect(snap.components.stale!.ratePerSecond).toBeNull();
  });

  it('gives queues numbers, null for states the layout does not keep, and sums stream groups', () => {
    const c = collection(AT);
    const snap = buildSnapshot(c, config(), new RateTracker(60_000));
    expect(snap.queues['exam-tasks']).toEqual({
      name: 'exam-tasks', framework: 'list', waiting: 1821, active: null, scheduled: null, retry: null, dead: null, completed: null,
      processed: 448900, failed: 12, enqueued: null, oldestTaskAgeSeconds: 4.2, windows: { '1m': 18000, '10m': 180000 },
      ratePerSecond: null, ratePerMinute: null, paused: null, groups: null,
    });
    expect(snap.queues.task_stream).toMatchObject({
      framework: 'stream', waiting: 16, active: 3, dead: 2, oldestTaskAgeSeconds: 100, processed: null, windows: null,
      groups: { g1: { waiting: 6, active: 3, oldestTaskAgeSeconds: 90 }, g2: { waiting: 10, active: 0, oldestTaskAgeSeconds: 100 } },
    });
  });

  it('keys same-named queues of two frameworks apart and keeps hostile names as plain entries', () => {
    const snap = buildSnapshot(collection(AT), config(), new RateTracker(60_000));
    expect(snap.queues['default@asynq']).toMatchObject({ name: 'default', framework: 'asynq', waiting: 5, paused: true });
    expect(snap.queues['default@sidekiq']).toMatchObject({ name: 'default', framework: 'sidekiq', waiting: 7, paused: null });
    expect(snap.queues.default).toBeUndefined();
    expect(Object.keys(snap.queues)).toContain('__proto__');
    expect(JSON.parse(JSON.stringify(snap)).queues.__proto__.waiting).toBe(1);
  });

  it('reads MySQL from the collection, and is null without a mysql block', () => {
    const c = collection(AT);
    const withMysql = buildSnapshot(c, config({ mysql: { url: 'mysql://u:p@127.0.0.1:3306/' } }), new RateTracker(60_000));
    expect(withMysql.mysql).toEqual({ up: true, threadsConnected: 22, connections: 38, maxConnections: 151, slowQueries: 1, threadsRunning: 3 });
    expect(buildSnapshot(c, config(), new RateTracker(60_000)).mysql).toBeNull();
  });

  it('with Redis down: redis.up false, every component unknown, declared queues without numbers', () => {
    const snap = buildSnapshot(collection(AT, undefined, false), config(), new RateTracker(60_000));
    expect(snap.redis).toEqual({ up: false });
    expect(Object.values(snap.components).map((c) => c.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(Object.keys(snap.queues)).toEqual(['exam-tasks']);
    expect(snap.queues['exam-tasks']).toMatchObject({ waiting: null, processed: null, oldestTaskAgeSeconds: null });
  });
});
