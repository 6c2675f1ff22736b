/**
 * The scrape engine against a real redis-server holding the team's own layouts
 * (shared/spec/frameworks.md): every family is compared with values computed
 * independently by plain commands on the same data.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ComponentsCollector } from '../../src/collect/components.js';
import { ScrapeEngine } from '../../src/collect/engine.js';
import { render } from '../../src/collect/exposition.js';
import { LayoutCollector } from '../../src/collect/queues/layout.js';
import { listLayout, type ListQueue } from '../../src/collect/queues/list.js';
import { streamLayout, type StreamQueue } from '../../src/collect/queues/stream.js';
import { zsetLayout, type ZsetQueue } from '../../src/collect/queues/zset.js';
import type { ComponentConfig } from '../../src/config/schema.js';
import { configSchema } from '../../src/config/schema.js';
import { SingleNodeExecutor, type BatchExecutor } from '../../src/redis/batch.js';
import { StandaloneExecutor } from '../../src/redis/standalone.js';
import { parseExposition, seriesKey } from '../helpers/exposition.js';
import { resp, startFakeRedis } from '../helpers/fake-redis.js';
import { startPacedProxy } from '../helpers/paced-proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const log = pino({ level: 'silent' });
const NOW_S = Math.floor(Date.now() / 1000);

const examList: ListQueue = {
  name: 'exam-tasks', type: 'list', key: 'task:queue', oldestAt: 'head', details: 'task:details', done: 'task:done',
  failed: 'task:failed', timeline: 'task:timeline', windows: [60_000, 600_000, 3_600_000], backlogThreshold: 1000, latencyThreshold: 300_000,
};
const plainList: ListQueue = {
  name: 'task_queue', type: 'list', key: 'task_queue', oldestAt: 'tail', windows: [60_000], backlogThreshold: 50, latencyThreshold: 60_000,
};
const counterList: ListQueue = {
  name: 'counted', type: 'list', key: 'counted:queue', oldestAt: 'head', processedCounter: 'counted:ok', failedCounter: 'counted:failed', enqueuedCounter: 'counted:enqueued',
  windows: [60_000], backlogThreshold: 10, latencyThreshold: 1000,
};
const stream: StreamQueue = {
  name: 'task_stream', type: 'stream', key: 'task_stream', groups: [], retry: 'task_stream:retry', dead: 'task_stream:dlq', consumers: true,
  backlogThreshold: 1000, latencyThreshold: 300_000,
};
const delayed: ZsetQueue = { name: 'delayed-jobs', type: 'zset', key: 'jobs:delayed', backlogThreshold: 1000, latencyThreshold: 300_000 };
const components: ComponentConfig[] = [
  { name: 'simulator', heartbeat: 'simulator:heartbeat', staleAfter: 30_000, total: 'simulator:written:total' },
  { name: 'consumer', heartbeat: 'consumer:heartbeat', staleAfter: 30_000, total: 'consumer:processed:total', lastDuration: 'consumer:last_duration', durations: 'consumer:durations' },
  { name: 'stale', heartbeat: 'stale:heartbeat', staleAfter: 30_000 },
  { name: 'missing', heartbeat: 'missing:heartbeat', staleAfter: 30_000 },
];

let redis: RedisServer;
let sidecarClient: Redis;
let engine: ScrapeEngine;
let lists: ListQueue[];

async function scrape(): Promise<Map<string, number>> {
  const c = await engine.collect(Date.now() + 2000);
  return parseExposition(render(c.families.values(), 'text'));
}

/** Writes the team's layouts exactly as their producers and consumers do. */
async function seed(r: Redis): Promise<void> {
  await r.flushall();
  // List + companions: RPUSH ids, details JSON with created_at (unix s), done/failed sets, timeline zset.
  for (let i = 0; i < 30; i++) {
    const id = `task_${i}`;
    const created = NOW_S - 3590 + i * 123; // spread over the last hour, away from window edges
    await r.hset('task:details', id, JSON.stringify({ exam_id: '15', user_id: String(i), score: '88', created_at: created }));
    await r.zadd('task:timeline', created, id);
    if (i < 12) await r.sadd('task:done', id);
    else if (i < 15) await r.sadd('task:failed', id);
    else await r.rpush('task:queue', id);
  }
  // Plain list: LPUSH JSON by the API, RPOP by the worker (oldest at the tail).
  await r.lpush('task_queue', JSON.stringify({ id: 'a', created_at: NOW_S - 120 }), JSON.stringify({ id: 'b', created_at: NOW_S - 10 }));
  await r.set('counted:ok', '41');
  await r.set('counted:failed', '3');
  await r.set('counted:enqueued', '50');
  // Stream + consumer group: 10 entries, 4 delivered to c1, 1 acked; retry and dead-letter streams.
  for (let i = 0; i < 10; i++) await r.xadd('task_stream', `${(NOW_S - 100 + i) * 1000}-0`, 'task', String(i));
  await r.xgroup('CREATE', 'task_stream', 'scheduler_group', '0');
  await r.xreadgroup('GROUP', 'scheduler_group', 'c1', 'COUNT', 4, 'STREAMS', 'task_stream', '>');
  await r.xack('task_stream', 'scheduler_group', `${(NOW_S - 100) * 1000}-0`);
  await r.xgroup('CREATE', 'task_stream', 'audit', '$');
  await r.xadd('task_stream:retry', '*', 'task', 'r1');
  await r.xadd('task_stream:dlq', '*', 'task', 'd1');
  await r.xadd('task_stream:dlq', '*', 'task', 'd2');
  // Delay queue: 2 due (seconds), 3 in the future.
  await r.zadd('jobs:delayed', NOW_S - 50, 'j1', NOW_S - 5, 'j2', NOW_S + 100, 'j3', NOW_S + 200, 'j4', NOW_S + 300, 'j5');
  // Heartbeats: seconds, milliseconds, stale; counters and durations.
  await r.set('simulator:heartbeat', String(NOW_S - 2));
  await r.set('simulator:written:total', '452000');
  await r.set('consumer:heartbeat', String(Date.now() - 1000));
  await r.set('consumer:processed:total', '448888');
  await r.set('consumer:last_duration', '35');
  await r.lpush('consumer:durations', '30', '40', '44');
  await r.set('stale:heartbeat', String(NOW_S - 600));
}

