/**
 * The BullMQ layout against the real `bullmq` package: jobs in every state
 * made by BullMQ itself (Queue.add, Worker.getNextJob, moveToCompleted,
 * moveToFailed, Queue.pause), found by discovery, scraped, and compared with
 * what BullMQ's own `Queue.getJobCounts()` / `getMetrics()` report.
 */
import { MetricsTime, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Discovery } from '../../../src/discovery/discovery.js';
import type { Config } from '../../../src/config/schema.js';
import { SingleNodeExecutor } from '../../../src/redis/batch.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { scrapeOnce, sidecarConnection, silent, type Scraped } from './harness.js';

const scrapeCfg: Config['scrape'] = { timeout: 5000, cacheFor: 0, discoveryInterval: 60_000, scanCount: 100, maxQueues: 100 };

let redis: RedisServer;
let sidecar: Redis;
const queues: Queue[] = [];
const workers: Worker[] = [];

/** Parses `INFO commandstats` into command -> calls. */
async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

let scraped: Scraped;
let nowMs: number;
let statsBefore: Map<string, number>;
let statsAfter: Map<string, number>;

beforeAll(async () => {
  redis = await startRedis();
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };

  // "media": 6 completed, 7 failed, 2 active, then 5 waiting, 3 prioritized, 4 delayed (all distinct).
  const media = new Queue('media', { connection });
  queues.push(media);
  const worker = new Worker('media', null, { connection, autorun: false, metrics: { maxDataPoints: MetricsTime.ONE_WEEK } });
  workers.push(worker);
  await media.addBulk(Array.from({ length: 15 }, (_, i) => ({ name: 'encode', data: { i } })));
  for (let i = 0; i < 15; i++) {
    const token = `token-${i}`;
    const job = (await worker.getNextJob(token)) as Job | undefined;
    if (!job) throw new Error(`no job ${i}`);
    if (i < 6) await job.moveToCompleted('ok', token, false);
    else if (i < 13) await job.moveToFailed(new Error('boom'), token, false);
  }
  await media.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'encode', data: { late: i } })));
  for (let p = 1; p <= 3; p++) await media.add('urgent', { p }, { priority: p });
  for (let d = 0; d < 4; d++) await media.add('later', { d }, { delay: 3_600_000 });

  // "reports": paused with 3 jobs (BullMQ >= 5 keeps them in wait and sets meta.paused).
  const reports = new Queue('reports', { connection });
  queues.push(reports);
  await reports.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'pdf', data: { i } })));
  await reports.pause();

  // "mail" under a hash-tagged custom prefix: 2 waiting.
  const mail = new Queue('mail', { connection, prefix: '{app}' });
  queues.push(mail);
  await mail.addBulk([{ name: 'send', data: {} }, { name: 'send', data: {} }]);

  sidecar = await sidecarConnection(redis.url);
  statsBefore = await commandCalls(redis.client);
  const discovery = new Discovery({
    discover: [
      { framework: 'bullmq', prefix: 'bull', backlogThreshold: 100, latencyThreshold: 60_000 },
      { framework: 'bullmq', prefix: '{app}', backlogThreshold: 100, latencyThreshold: 60_000 },
    ],
    declared: [],
    scrape: scrapeCfg,
    executor: new SingleNodeExecutor(sidecar),
    log: silent,
  });
  await discovery.refresh();
  nowMs = Date.now() + 1234;
  scraped = await scrapeOnce(sidecar, () => discovery.collectors(), nowMs, { extra: (b) => discovery.addSamples(b) });
  statsAfter = await commandCalls(redis.client);
  await discovery.close();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.close(true)));
  await Promise.allSettled(queues.map((q) => q.close()));
  sidecar?.disconnect();
  await redis?.stop();
});

const labels = (queue: string, state?: string) => ({ queue, framework: 'bullmq', ...(state ? { state } : {}) });

