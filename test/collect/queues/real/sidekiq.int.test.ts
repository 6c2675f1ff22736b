/**
 * Sidekiq as its users run it: Debian's ruby-sidekiq (6.4.1). Sidekiq's own
 * client pushes and schedules, a real `sidekiq` server fails jobs into the
 * retry and dead sets (stats flushed by its heartbeat) and is stopped, and a
 * second server is SIGKILLed while its two threads are busy. Every
 * queuescope number is compared with Sidekiq's own API (`Sidekiq::Stats`,
 * `Queue#size` / `#latency`, `ProcessSet`, `WorkSet`).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoverConfig } from '../../../../src/config/schema.js';
import { waitFor } from '../../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js';
import { sidecarConnection, type Scraped } from '../harness.js';
import { killAllWorkers, RUBY, requireDebian, runJson, startWorker } from './processes.js';
import { scrapeFrameworks, statesOf } from './sidecar.js';

const ZOO = 'mail:outbound-ü x';
const FAIL = 'fail q';
const HANG = 'hang-ø';
const SIDEKIQ = '/usr/bin/sidekiq';

interface Stats {
  processed: number;
  failed: number;
  scheduled: number;
  retry: number;
  dead: number;
  processes: number;
  workers: number;
  /** `enqueued_at`: JobRecord#enqueued_at (unix s) of the oldest job (the last of Queue#to_a), null when empty */
  queues: Record<string, { size: number; latency: number; enqueued_at: number | null; paused: boolean }>;
  busy: Record<string, number>;
  stuck: Record<string, number>;
  process_list: { identity: string; beat: number; busy: number }[];
}

const discover: DiscoverConfig[] = [{ framework: 'sidekiq', namespace: '', backlogThreshold: 10, latencyThreshold: 60_000 }];
let redis: RedisServer;
let sidecar: Redis;
let live: { scraped: Scraped; sk: Stats; nowMs: number };
let dead: { scraped: Scraped; sk: Stats; nowMs: number };

const env = () => ({ REDIS_URL: redis.url });
const stats = (nowMs: number) => runJson<Stats>(RUBY, ['sidekiq_driver.rb', 'stats', String(nowMs / 1000), ZOO, FAIL, HANG], env());

beforeAll(async () => {
  requireDebian(RUBY, 'ruby-sidekiq', ['-e', 'require "sidekiq"']);
  requireDebian(SIDEKIQ, 'ruby-sidekiq');
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);

  runJson(RUBY, ['sidekiq_driver.rb', 'push', ZOO, 'NoopJob', '3'], env());
  runJson(RUBY, ['sidekiq_driver.rb', 'schedule', ZOO, '4'], env());
  runJson(RUBY, ['sidekiq_driver.rb', 'push', FAIL, 'RetryJob', '2'], env());
  runJson(RUBY, ['sidekiq_driver.rb', 'push', FAIL, 'DeadJob', '5'], env());
  // Server 1 fails them (2 into retry, 5 into dead); its heartbeat flushes stat:failed; SIGTERM stops it cleanly.
  const failer = startWorker(SIDEKIQ, ['-r', './sidekiq_jobs.rb', '-q', FAIL, '-c', '2'], env());
  await waitFor('Sidekiq to fail 7 jobs and flush its stats', async () => Number(await redis.client.get('stat:failed')) === 7, 30_000);
  await failer.stop();
  // Server 2: two threads busy on HANG, one more job waits.
  runJson(RUBY, ['sidekiq_driver.rb', 'push', HANG, 'HangJob', '3'], env());
  const hanger = startWorker(SIDEKIQ, ['-r', './sidekiq_jobs.rb', '-q', HANG, '-c', '2'], env());
  await waitFor('both Sidekiq threads busy (heartbeat)', async () => {
    const procs = await redis.client.smembers('processes');
    return procs.length === 1 && (await redis.client.hlen(`${procs[0]}:workers`)) === 2;
  }, 30_000);

  let nowMs = Date.now();
  live = { scraped: await scrapeFrameworks(sidecar, discover, nowMs), sk: stats(nowMs), nowMs };

  // SIGKILL: the process record and its busy jobs stay until their 60 s expiry; look 25 s past the last beat.
  await hanger.kill();
  const [identity] = await redis.client.smembers('processes');
  const beat = Number(await redis.client.hget(identity!, 'beat'));
  nowMs = Math.ceil((beat + 25) * 1000);
  dead = { scraped: await scrapeFrameworks(sidecar, discover, nowMs), sk: stats(nowMs), nowMs };
}, 120_000);