beforeAll(async () => {
  redis = await startRedis();
  sidecarClient = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  await sidecarClient.connect();
  lists = [examList, plainList, counterList];
  engine = new ScrapeEngine({
    executor: new SingleNodeExecutor(sidecarClient),
    collectors: () => [
      new LayoutCollector(listLayout, () => lists),
      new LayoutCollector(streamLayout, () => [stream]),
      new LayoutCollector(zsetLayout, () => [delayed]),
      new ComponentsCollector(() => components),
    ],
    cacheForMs: 0,
    log,
  });
});

afterAll(async () => {
  sidecarClient?.disconnect();
  await redis?.stop();
});

beforeEach(async () => {
  lists = [examList, plainList, counterList];
  await seed(redis.client);
});

describe('list + companions', () => {
  it('matches LLEN, SCARD, HLEN and ZCOUNT computed independently', async () => {
    const r = redis.client;
    const m = await scrape();
    const q = { queue: 'exam-tasks', framework: 'list' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting' }))).toBe(await r.llen('task:queue'));
    expect(m.get(seriesKey('queue_enqueued_total', q))).toBe(await r.hlen('task:details'));
    const done = await r.scard('task:done');
    const failed = await r.scard('task:failed');
    expect(m.get(seriesKey('queue_processed_total', q))).toBe(done + failed);
    expect(m.get(seriesKey('queue_failed_total', q))).toBe(failed);
    for (const [label, seconds] of [['1m', 60], ['10m', 600], ['1h', 3600]] as const) {
      const now = Math.floor(Date.now() / 1000);
      expect(m.get(seriesKey('queue_window_tasks', { ...q, window: label }))).toBe(await r.zcount('task:timeline', now - seconds, now));
    }
    expect(m.get(seriesKey('queue_info', { ...q, key: 'task:queue' }))).toBe(1);
    // Default thresholds: no per-queue series (the Runtime adds the one queue_default_* pair).
    expect(m.has(seriesKey('queue_backlog_threshold', q))).toBe(false);
    expect(m.has(seriesKey('queue_latency_threshold_seconds', q))).toBe(false);
  });

  it('measures the oldest task age from the head task\'s created_at in the details hash', async () => {
    const head = (await redis.client.lindex('task:queue', 0))!;
    const created = JSON.parse((await redis.client.hget('task:details', head))!).created_at as number;
    const m = await scrape();
    const age = m.get(seriesKey('queue_oldest_task_age_seconds', { queue: 'exam-tasks', framework: 'list' }))!;
    expect(age).toBeGreaterThanOrEqual(Date.now() / 1000 - created - 2);
    expect(age).toBeLessThanOrEqual(Date.now() / 1000 - created + 2);
  });

  it('detects millisecond timeline scores', async () => {
    await redis.client.del('task:timeline');
    const nowMs = Date.now();
    await redis.client.zadd('task:timeline', nowMs - 30_000, 'x', nowMs - 300_000, 'y', nowMs - 7_200_000, 'z');
    const m = await scrape();
    const q = { queue: 'exam-tasks', framework: 'list' };
    expect(m.get(seriesKey('queue_window_tasks', { ...q, window: '1m' }))).toBe(1);
    expect(m.get(seriesKey('queue_window_tasks', { ...q, window: '10m' }))).toBe(2);
    expect(m.get(seriesKey('queue_window_tasks', { ...q, window: '1h' }))).toBe(2);
  });

  it('reads a plain LPUSH/RPOP list with JSON elements from its tail', async () => {
    const m = await scrape();
    const q = { queue: 'task_queue', framework: 'list' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting' }))).toBe(2);
    const age = m.get(seriesKey('queue_oldest_task_age_seconds', q))!;
    expect(age).toBeGreaterThanOrEqual(118);
    expect(age).toBeLessThan(125);
    // Not the default: the queue's own threshold series.
    expect(m.get(seriesKey('queue_backlog_threshold', q))).toBe(50);
    expect(m.get(seriesKey('queue_latency_threshold_seconds', q))).toBe(60);
  });

  it('sums integer counters: processed = successes + failures', async () => {
    const m = await scrape();
    const q = { queue: 'counted', framework: 'list' };
    expect(m.get(seriesKey('queue_processed_total', q))).toBe(44);
    expect(m.get(seriesKey('queue_failed_total', q))).toBe(3);
    expect(m.get(seriesKey('queue_enqueued_total', q))).toBe(50);
  });

  it('reports 0 age when nothing waits', async () => {
    await redis.client.del('task:queue');
    const m = await scrape();
    expect(m.get(seriesKey('queue_oldest_task_age_seconds', { queue: 'exam-tasks', framework: 'list' }))).toBe(0);
    expect(m.get(seriesKey('queue_tasks', { queue: 'exam-tasks', framework: 'list', state: 'waiting' }))).toBe(0);
  });
});

describe('stream + consumer group', () => {
  it('matches XINFO STREAM / GROUPS / CONSUMERS and XPENDING', async () => {
    const r = redis.client;
    const m = await scrape();
    const s = { stream: 'task_stream' };
    const g = { ...s, group: 'scheduler_group' };
    expect(m.get(seriesKey('queue_stream_length', s))).toBe(await r.xlen('task_stream'));
    expect(m.get(seriesKey('queue_stream_groups', s))).toBe(2);
    expect(m.get(seriesKey('queue_stream_entries_added_total', s))).toBe(10);
    expect(m.get(seriesKey('queue_stream_last_entry_timestamp_seconds', s))).toBe(NOW_S - 91);
    const pending = (await r.xpending('task_stream', 'scheduler_group')) as [number, string, string, unknown];
    expect(m.get(seriesKey('queue_stream_group_pending', g))).toBe(pending[0]);
    expect(m.get(seriesKey('queue_stream_group_pending', g))).toBe(3);
    expect(m.get(seriesKey('queue_stream_group_lag', g))).toBe(6);
    expect(m.get(seriesKey('queue_stream_group_consumers', g))).toBe(1);
    expect(m.get(seriesKey('queue_stream_group_lag', { ...s, group: 'audit' }))).toBe(0);
    const q = { queue: 'task_stream', framework: 'stream' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting', group: 'scheduler_group' }))).toBe(6);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'active', group: 'scheduler_group' }))).toBe(3);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'retry' }))).toBe(1);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'dead' }))).toBe(2);
    expect(m.get(seriesKey('queue_enqueued_total', q))).toBe(10);
    expect(m.get(seriesKey('queue_stream_consumer_pending', { ...g, consumer: 'c1' }))).toBe(3);
    expect(m.get(seriesKey('queue_stream_consumer_idle_seconds', { ...g, consumer: 'c1' }))).toBeLessThan(5);
  });

  it('ages the oldest pending entry and the oldest undelivered entry', async () => {
    const m = await scrape();
    const now = Date.now() / 1000;
    // Smallest pending id: entry 1 (entry 0 was acked); first undelivered: entry 4.
    const pendingAge = m.get(seriesKey('queue_stream_group_oldest_pending_age_seconds', { stream: 'task_stream', group: 'scheduler_group' }))!;
    expect(pendingAge).toBeGreaterThan(now - (NOW_S - 99) - 2);
    expect(pendingAge).toBeLessThan(now - (NOW_S - 99) + 2);
    const waitingAge = m.get(seriesKey('queue_oldest_task_age_seconds', { queue: 'task_stream', framework: 'stream', group: 'scheduler_group' }))!;
    expect(waitingAge).toBeGreaterThan(now - (NOW_S - 96) - 2);
    expect(waitingAge).toBeLessThan(now - (NOW_S - 96) + 2);
    expect(m.get(seriesKey('queue_oldest_task_age_seconds', { queue: 'task_stream', framework: 'stream', group: 'audit' }))).toBe(0);
  });

  it('treats a stream that does not exist yet as empty, not as a failure', async () => {
    await redis.client.del('task_stream');
    const m = await scrape();
    expect(m.get(seriesKey('queue_stream_length', { stream: 'task_stream' }))).toBe(0);
    expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'stream' }))).toBe(1);
  });
});