describe('BullMQ layout against the bullmq package', () => {
  it('finds every queue under both prefixes, and nothing else', () => {
    expect(scraped.get('queuescope_discovered_queues', { framework: 'bullmq' })).toBe(3);
    expect(scraped.get('queue_info', { queue: 'media', framework: 'bullmq', key: 'bull:media:wait' })).toBe(1);
    expect(scraped.get('queue_info', { queue: 'mail', framework: 'bullmq', key: '{app}:mail:wait' })).toBe(1);
  });

  it.each(['media', 'reports'])('reports the counts getJobCounts() reports for %s', async (name) => {
    const q = queues.find((x) => x.name === name)!;
    // bullmq 6 no longer counts the legacy `paused` list; nothing writes it any more.
    const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    expect(scraped.get('queue_tasks', labels(name, 'waiting'))).toBe((c.waiting ?? 0) + (c.prioritized ?? 0));
    expect(scraped.get('queue_tasks', labels(name, 'active'))).toBe(c.active);
    expect(scraped.get('queue_tasks', labels(name, 'scheduled'))).toBe(c.delayed);
    expect(scraped.get('queue_tasks', labels(name, 'dead'))).toBe(c.failed);
    expect(scraped.get('queue_tasks', labels(name, 'completed'))).toBe(c.completed);
  });

  it('puts each state where BullMQ has it (distinct numbers, so a mix-up shows)', () => {
    expect(scraped.get('queue_tasks', labels('media', 'waiting'))).toBe(8);
    expect(scraped.get('queue_tasks', labels('media', 'active'))).toBe(2);
    expect(scraped.get('queue_tasks', labels('media', 'scheduled'))).toBe(4);
    expect(scraped.get('queue_tasks', labels('media', 'dead'))).toBe(7);
    expect(scraped.get('queue_tasks', labels('media', 'completed'))).toBe(6);
    expect(scraped.get('queue_tasks', labels('mail', 'waiting'))).toBe(2);
    expect(scraped.get('queue_tasks', labels('reports', 'waiting'))).toBe(3);
    // No invented states: retry is not a BullMQ state.
    expect(scraped.get('queue_tasks', labels('media', 'retry'))).toBeUndefined();
  });

  it('reports pause from meta.paused', () => {
    expect(scraped.get('queue_paused', labels('reports'))).toBe(1);
    expect(scraped.get('queue_paused', labels('media'))).toBe(0);
  });

  it('takes processed / failed from the metrics hashes, processed including failures', async () => {
    const media = queues.find((x) => x.name === 'media')!;
    const completed = (await media.getMetrics('completed')).meta.count;
    const failed = (await media.getMetrics('failed')).meta.count;
    expect([completed, failed]).toEqual([6, 7]);
    expect(scraped.get('queue_processed_total', labels('media'))).toBe(completed + failed);
    expect(scraped.get('queue_failed_total', labels('media'))).toBe(failed);
    // No metrics enabled for reports: no counters rather than fake zeros.
    expect(scraped.get('queue_processed_total', labels('reports'))).toBeUndefined();
  });

  it('measures the oldest waiting job from its own timestamp', async () => {
    const media = queues.find((x) => x.name === 'media')!;
    const waiting = await media.getJobs(['waiting', 'prioritized']);
    const oldest = Math.min(...waiting.map((j) => j.timestamp));
    expect(scraped.get('queue_oldest_task_age_seconds', labels('media'))).toBeCloseTo((nowMs - oldest) / 1000, 6);
  });

  it('reads everything in one collector that succeeded, with two round trips', () => {
    expect(scraped.get('queuescope_scrape_collector_success', { collector: 'bullmq' })).toBe(1);
    expect(scraped.get('queuescope_scrape_redis_roundtrips')).toBe(2);
  });

  it('sends only read commands and never KEYS (INFO commandstats around discovery + scrape)', () => {
    const changed = [...statsAfter].filter(([cmd, n]) => n !== (statsBefore.get(cmd) ?? 0)).map(([cmd]) => cmd);
    const reads = new Set(['info', 'scan', 'type', 'llen', 'lrange', 'zcard', 'zrange', 'hexists', 'hget', 'smembers', 'ping', 'client|setname', 'client|setinfo', 'client|list', 'zrangebyscore', 'exists']);
    expect(changed).toEqual(expect.arrayContaining(['scan', 'type', 'llen', 'lrange', 'zcard', 'hget']));
    expect(changed.filter((c) => !reads.has(c))).toEqual([]);
    expect(statsAfter.has('keys')).toBe(false);
  });
});
