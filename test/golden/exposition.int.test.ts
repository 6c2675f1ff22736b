/**
 * The golden page (node_exporter's `e2e-output.txt` habit): a fixed Redis
 * state, read through the whole app (`/metrics`, `/probe`) with the clock
 * pinned, must give exactly the page in `metrics.txt` / `probe.txt`.
 * A refactor that changes one byte of the exposition shows in this diff.
 *
 * Values that cannot be pinned (durations measured with `performance.now`,
 * XINFO CONSUMERS idle time kept by redis-server's own clock, the process and
 * Node.js metrics of prom-client) are normalised or left out; everything else,
 * including family and sample order, is compared byte for byte. The raw page
 * is checked with `promtool check metrics` first.
 *
 * Regenerate (after an intended change only): `QUEUESCOPE_UPDATE_GOLDEN=1 npx vitest run test/golden`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { AsynqWriter, msToNs } from '../fixtures/frameworks/asynq.js';
import { CeleryWriter } from '../fixtures/frameworks/celery.js';
import { RqWriter } from '../fixtures/frameworks/rq.js';
import { SidekiqWriter } from '../fixtures/frameworks/sidekiq.js';
import { findBinary } from '../helpers/binaries.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The pinned wall clock, unix ms (2025-06-15T14:13:20Z). */
const NOW = 1_750_000_000_000;
const NOW_S = NOW / 1000;

/** Families whose value is measured, not read: compared by presence only. */
const VOLATILE = new Set([
  'queuescope_scrape_collector_duration_seconds',
  'queuescope_discovery_duration_seconds',
  'queue_stream_consumer_idle_seconds',
]);

/**
 * The page with measured values replaced by `<measured>`, prom-client's
 * process/Node.js families dropped and the Node.js version label fixed.
 */
export function normalise(page: string): string {
  const out: string[] = [];
  for (const line of page.split('\n')) {
    const name = line.startsWith('# ') ? line.split(' ')[2] ?? '' : /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    if (/^(process_|nodejs_)/.test(name)) continue;
    let text = line.replace(/nodejs="[^"]*"/, 'nodejs="<node>"');
    if (!line.startsWith('#') && (VOLATILE.has(name) || VOLATILE.has(name.replace(/_(bucket|sum|count)$/, '')))) {
      text = text.replace(/ \S+$/, ' <measured>');
    }
    out.push(text);
  }
  return out.join('\n');
}

/** Writes every layout the sidecar reads, with timestamps relative to {@link NOW}. */
async function seed(r: Redis): Promise<void> {
  await r.flushall();
  // Declared list + companions.
  for (let i = 0; i < 12; i++) {
    const id = `task_${i}`;
    const created = NOW_S - 3000 + i * 200;
    await r.hset('task:details', id, JSON.stringify({ exam_id: '15', created_at: created }));
    await r.zadd('task:timeline', created, id);
    if (i < 4) await r.sadd('task:done', id);
    else if (i < 6) await r.sadd('task:failed', id);
    else await r.rpush('task:queue', id);
  }
  await r.lpush('plain_queue', JSON.stringify({ id: 'a', created_at: NOW_S - 120 }), JSON.stringify({ id: 'b', created_at: NOW_S - 10 }));
  await r.set('counted:ok', '41');
  await r.set('counted:failed', '3');
  await r.set('counted:enqueued', '50');
  // Declared stream with two groups, retry and dead streams.
  for (let i = 0; i < 8; i++) await r.xadd('task_stream', `${NOW - 100_000 + i * 1000}-0`, 'task', String(i));
  await r.xgroup('CREATE', 'task_stream', 'workers', '0');
  await r.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 3, 'STREAMS', 'task_stream', '>');
  await r.xack('task_stream', 'workers', `${NOW - 100_000}-0`);
  await r.xgroup('CREATE', 'task_stream', 'audit', '$');
  await r.xadd('task_stream:retry', `${NOW - 5000}-0`, 'task', 'r1');
  await r.xadd('task_stream:dlq', `${NOW - 4000}-0`, 'task', 'd1');
  // Declared delay queue: 2 due, 2 scheduled (seconds).
  await r.zadd('jobs:delayed', NOW_S - 50, 'j1', NOW_S - 5, 'j2', NOW_S + 100, 'j3', NOW_S + 200, 'j4');
  // Components.
  await r.set('simulator:heartbeat', String(NOW_S - 2));
  await r.set('simulator:written:total', '452000');
  await r.set('consumer:heartbeat', String(NOW - 1000));
  await r.set('consumer:processed:total', '448888');
  await r.set('consumer:last_duration', '35');
  await r.lpush('consumer:durations', '30', '40', '44');
  await r.set('stale:heartbeat', String(NOW_S - 600));
  // asynq: two pending, one active-less queue paused.
  const asynq = new AsynqWriter(r, 'default');
  await asynq.enqueue('a1', msToNs(NOW - 30_000));
  await asynq.enqueue('a2', msToNs(NOW - 10_000));
  await asynq.schedule('a3', NOW_S + 60);
  const critical = new AsynqWriter(r, 'critical');
  await critical.enqueue('c1', msToNs(NOW - 5000));
  await critical.pause(NOW_S);
  // BullMQ 5 layout, written by hand: 2 waiting, 1 delayed, meta with paused.
  await r.hset('bull:mail:meta', 'opts.maxLenEvents', '10000');
  await r.set('bull:mail:id', '3');
  await r.hset('bull:mail:1', 'name', 'send', 'timestamp', String(NOW - 40_000), 'data', '{}');
  await r.hset('bull:mail:2', 'name', 'send', 'timestamp', String(NOW - 20_000), 'data', '{}');
  await r.lpush('bull:mail:wait', '1', '2');
  await r.zadd('bull:mail:delayed', (NOW + 60_000) * 4096, '3');
  await r.xadd('bull:mail:events', `${NOW - 1000}-0`, 'event', 'waiting', 'jobId', '2');
  // Sidekiq 8, one namespace-less deployment.
  const sidekiq = new SidekiqWriter(r);
  await sidekiq.push8('default', NOW - 15_000);
  await sidekiq.push8('default', NOW - 5000);
  await sidekiq.registerOnly('low');
  await sidekiq.retry('default', NOW_S + 30);
  await sidekiq.flushStats(100, 7, NOW_S);
  // Celery with a priority sub-list.
  const celery = new CeleryWriter(r);
  await celery.put('celery');
  await celery.put('celery', 6);
  await celery.bind('celery');
  // RQ.
  const rq = new RqWriter(r, 'default');
  await rq.enqueue(NOW - 25_000);
  await rq.started(NOW_S + 200);
  await rq.finished(NOW_S + 400);
  await rq.failed(NOW_S - 10);
  // A key of the wrong type: its collector reports success 0, the others are unaffected.
  await r.set('broken:queue', 'not a list');
  // A discovered stream.
  await r.xadd('events:orders', `${NOW - 2000}-0`, 'o', '1');
  await r.xgroup('CREATE', 'events:orders', 'billing', '0');
}