describe('zset delay queue', () => {
  it('splits due (waiting) from future (scheduled) tasks', async () => {
    const m = await scrape();
    const q = { queue: 'delayed-jobs', framework: 'zset' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting' }))).toBe(2);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'scheduled' }))).toBe(3);
    const age = m.get(seriesKey('queue_oldest_task_age_seconds', q))!;
    expect(age).toBeGreaterThanOrEqual(49);
    expect(age).toBeLessThan(55);
  });

  it('handles millisecond scores', async () => {
    await redis.client.del('jobs:delayed');
    const now = Date.now();
    await redis.client.zadd('jobs:delayed', now - 10_000, 'a', now + 60_000, 'b', now + 70_000, 'c');
    const m = await scrape();
    const q = { queue: 'delayed-jobs', framework: 'zset' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting' }))).toBe(1);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'scheduled' }))).toBe(2);
  });

  it('counts 0 for an empty delay queue and an empty timeline without counting (no ZCOUNT sent)', async () => {
    await redis.client.del('jobs:delayed', 'task:timeline');
    const before = await redis.client.info('commandstats');
    const m = await scrape();
    const after = await redis.client.info('commandstats');
    const zcounts = (info: string) => Number(/cmdstat_zcount:calls=(\d+)/.exec(info)?.[1] ?? 0);
    expect(zcounts(after) - zcounts(before)).toBe(0);
    const q = { queue: 'delayed-jobs', framework: 'zset' };
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'waiting' }))).toBe(0);
    expect(m.get(seriesKey('queue_tasks', { ...q, state: 'scheduled' }))).toBe(0);
    expect(m.get(seriesKey('queue_oldest_task_age_seconds', q))).toBe(0);
    for (const window of ['1m', '10m', '1h']) expect(m.get(seriesKey('queue_window_tasks', { queue: 'exam-tasks', framework: 'list', window }))).toBe(0);
  });
});