afterAll(async () => {
  await killAllWorkers();
  sidecar?.disconnect();
  await redis?.stop();
});

const G = { queue: '*', framework: 'sidekiq' };

describe('Sidekiq 6.4.1 (ruby-sidekiq) against queuescope', () => {
  it('waiting per queue equals Queue#size, the age Queue#latency', () => {
    for (const q of [ZOO, FAIL, HANG]) {
      expect(live.scraped.get('queue_tasks', { queue: q, framework: 'sidekiq', state: 'waiting' }), q).toBe(live.sk.queues[q]!.size);
      // Queue#latency is now − enqueued_at of the oldest job at ruby's (later) clock; compare that job's enqueued_at at queuescope's.
      const { size, latency, enqueued_at: at } = live.sk.queues[q]!;
      const age = size === 0 ? 0 : live.nowMs / 1000 - at!;
      const got = live.scraped.get('queue_oldest_task_age_seconds', { queue: q, framework: 'sidekiq' })!;
      expect(got, q).toBeCloseTo(age, 2);
      expect(latency - got, q).toBeGreaterThanOrEqual(0);
      expect(latency - got, q).toBeLessThan(10);
    }
    expect(live.sk.queues[ZOO]!.size).toBe(3);
    expect(live.sk.queues[HANG]!.size).toBe(1);
  });

  it('global sets and counters equal Sidekiq::Stats', () => {
    expect(live.sk).toMatchObject({ processed: 7, failed: 7, scheduled: 4, retry: 2, dead: 5 });
    expect(statesOf(live.scraped, 'sidekiq', '*')).toEqual({ scheduled: live.sk.scheduled, retry: live.sk.retry, dead: live.sk.dead });
    expect(live.scraped.get('queue_processed_total', G)).toBe(live.sk.processed);
    expect(live.scraped.get('queue_failed_total', G)).toBe(live.sk.failed);
  });

  it('busy jobs per queue (active) equal WorkSet, the process count ProcessSet#size', () => {
    expect(live.scraped.get('queuescope_scrape_collector_success', { collector: 'sidekiq' })).toBe(1);
    expect(live.sk.busy).toEqual({ [HANG]: 2 });
    expect(live.scraped.get('queue_tasks', { queue: HANG, framework: 'sidekiq', state: 'active' })).toBe(live.sk.busy[HANG]);
    expect(live.scraped.get('queue_tasks', { queue: HANG, framework: 'sidekiq', state: 'stuck' })).toBe(0);
    expect(live.scraped.get('queue_tasks', { queue: ZOO, framework: 'sidekiq', state: 'active' })).toBe(0);
    expect(live.scraped.get('queue_workers', G)).toBe(live.sk.processes);
    expect(live.sk.processes).toBe(1);
  });

  it('the busy jobs of the SIGKILLed process are stuck 25 s after its last beat, not active', () => {
    expect(dead.sk.stuck).toEqual({ [HANG]: 2 });
    expect(dead.scraped.get('queue_tasks', { queue: HANG, framework: 'sidekiq', state: 'stuck' })).toBe(dead.sk.stuck[HANG]);
    expect(dead.scraped.get('queue_tasks', { queue: HANG, framework: 'sidekiq', state: 'active' })).toBe(0);
  });
});
