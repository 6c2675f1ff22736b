/**
 * Discovery against a real redis-server: registries and SCANs, queues that
 * appear and disappear between passes, the maxQueues cap, a large unrelated
 * keyspace (bounded SCANs, never KEYS), keys of unexpected types, Redis going
 * away, declared queues winning, and the first scrape not waiting past its
 * deadline for a slow discovery.
 */
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Collection } from '../../src/collect/collection.js';
import { ScrapeEngine } from '../../src/collect/engine.js';
import type { Config, DiscoverConfig } from '../../src/config/schema.js';
import { Discovery, type DiscoveryOptions } from '../../src/discovery/discovery.js';
import { SingleNodeExecutor, type BatchExecutor } from '../../src/redis/batch.js';
import { AsynqWriter, msToNs } from '../fixtures/frameworks/asynq.js';
import { SidekiqWriter } from '../fixtures/frameworks/sidekiq.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { scrapeOnce, sidecarConnection, silent } from '../collect/queues/harness.js';

const common = { backlogThreshold: 10, latencyThreshold: 60_000 };
const scrapeCfg = (over: Partial<Config['scrape']> = {}): Config['scrape'] => ({
  timeout: 2000, cacheFor: 0, discoveryInterval: 3_600_000, scanCount: 200, maxQueues: 1000, ...over,
});
const ALL: DiscoverConfig[] = [
  { framework: 'asynq', ...common },
  { framework: 'bullmq', prefix: 'bull', ...common },
  { framework: 'sidekiq', namespace: '', ...common },
  { framework: 'celery', queues: ['celery'], prioritySteps: [0, 3, 6, 9], ...common },
  { framework: 'rq', ...common },
  { framework: 'stream', match: '*', consumers: true, ...common },
  { framework: 'list', match: 'jobs:*', oldestAt: 'head', ...common },
];

let redis: RedisServer;
let sidecar: Redis;
const open: Discovery[] = [];

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

function discovery(over: Partial<DiscoveryOptions> = {}): Discovery {
  const d = new Discovery({ discover: ALL, declared: [], scrape: scrapeCfg(), executor: new SingleNodeExecutor(sidecar), log: silent, ...over });
  open.push(d);
  return d;
}

/** queue names per layout, sorted, for compact assertions */
function names(d: Discovery): Record<'asynq' | 'bullmq' | 'sidekiq' | 'celery' | 'rq' | 'stream' | 'list', string[]> {
  const q = d.queues;
  const pick = (framework: string) => (q.get(framework)?.queues ?? []).map((x) => x.name).sort();
  return { asynq: pick('asynq'), bullmq: pick('bullmq'), sidekiq: pick('sidekiq'), celery: pick('celery'), rq: pick('rq'), stream: pick('stream'), list: pick('list') };
}

async function commandCalls(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await redis.client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** One queue of every framework, written the frameworks' way. */
async function seedOneOfEach(r: Redis): Promise<void> {
  await new AsynqWriter(r, 'critical').enqueue('a1', msToNs(Date.now()));
  await r.hset('bull:media:meta', 'opts.maxLenEvents', '10000');
  await r.set('bull:media:id', '3');
  await r.lpush('bull:media:wait', '3');
  await r.xadd('bull:media:events', '*', 'event', 'waiting', 'jobId', '3'); // BullMQ's, not a stream queue
  await new SidekiqWriter(r).push8('default', Date.now());
  await r.lpush('celery', '{"body":""}');
  await r.sadd('rq:queues', 'rq:queue:default');
  await r.rpush('rq:queue:default', 'j1');
  await r.xadd('task_stream', '*', 'task', '1');
  await r.rpush('jobs:import', '{"created_at":1}');
}

beforeAll(async () => {
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);
});

afterAll(async () => {
  await Promise.allSettled(open.map((d) => d.close()));
  sidecar?.disconnect();
  await redis?.stop();
});

beforeEach(async () => {
  await redis.client.flushall();
});