describe('components', () => {
  it('reads heartbeats in seconds and milliseconds, counters and durations', async () => {
    const m = await scrape();
    expect(m.get(seriesKey('queue_component_up', { component: 'simulator' }))).toBe(1);
    expect(m.get(seriesKey('queue_component_heartbeat_timestamp_seconds', { component: 'simulator' }))).toBe(NOW_S - 2);
    expect(m.get(seriesKey('queue_component_items_total', { component: 'simulator' }))).toBe(452000);
    expect(m.get(seriesKey('queue_component_up', { component: 'consumer' }))).toBe(1);
    expect(m.get(seriesKey('queue_component_heartbeat_age_seconds', { component: 'consumer' }))).toBeLessThan(3);
    expect(m.get(seriesKey('queue_component_last_duration_seconds', { component: 'consumer' }))).toBe(0.035);
    expect(m.get(seriesKey('queue_component_recent_duration_seconds', { component: 'consumer' }))).toBeCloseTo(0.038, 6);
    expect(m.get(seriesKey('queue_component_up', { component: 'stale' }))).toBe(0);
    expect(m.get(seriesKey('queue_component_heartbeat_age_seconds', { component: 'stale' }))).toBeGreaterThanOrEqual(600);
    expect(m.get(seriesKey('queue_component_up', { component: 'missing' }))).toBe(0);
    expect(m.has(seriesKey('queue_component_heartbeat_timestamp_seconds', { component: 'missing' }))).toBe(false);
    expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'components' }))).toBe(1);
  });
});

