/**
 * asynq, Sidekiq, Celery and RQ layouts from fixtures written the way each
 * framework writes them (test/fixtures/frameworks/*, source file and version
 * named there), found by discovery and scraped through the engine. Every
 * state holds a different non-zero number, so a state read from the wrong key
 * shows; ages are exact because the scrape's clock is pinned.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config, DiscoverConfig } from '../../../src/config/schema.js';
import { Discovery } from '../../../src/discovery/discovery.js';
import { SingleNodeExecutor } from '../../../src/redis/batch.js';
import { AsynqWriter, msToNs } from '../../fixtures/frameworks/asynq.js';
import { CeleryWriter } from '../../fixtures/frameworks/celery.js';
import { RqWriter } from '../../fixtures/frameworks/rq.js';
import { SidekiqWriter } from '../../fixtures/frameworks/sidekiq.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { scrapeOnce, sidecarConnection, silent, type Scraped } from './harness.js';

const T = Math.floor(Date.now() / 1000) * 1000; // the scrape's pinned clock, whole seconds
const TS = T / 1000;
const scrapeCfg: Config['scrape'] = { timeout: 5000, cacheFor: 0, discoveryInterval: 60_000, scanCount: 50, maxQueues: 100 };
const common = { backlogThreshold: 10, latencyThreshold: 60_000 };
const discover: DiscoverConfig[] = [
  { framework: 'asynq', ...common },
  { framework: 'sidekiq', namespace: '', ...common },
  { framework: 'celery', queues: ['celery', 'vid*', 'missing'], prioritySteps: [0, 3, 6, 9], sep: '\x06\x16', globalKeyprefix: '', ...common },
  { framework: 'rq', ...common },
  { framework: 'stream', match: '*', consumers: true, ...common },
];

let redis: RedisServer;
let sidecar: Redis;
let scraped: Scraped;

async function writeAsynq(r: Redis): Promise<void> {
  const critical = new AsynqWriter(r, 'critical');
  // 27 tasks go through a worker: 4 retried, 6 archived, 7 completed (retention), 8 done (deleted), 2 stay active.
  for (let i = 0; i < 27; i++) await critical.enqueue(`w${i}`, msToNs(T - 600_000 + i));
  for (let i = 0; i < 27; i++) await critical.dequeue(TS);
  let n = 0;
  for (let i = 0; i < 4; i++) await critical.retry(`w${n++}`, TS);
  for (let i = 0; i < 6; i++) await critical.archive(`w${n++}`, TS);
  for (let i = 0; i < 7; i++) await critical.complete(`w${n++}`, TS);
  for (let i = 0; i < 8; i++) await critical.done(`w${n++}`, TS);
  for (let i = 0; i < 3; i++) await critical.schedule(`s${i}`, TS + 3600 + i);
  // 3 taken by a worker that died 100 s ago: their 30 s lease expired 70 s before the scrape (stuck).
  for (let i = 0; i < 3; i++) await critical.enqueue(`x${i}`, msToNs(T - 200_000 + i));
  for (let i = 0; i < 3; i++) await critical.dequeue(TS - 100);
  // 6 held for aggregation in two groups (RDB.AddToGroup).
  for (let i = 0; i < 4; i++) await critical.addToGroup(`g${i}`, 'daily digest', TS - 50);
  for (let i = 0; i < 2; i++) await critical.addToGroup(`h${i}`, 'user:42', TS - 40);
  // 5 pending, the oldest enqueued 90 s before the scrape.
  for (let i = 0; i < 5; i++) await critical.enqueue(`p${i}`, msToNs(T - 90_000 + i * 1000));
  const low = new AsynqWriter(r, 'low');
  await low.enqueue('l0', msToNs(T - 10_000));
  await low.pause(TS);
  await r.sadd('asynq:queues', 'empty');
}

async function writeSidekiq(r: Redis): Promise<void> {
  const sk = new SidekiqWriter(r);
  for (let i = 0; i < 5; i++) await sk.push8('default', T - 75_000 + i * 1000); // Sidekiq 8: ms
  await sk.push7('mailers', TS - 30.25); // Sidekiq 7: float seconds
  await sk.push7('mailers', TS - 5.5);
  await sk.push8('bulk', T - 1000);
  await sk.pause('bulk');
  await sk.registerOnly('empty');
  for (let i = 0; i < 3; i++) await sk.schedule('default', TS + 600);
  for (let i = 0; i < 4; i++) await sk.retry('default', TS + 60);
  for (let i = 0; i < 6; i++) await sk.kill('mailers', TS);
  await sk.flushStats(1234, 56, TS);
}

async function writeCelery(r: Redis): Promise<void> {
  const c = new CeleryWriter(r);
  await c.bind('celery');
  for (let i = 0; i < 4; i++) await c.put('celery', 0);
  for (let i = 0; i < 2; i++) await c.put('celery', 3);
  await c.put('celery', 7); // priority 7 rounds down to step 6
  for (let i = 0; i < 3; i++) await c.put('celery', 9);
  // "video" only has priority messages: found by the vid* pattern through its sub-list.
  await c.put('video', 6);
  await c.put('video', 6);
  await c.unacked('celery', TS);
}

async function writeRq(r: Redis): Promise<void> {
  const q = new RqWriter(r, 'default');
  await q.enqueue(T - 42_500);
  await q.enqueue(T - 20_000);
  await q.enqueue(T - 1000);
  await q.started(TS + 240);
  await q.started(TS + 200);
  await q.started(TS - 100); // abandoned: RQ's cleanup would move it to failed; not active
  for (let i = 0; i < 5; i++) await q.finished(TS + 500);
  await q.finished(TS - 10); // result expired: RQ's cleanup would drop it
  for (let i = 0; i < 6; i++) await q.failed(TS + 31_536_000);
  for (let i = 0; i < 4; i++) await q.scheduled(TS + 3600);
  for (let i = 0; i < 3; i++) await q.deferred(TS - 5);
  const low = new RqWriter(r, 'low');
  await low.scheduled(TS + 60);
}

beforeAll(async () => {
  redis = await startRedis();
  await writeAsynq(redis.client);
  await writeSidekiq(redis.client);
  await writeCelery(redis.client);
  await writeRq(redis.client);
  sidecar = await sidecarConnection(redis.url);
  const discovery = new Discovery({ discover, declared: [], scrape: scrapeCfg, executor: new SingleNodeExecutor(sidecar), log: silent });
  await discovery.refresh();
  scraped = await scrapeOnce(sidecar, () => discovery.collectors(), T, { extra: (b) => discovery.addSamples(b) });
  await discovery.close();
}, 60_000);

afterAll(async () => {
  sidecar?.disconnect();
  await redis?.stop();
});

function states(framework: string, queue: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of scraped.collection.find('queue_tasks', { framework, queue })) out[s.labels.state!] = s.value;
  return out;
}
const l = (framework: string, queue: string) => ({ framework, queue });

describe('asynq (internal/rdb/rdb.go v0.26.0 scripts)', () => {
  it('reads every state from its own key', () => {
    expect(states('asynq', 'critical')).toEqual({ waiting: 5, active: 2, stuck: 3, scheduled: 3, retry: 4, dead: 6, completed: 7, aggregating: 6 });
    expect(states('asynq', 'low')).toEqual({ waiting: 1, active: 0, stuck: 0, scheduled: 0, retry: 0, dead: 0, completed: 0, aggregating: 0 });
    expect(states('asynq', 'empty')).toEqual({ waiting: 0, active: 0, stuck: 0, scheduled: 0, retry: 0, dead: 0, completed: 0, aggregating: 0 });
  });
  it('reads the all-time counters, processed including failures', () => {
    expect(scraped.get('queue_processed_total', l('asynq', 'critical'))).toBe(4 + 6 + 7 + 8);
    expect(scraped.get('queue_failed_total', l('asynq', 'critical'))).toBe(4 + 6);
    expect(scraped.get('queue_processed_total', l('asynq', 'empty'))).toBe(0);
  });
  it('takes the oldest age from pending_since (ns) and pause from the paused key', () => {
    expect(scraped.get('queue_oldest_task_age_seconds', l('asynq', 'critical'))).toBe(90);
    expect(scraped.get('queue_oldest_task_age_seconds', l('asynq', 'low'))).toBe(10);
    expect(scraped.get('queue_oldest_task_age_seconds', l('asynq', 'empty'))).toBe(0);
    expect(scraped.get('queue_paused', l('asynq', 'low'))).toBe(1);
    expect(scraped.get('queue_paused', l('asynq', 'critical'))).toBe(0);
    expect(scraped.get('queue_info', { ...l('asynq', 'critical'), key: 'asynq:{critical}:pending' })).toBe(1);
  });
});

describe('Sidekiq (lib/sidekiq 8.1.7 client, job_retry, launcher)', () => {
  it('reports waiting per queue and nothing Sidekiq does not keep per queue', () => {
    // No Sidekiq process runs: nothing busy, nothing stuck.
    expect(states('sidekiq', 'default')).toEqual({ waiting: 5, active: 0, stuck: 0 });
    expect(states('sidekiq', 'mailers')).toEqual({ waiting: 2, active: 0, stuck: 0 });
    expect(states('sidekiq', 'bulk')).toEqual({ waiting: 1, active: 0, stuck: 0 });
    expect(states('sidekiq', 'empty')).toEqual({ waiting: 0, active: 0, stuck: 0 });
  });
  it('reports the global sets and counters with queue="*"', () => {
    expect(states('sidekiq', '*')).toEqual({ scheduled: 3, retry: 4, dead: 6 });
    expect(scraped.get('queue_processed_total', l('sidekiq', '*'))).toBe(1234);
    expect(scraped.get('queue_failed_total', l('sidekiq', '*'))).toBe(56);
    expect(scraped.get('queue_workers', l('sidekiq', '*'))).toBe(0);
    expect(scraped.collection.find('queue_info', { queue: '*' })).toEqual([]);
  });
  it('reads enqueued_at in ms (Sidekiq 8) and in float seconds (Sidekiq 7)', () => {
    expect(scraped.get('queue_oldest_task_age_seconds', l('sidekiq', 'default'))).toBe(75);
    expect(scraped.get('queue_oldest_task_age_seconds', l('sidekiq', 'mailers'))).toBeCloseTo(30.25, 3);
    expect(scraped.get('queue_oldest_task_age_seconds', l('sidekiq', 'empty'))).toBe(0);
  });
  it('reads pause from the paused set', () => {
    expect(scraped.get('queue_paused', l('sidekiq', 'bulk'))).toBe(1);
    expect(scraped.get('queue_paused', l('sidekiq', 'default'))).toBe(0);
  });
});

describe('Celery (kombu/transport/redis.py 5.6.2)', () => {
  it('counts the base list plus every priority sub-list as waiting', () => {
    expect(states('celery', 'celery')).toEqual({ waiting: 4 + 2 + 1 + 3 });
    expect(states('celery', 'video')).toEqual({ waiting: 2 });
    expect(states('celery', 'missing')).toEqual({ waiting: 0 });
  });
  it('exports no age, pause or counters Celery does not keep', () => {
    for (const family of ['queue_oldest_task_age_seconds', 'queue_paused', 'queue_processed_total']) {
      expect(scraped.collection.find(family, { framework: 'celery' })).toEqual([]);
    }
    expect(scraped.get('queuescope_discovered_queues', { framework: 'celery' })).toBe(3);
  });
});

describe('RQ (rq/queue.py, rq/registry.py 2.10.0)', () => {
  it('reads the queue and registries as RQ counts them after cleanup', () => {
    // The started entry past its expiry (a dead worker's job) is stuck; deferred has its own state.
    expect(states('rq', 'default')).toEqual({ waiting: 3, active: 2, stuck: 1, completed: 5, dead: 6, scheduled: 4, deferred: 3, canceled: 0 });
    expect(states('rq', 'low')).toEqual({ waiting: 0, active: 0, stuck: 0, completed: 0, dead: 0, scheduled: 1, deferred: 0, canceled: 0 });
  });
  it('takes the oldest age from the head job enqueued_at (ISO, UTC)', () => {
    expect(scraped.get('queue_oldest_task_age_seconds', l('rq', 'default'))).toBeCloseTo(42.5, 6);
    expect(scraped.get('queue_oldest_task_age_seconds', l('rq', 'low'))).toBe(0);
  });
});

describe('the whole collection', () => {
  it('reads every framework without a failure, in two round trips', () => {
    for (const c of ['asynq', 'sidekiq', 'celery', 'rq']) expect(scraped.get('queuescope_scrape_collector_success', { collector: c }), c).toBe(1);
    expect(scraped.get('queuescope_scrape_redis_roundtrips')).toBe(2);
  });
  it('finds every queue and no framework key as a stream or list', () => {
    expect(scraped.get('queuescope_discovered_queues', { framework: 'asynq' })).toBe(3);
    expect(scraped.get('queuescope_discovered_queues', { framework: 'sidekiq' })).toBe(4);
    expect(scraped.get('queuescope_discovered_queues', { framework: 'rq' })).toBe(2);
    expect(scraped.get('queuescope_discovered_queues', { framework: 'stream' })).toBe(0);
    for (const f of ['asynq', 'sidekiq', 'celery', 'rq', 'stream']) expect(scraped.get('queuescope_discovery_truncated', { framework: f }), f).toBe(0);
  });
});