describe('discovery passes', () => {
  it('finds one queue of every layout, and no framework key as a stream or list', async () => {
    await seedOneOfEach(redis.client);
    const d = discovery();
    await d.refresh();
    expect(names(d)).toEqual({
      asynq: ['critical'], bullmq: ['media'], sidekiq: ['default'], celery: ['celery'], rq: ['default'], stream: ['task_stream'], list: ['jobs:import'],
    });
  });

  it('adds queues that appear and drops queues that disappear at the next pass', async () => {
    await seedOneOfEach(redis.client);
    const d = discovery();
    await d.refresh();
    await redis.client.sadd('asynq:queues', 'low');
    await redis.client.hset('bull:reports:meta', 'opts.maxLenEvents', '10000');
    await redis.client.xadd('audit_stream', '*', 'a', '1');
    await redis.client.srem('rq:queues', 'rq:queue:default');
    await redis.client.del('task_stream', 'bull:media:meta', 'bull:media:id');
    expect(names(d).asynq).toEqual(['critical']); // nothing changes between passes
    await d.refresh();
    expect(names(d)).toMatchObject({ asynq: ['critical', 'low'], bullmq: ['reports'], rq: [], stream: ['audit_stream'] });

    const b = await scrapeOnce(sidecar, () => d.collectors(), Date.now(), { extra: (x) => d.addSamples(x) });
    expect(b.get('queuescope_discovered_queues', { framework: 'asynq' })).toBe(2);
    expect(b.get('queuescope_discovered_queues', { framework: 'rq' })).toBe(0);
    expect(b.get('queue_info', { queue: 'low', framework: 'asynq', key: 'asynq:{low}:pending' })).toBe(1);
    expect(b.collection.find('queue_info', { framework: 'rq' })).toEqual([]);
  });

  it('stops at maxQueues, says so in a gauge and a log line', async () => {
    for (let i = 0; i < 8; i++) await redis.client.sadd('asynq:queues', `q${i}`);
    for (let i = 0; i < 4; i++) await redis.client.xadd(`s${i}_stream`, '*', 'a', '1');
    const { log, lines } = capturingLogger();
    const d = discovery({ log, scrape: scrapeCfg({ maxQueues: 5 }) });
    await d.refresh();
    const found = names(d);
    expect(found.asynq).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    expect(found.stream).toEqual([]);
    const s = await scrapeOnce(sidecar, () => d.collectors(), Date.now(), { extra: (x) => d.addSamples(x) });
    expect(s.get('queuescope_discovery_truncated')).toBe(1);
    expect(s.get('queuescope_discovered_queues', { framework: 'asynq' })).toBe(5);
    expect(lines.filter((l) => l.level === 40 && /maxQueues/.test(String(l.msg)))).toHaveLength(1);
    expect(lines.find((l) => l.level === 40)?.maxQueues).toBe(5);
    // A second truncated pass does not repeat the warning.
    await d.refresh();
    expect(lines.filter((l) => l.level === 40 && /maxQueues/.test(String(l.msg)))).toHaveLength(1);
  });

  it('stays bounded on 100,000 unrelated keys and never uses KEYS', async () => {
    const p = redis.client.pipeline();
    for (let i = 0; i < 100_000; i++) {
      if (i % 10 === 0) p.rpush(`user:${i}:inbox`, 'x');
      else if (i % 10 === 1) p.hset(`session:${i}`, 'u', String(i));
      else p.set(`cache:item:${i}`, 'v');
    }
    await p.exec();
    await seedOneOfEach(redis.client);
    await redis.client.config('RESETSTAT');
    const d = discovery({ discover: undefined, scrape: scrapeCfg({ scanCount: 1000 }) }); // the built-in default list
    await d.refresh();
    expect(names(d)).toMatchObject({ asynq: ['critical'], bullmq: ['media'], sidekiq: ['default'], celery: ['celery'], rq: ['default'], stream: ['task_stream'] });
    const stats = await commandCalls();
    expect(stats.has('keys')).toBe(false);
    // Default discovery SCANs two patterns (BullMQ markers, streams); each walks the keyspace once.
    const scans = stats.get('scan') ?? 0;
    const perWalk = Math.ceil(100_020 / 1000);
    expect(scans).toBeGreaterThanOrEqual(2 * perWalk * 0.7);
    expect(scans).toBeLessThanOrEqual(2 * perWalk * 1.3);
    // Registries in one batch: one SMEMBERS each, not per key.
    expect(stats.get('smembers')).toBe(3);
  }, 30_000);

  it('never runs per scrape', async () => {
    await seedOneOfEach(redis.client);
    const d = discovery();
    d.start();
    const engine = new ScrapeEngine({
      executor: new SingleNodeExecutor(sidecar), collectors: () => d.collectors(), prepare: (dl) => d.ready(dl), cacheForMs: 0, log: silent,
    });
    await engine.collect(Date.now() + 2000);
    const before = (await commandCalls()).get('scan') ?? 0;
    for (let i = 0; i < 3; i++) await engine.collect(Date.now() + 2000);
    expect((await commandCalls()).get('scan') ?? 0).toBe(before);
  });

  it('runs again on its interval', async () => {
    const d = discovery({ discover: [{ framework: 'asynq', ...common }], scrape: scrapeCfg({ discoveryInterval: 100 }) });
    d.start();
    await d.refresh();
    expect(names(d).asynq).toEqual([]);
    await redis.client.sadd('asynq:queues', 'late');
    await waitFor('the next interval pass to find asynq queue "late"', () => names(d).asynq.includes('late'), 5000, 20);
  });
});