describe('bad data', () => {
  it('skips a key of the wrong type with the collector at 0 and keeps the rest of the page', async () => {
    await redis.client.del('task:queue');
    await redis.client.set('task:queue', 'not a list');
    const c = await engine.collect(Date.now() + 2000);
    const m = parseExposition(render(c.families.values(), 'text'));
    expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'list' }))).toBe(0);
    expect(c.collectors.get('list')!.failures.join('\n')).toContain('LLEN task:queue: key holds the wrong type');
    expect(m.get(seriesKey('redis_up'))).toBe(1);
    expect(m.get(seriesKey('queue_tasks', { queue: 'task_queue', framework: 'list', state: 'waiting' }))).toBe(2);
    expect(m.get(seriesKey('queue_stream_length', { stream: 'task_stream' }))).toBe(10);
  });

  it('skips a non-numeric counter and heartbeat, keeping the other values', async () => {
    await redis.client.set('simulator:written:total', 'lots');
    await redis.client.set('consumer:heartbeat', 'yesterday');
    await redis.client.set('counted:failed', '3.x');
    const c = await engine.collect(Date.now() + 2000);
    const m = parseExposition(render(c.families.values(), 'text'));
    expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'components' }))).toBe(0);
    expect(m.has(seriesKey('queue_component_items_total', { component: 'simulator' }))).toBe(false);
    expect(m.get(seriesKey('queue_component_up', { component: 'simulator' }))).toBe(1);
    expect(m.get(seriesKey('queue_component_up', { component: 'consumer' }))).toBe(0);
    expect(m.get(seriesKey('queue_component_items_total', { component: 'consumer' }))).toBe(448888);
    expect(c.collectors.get('components')!.failures.join('\n')).toMatch(/GET simulator:written:total: value "lots" is not a number/);
    expect(m.get(seriesKey('queue_processed_total', { queue: 'counted', framework: 'list' }))).toBe(41);
    expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'list' }))).toBe(0);
  });
});