function config(url: string) {
  return configSchema.parse({
    logLevel: 'silent',
    scrape: { timeout: '4s' },
    redis: { url },
    queues: [
      { name: 'exam-tasks', type: 'list', key: 'task:queue', details: 'task:details', done: 'task:done', failed: 'task:failed', timeline: 'task:timeline', windows: ['1m', '1h'] },
      { name: 'plain', type: 'list', key: 'plain_queue', oldestAt: 'tail', backlogThreshold: 50, latencyThreshold: '1m' },
      { name: 'counted', type: 'list', key: 'counted:queue', processedCounter: 'counted:ok', failedCounter: 'counted:failed', enqueuedCounter: 'counted:enqueued' },
      { name: 'task_stream', type: 'stream', key: 'task_stream', retry: 'task_stream:retry', dead: 'task_stream:dlq' },
      { name: 'delayed', type: 'zset', key: 'jobs:delayed' },
      { name: 'broken', type: 'list', key: 'broken:queue' },
    ],
    components: [
      { name: 'simulator', heartbeat: 'simulator:heartbeat', total: 'simulator:written:total' },
      { name: 'consumer', heartbeat: 'consumer:heartbeat', total: 'consumer:processed:total', lastDuration: 'consumer:last_duration', durations: 'consumer:durations' },
      { name: 'stale', heartbeat: 'stale:heartbeat' },
      { name: 'missing', heartbeat: 'missing:heartbeat' },
    ],
    discover: [
      { framework: 'asynq' },
      { framework: 'bullmq' },
      { framework: 'sidekiq' },
      { framework: 'celery' },
      { framework: 'rq' },
      { framework: 'stream', match: 'events:*' },
      { framework: 'list', match: 'jobs:list:*' },
    ],
    modules: {
      frameworks: {
        discover: [{ framework: 'asynq' }, { framework: 'rq' }, { framework: 'stream' }],
        queues: [{ name: 'delayed', type: 'zset', key: 'jobs:delayed' }],
      },
    },
  });
}

let redis: RedisServer;
let app: FastifyInstance;

beforeAll(async () => {
  redis = await startRedis();
  // Only Date is faked: timers, performance.now and redis-server keep running.
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  await seed(redis.client);
  app = await buildApp(config(redis.url), { log: pino({ level: 'silent' }) });
  await app.queuescope.runtime.discovery.refresh();
});

afterAll(async () => {
  await app?.close();
  vi.useRealTimers();
  await redis?.stop();
});

/** Compares `page` (normalised) with the golden file `name`, or rewrites it when asked to. */
function golden(name: string, page: string): void {
  const path = join(here, name);
  const got = normalise(page);
  if (process.env.QUEUESCOPE_UPDATE_GOLDEN === '1') writeFileSync(path, got);
  expect(got).toBe(readFileSync(path, 'utf8'));
}

function promtoolCheck(page: string): void {
  const promtool = findBinary('promtool', 'prometheus');
  // promtool check metrics exits 1 on lint problems and 3 on parse errors; both fail here.
  execFileSync(promtool, ['check', 'metrics'], { input: page, stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('golden exposition', () => {
  it('/metrics (text 0.0.4) is byte for byte the golden page', async () => {
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    promtoolCheck(res.body);
    golden('metrics.txt', res.body);
  });

  it('/metrics (OpenMetrics) is byte for byte the golden page', async () => {
    const res = await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(res.statusCode).toBe(200);
    golden('metrics.openmetrics.txt', res.body);
  });

  it('/probe (text and OpenMetrics) is byte for byte the golden page', async () => {
    const target = encodeURIComponent(redis.url);
    const text = await app.inject({ url: `/probe?target=${target}&module=frameworks` });
    expect(text.statusCode).toBe(200);
    promtoolCheck(text.body);
    golden('probe.txt', text.body);
    const om = await app.inject({ url: `/probe?target=${target}&module=frameworks`, headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    golden('probe.openmetrics.txt', om.body);
  });
});