describe('keys of unexpected types', () => {
  it('skips marker keys of the wrong type and reads the registries it can', async () => {
    await seedOneOfEach(redis.client);
    await redis.client.set('bull:bogus:meta', 'not a hash'); // a string where BullMQ keeps a hash
    await redis.client.hset('weird_stream', 'a', '1'); // a hash under the stream pattern
    await redis.client.del('asynq:queues');
    await redis.client.set('asynq:queues', 'critical'); // the registry as a string
    const { log, lines } = capturingLogger();
    const d = discovery({ log });
    await d.refresh();
    expect(names(d)).toMatchObject({ asynq: [], bullmq: ['media'], sidekiq: ['default'], stream: ['task_stream'] });
    const problem = lines.find((l) => typeof l.problem === 'string');
    expect(problem?.problem).toMatch(/SMEMBERS asynq:queues .*wrong type/);
  });

  it('reports a framework key of the wrong type as a failed read without hiding the rest', async () => {
    const sk = new SidekiqWriter(redis.client);
    await sk.push8('default', Date.now() - 5000);
    await sk.push8('default', Date.now());
    await sk.registerOnly('broken');
    await redis.client.hset('queue:broken', 'x', '1'); // Sidekiq's queue key holding a hash
    const d = discovery({ discover: [{ framework: 'sidekiq', namespace: '', ...common }] });
    await d.refresh();
    const s = await scrapeOnce(sidecar, () => d.collectors(), Date.now());
    expect(s.get('queue_tasks', { queue: 'default', framework: 'sidekiq', state: 'waiting' })).toBe(2);
    expect(s.get('queue_paused', { queue: 'broken', framework: 'sidekiq' })).toBe(0);
    expect(s.get('queue_tasks', { queue: 'broken', framework: 'sidekiq', state: 'waiting' })).toBeUndefined();
    expect(s.get('queuescope_scrape_collector_success', { collector: 'sidekiq' })).toBe(0);
    expect(s.collection.collectors.get('sidekiq')?.failures.join('\n')).toMatch(/LLEN queue:broken: key holds the wrong type/);
  });
});

describe('declared queues', () => {
  it('win over discovered ones with the same key (or, for streams and lists, name)', async () => {
    await seedOneOfEach(redis.client);
    const d = discovery({ declared: [{ name: 'sidekiq-default', key: 'queue:default' }, { name: 'task_stream', key: 'task_stream' }, { name: 'jobs:import', key: 'other' }] });
    await d.refresh();
    expect(names(d)).toMatchObject({ sidekiq: [], stream: [], list: [] });
  });
});

describe('Redis going away', () => {
  it('keeps the last result, logs once, and recovers on a later pass', async () => {
    await seedOneOfEach(redis.client);
    const { log, lines } = capturingLogger();
    const d = discovery({ log });
    await d.refresh();
    const before = names(d);
    await redis.kill();
    try {
      await d.refresh();
      await d.refresh();
      expect(names(d)).toEqual(before);
      expect(lines.filter((l) => l.msg === 'discovery pass failed; keeping the last result until the next pass')).toHaveLength(1);
      // The scrape still plans the cached queues and reports Redis down instead of throwing.
      const s = await scrapeOnce(sidecar, () => d.collectors(), Date.now(), { extra: (x) => d.addSamples(x) });
      expect(s.get('redis_up')).toBe(0);
      expect(s.get('queue_info', { queue: 'critical', framework: 'asynq', key: 'asynq:{critical}:pending' })).toBe(1);
    } finally {
      await redis.restart();
    }
    await waitFor('the sidecar connection to come back', () => sidecar.status === 'ready', 10_000);
    await redis.client.sadd('asynq:queues', 'after-restart');
    await d.refresh();
    expect(names(d).asynq).toEqual(['after-restart']);
    expect(lines.some((l) => l.msg === 'discovery pass succeeded again')).toBe(true);
  });
});

describe('the first scrape', () => {
  it('does not wait past its deadline for a slow discovery, and the next scrape has the queues', async () => {
    await seedOneOfEach(redis.client);
    const real = new SingleNodeExecutor(sidecar);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // SCANs wait for the test to open the gate: a discovery slower than any deadline.
    const slow: BatchExecutor = {
      exec: (c, dl) => real.exec(c, dl),
      scanKeys: async (o, f) => {
        await gate;
        return real.scanKeys(o, f);
      },
      close: async () => {},
    };
    const d = discovery({ executor: slow });
    d.start();
    const engine = new ScrapeEngine({ executor: real, collectors: () => d.collectors(), prepare: (dl) => d.ready(dl), cacheForMs: 0, log: silent, extra: (b) => d.addSamples(b) });
    const deadline = Date.now() + 600;
    let first: Collection | undefined;
    try {
      first = await engine.collect(deadline);
      expect(Date.now()).toBeLessThanOrEqual(deadline);
    } finally {
      release();
    }
    expect(first?.find('queue_info')).toEqual([]);
    expect(first?.find('queuescope_discovery_duration_seconds')).toEqual([]); // no pass finished yet
    await d.refresh(); // joins the first pass
    const second = await engine.collect(Date.now() + 2000);
    expect(second.value('queue_info', { queue: 'media', framework: 'bullmq' })).toBe(1);
  });
});