describe('round trips', () => {
  it('sends every layout in one pipeline plus one dependent wave', async () => {
    const before = Number((await redis.client.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    const m = await scrape();
    const after = Number((await redis.client.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    expect(m.get(seriesKey('queuescope_scrape_redis_roundtrips'))).toBe(2);
    // The INFO call itself counts once.
    expect(after - before - 1).toBe(m.get(seriesKey('queuescope_scrape_redis_commands')));
  });

  it('pipelines the follow-ups behind the first batch while its replies arrive, and still counts two round trips', async () => {
    // 1,500 queues whose head ids are 300 bytes: ~450 KiB of first-batch replies, several socket
    // reads, so follow-ups (HGET of each head task's details) can go out before the first batch ends.
    const r = redis.client;
    const many: ListQueue[] = [];
    const created = new Map<string, number>();
    const load = r.pipeline();
    for (let q = 0; q < 1500; q++) {
      const id = `${'x'.repeat(290)}-${q}`;
      const at = NOW_S - 100 - q;
      created.set(`bulk-${q}`, at);
      load.rpush(`bulk:${q}`, id);
      load.hset(`bulk:${q}:details`, id, JSON.stringify({ created_at: at }));
      many.push({ name: `bulk-${q}`, type: 'list', key: `bulk:${q}`, oldestAt: 'head', details: `bulk:${q}:details`, windows: [60_000], backlogThreshold: 1000, latencyThreshold: 300_000 });
    }
    await load.exec();
    // Through a proxy that spreads the replies over many reads, as a network does (on plain
    // loopback a fast Redis can hand the whole batch over in one event-loop turn).
    const paced = await startPacedProxy(redis.port);
    const standalone = new StandaloneExecutor(configSchema.parse({ redis: { url: `redis://127.0.0.1:${paced.port}/0` } }).redis, log);
    // Records when each batch was sent and settled, relative to the first batch.
    const events: string[] = [];
    const executor: BatchExecutor = {
      exec: async (commands, deadlineMs, onReply, planned) => {
        const name = planned ? 'first' : 'follow-up';
        events.push(`${name} sent`);
        const result = await standalone.exec(commands, deadlineMs, onReply, planned);
        events.push(`${name} settled`);
        return result;
      },
      scanKeys: (opts, onKeys) => standalone.scanKeys(opts, onKeys),
      close: () => standalone.close(),
    };
    const e = new ScrapeEngine({ executor, collectors: () => [new LayoutCollector(listLayout, () => many)], cacheForMs: 0, log });
    try {
      await e.collect(Date.now() + 5000); // connects
      events.length = 0;
      const before = Number((await r.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
      const c = await e.collect(Date.now() + 5000);
      const after = Number((await r.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
      expect(events.indexOf('follow-up sent')).toBeGreaterThan(0);
      expect(events.indexOf('follow-up sent')).toBeLessThan(events.indexOf('first settled'));
      expect(events.filter((x) => x === 'follow-up sent').length).toBeGreaterThan(1);
      expect(c.value('redis_up')).toBe(1);
      expect(c.value('queuescope_scrape_redis_roundtrips')).toBe(2);
      expect(after - before - 1).toBe(c.value('queuescope_scrape_redis_commands'));
      const nowS = Date.now() / 1000;
      for (const [queue, at] of created) {
        const age = c.value('queue_oldest_task_age_seconds', { queue, framework: 'list' })!;
        expect(Math.abs(age - (nowS - at))).toBeLessThan(5);
      }
    } finally {
      await e.drain();
      await standalone.close();
      await paced.stop();
    }
  });

  it('sends the steps that ask for follow-ups first, so their follow-ups queue behind the rest of the first batch', async () => {
    const batches: string[][] = [];
    const inner = new SingleNodeExecutor(sidecarClient);
    const executor: BatchExecutor = {
      exec: (commands, deadlineMs) => {
        batches.push(commands.map((c) => c.command.slice(0, 2).join(' ')));
        return inner.exec(commands, deadlineMs);
      },
      scanKeys: (opts, onKeys) => inner.scanKeys(opts, onKeys),
      close: () => inner.close(),
    };
    const e = new ScrapeEngine({
      executor,
      collectors: () => [new LayoutCollector(listLayout, () => lists), new LayoutCollector(streamLayout, () => [stream]), new LayoutCollector(zsetLayout, () => [delayed])],
      cacheForMs: 0,
      log,
    });
    const c = await e.collect(Date.now() + 2000);
    const first = batches[0]!;
    // PING, then the list with a details hash (its head id leads to HGET) and a timeline (its newest score to
    // ZCOUNTs in that unit), the stream (its groups lead to XPENDING…) and the delay queue (ZCOUNTs).
    expect(first.slice(0, 7)).toEqual(['PING', 'LLEN task:queue', 'LINDEX task:queue', 'ZRANGE task:timeline', 'XINFO STREAM', 'XINFO GROUPS', 'ZRANGE jobs:delayed']);
    expect(first.length).toBeGreaterThan(7);
    expect(first.filter((c) => c.startsWith('ZCOUNT'))).toEqual([]);
    const followUps = batches.slice(1).flat();
    expect(followUps).toContain('HGET task:details');
    // One ZCOUNT per window (3) and two for the delay queue: in the unit the probe found, not both.
    expect(followUps.filter((c) => c === 'ZCOUNT task:timeline')).toHaveLength(3);
    expect(followUps.filter((c) => c === 'ZCOUNT jobs:delayed')).toHaveLength(2);
    // Read back in the order sent: each step's values are its own (the other tests check them against Redis).
    expect(c.value('queue_tasks', { queue: 'exam-tasks', state: 'waiting' })).toBe(15);
    expect(c.value('queue_oldest_task_age_seconds', { queue: 'exam-tasks' })).toBeGreaterThan(0);
    expect(c.value('queue_enqueued_total', { queue: 'exam-tasks' })).toBe(30);
    expect(c.value('queue_tasks', { queue: 'task_stream', state: 'dead' })).toBe(2);
    expect(c.value('queue_tasks', { queue: 'delayed-jobs', state: 'scheduled' })).toBe(3);
  });

  it('sends no follow-up once the first batch has failed (no reconnect for them), and reports Redis down', async () => {
    // Replies for the first queues, then bytes that are no RESP, in the same read: the
    // connection is dropped mid-batch while the first queues' follow-ups are queued.
    const fake = await startFakeRedis((c) => {
      if (c[0] === 'PING') return resp.simple('PONG');
      if (c[0] === 'CLIENT') return resp.simple('OK');
      if (c[0] === 'LLEN') return c[1] === 'few:3' ? '!not resp\r\n' : resp.int(1);
      if (c[0] === 'LINDEX') return resp.bulk(`id-${c[1]}`);
      if (c[0] === 'HLEN') return resp.int(1);
      return resp.error('ERR unexpected');
    });
    const few: ListQueue[] = Array.from({ length: 5 }, (_, q) => ({
      name: `few-${q}`, type: 'list', key: `few:${q}`, oldestAt: 'head', details: `few:${q}:details`, windows: [60_000], backlogThreshold: 10, latencyThreshold: 60_000,
    }));
    const standalone = new StandaloneExecutor(configSchema.parse({ redis: { url: fake.url } }).redis, log);
    const e = new ScrapeEngine({ executor: standalone, collectors: () => [new LayoutCollector(listLayout, () => few)], cacheForMs: 0, log });
    try {
      const c = await e.collect(Date.now() + 3000);
      await new Promise((resolve) => setTimeout(resolve, 50)); // a late sub-batch would have reconnected by now
      expect(c.value('redis_up')).toBe(0);
      expect(fake.accepts).toBe(1);
      expect(fake.commands.filter((x) => x[0] === 'HGET')).toEqual([]);
    } finally {
      await e.drain();
      await standalone.close();
      await fake.stop();
    }
  });

  it('waits for a connection attempt in progress instead of reporting Redis down', async () => {
    const fresh = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    fresh.connect().catch(() => {});
    try {
      const e = new ScrapeEngine({ executor: new SingleNodeExecutor(fresh), collectors: () => [new LayoutCollector(zsetLayout, () => [delayed])], cacheForMs: 0, log });
      const c = await e.collect(Date.now() + 2000);
      expect(c.value('redis_up')).toBe(1);
      expect(c.value('queue_tasks', { queue: 'delayed-jobs', state: 'scheduled' })).toBe(3);
    } finally {
      fresh.disconnect();
    }
  });

  it('shares one in-flight collection between concurrent scrapes', async () => {
    const before = engine.collections;
    const results = await Promise.all(Array.from({ length: 20 }, () => engine.collect(Date.now() + 2000)));
    expect(engine.collections - before).toBe(1);
    expect(new Set(results).size).toBe(1);
  });
});

describe('collection generations', () => {
  it('writes a new collection into the buffers of the one two generations back, and refuses to read a released one', async () => {
    const c1 = await engine.collect(Date.now() + 2000);
    const c2 = await engine.collect(Date.now() + 2000);
    const tasks1 = c1.find('queue_tasks');
    // c3 releases c1 (its buffers go to c4's builder); c2 and c3 stay readable.
    const c3 = await engine.collect(Date.now() + 2000);
    expect(() => c1.expositionParts('text')).toThrow(/released/);
    expect(c2.find('queue_tasks')).toEqual(tasks1);
    const c4 = await engine.collect(Date.now() + 2000);
    // c4 was written over c1's buffers: the same values, and no byte of c3's memory shared.
    expect(c4.find('queue_tasks')).toEqual(tasks1);
    expect(c4.find('queue_info')).toEqual(c3.find('queue_info'));
    const overlaps = (a: Buffer, b: Buffer) => a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
    for (const f of c4.lines.values()) for (const g of c3.lines.values()) expect(overlaps(f.bytes, g.bytes)).toBe(false);
    expect(parseExposition(c4.exposition('text')).size).toBe(parseExposition(c3.exposition('text')).size);
    expect(() => c2.family('queue_info')).toThrow(/released/);
  });
});
