/**
 * RQ as its users run it: Debian's python3-rq (1.13) enqueues, schedules,
 * defers and cancels with RQ's own `Queue`, a burst `Worker` finishes and fails
 * jobs (one with a `Retry` left), and a real `rqworker` process is SIGKILLed
 * mid-job. Every queuescope number is compared with RQ's own API (registries'
 * `count`, `Queue.count`, `Worker.count`), read after queuescope because RQ's
 * `count` runs cleanup, which writes.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoverConfig } from '../../../../src/config/schema.js';
import { waitFor } from '../../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js';
import { sidecarConnection, type Scraped } from '../harness.js';
import { killAllWorkers, processesMatching, PYTHON, requireDebian, runJson, startWorker, type WorkerProcess } from './processes.js';
import { scrapeFrameworks, statesOf } from './sidecar.js';

const ZOO = 'mail:outbound-ü x'; // every state; ':' '-' space and a non-ASCII letter
const HANG = 'bg work-ø'; // a worker is killed mid-job here

interface RqCounts {
  workers: number;
  queues: Record<string, { expired_started: number; waiting: number; started: number; finished: number; failed: number; deferred: number; scheduled: number; canceled: number; workers: number; oldest_enqueued_at: number | null }>;
}

const discover: DiscoverConfig[] = [{ framework: 'rq', backlogThreshold: 10, latencyThreshold: 60_000 }];
let redis: RedisServer;
let sidecar: Redis;
let worker: WorkerProcess;
let live: { scraped: Scraped; rq: RqCounts; nowMs: number };
let dead: { scraped: Scraped; rq: RqCounts; nowMs: number };
let horsesLeft: number[];

beforeAll(async () => {
  requireDebian(PYTHON, 'python3-rq', ['-c', 'import rq']);
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);
  runJson(PYTHON, ['rq_driver.py', 'setup', redis.url, ZOO]);
  runJson(PYTHON, ['rq_driver.py', 'hang', redis.url, HANG, '1']);
  worker = startWorker(PYTHON, ['/usr/bin/rqworker', '-u', redis.url, HANG]);
  await waitFor('the RQ worker to start the job', async () => (await redis.client.zcard(`rq:wip:${HANG}`)) === 1, 20_000);

  let nowMs = Date.now();
  let scraped = await scrapeFrameworks(sidecar, discover, nowMs);
  live = { scraped, rq: runJson<RqCounts>(PYTHON, ['rq_driver.py', 'counts', redis.url, String(nowMs / 1000), ZOO, HANG]), nowMs };

  // SIGKILL mid-job (work horse included); look at the moment its started entry has expired.
  await worker.kill();
  horsesLeft = await waitFor('the work horse to be gone too', () => (processesMatching(redis.url).length === 0 ? [] : undefined), 5000).catch(() => processesMatching(redis.url));
  const [, score] = await redis.client.zrange(`rq:wip:${HANG}`, 0, 0, 'WITHSCORES');
  nowMs = (Number(score) + 1) * 1000;
  scraped = await scrapeFrameworks(sidecar, discover, nowMs);
  dead = { scraped, rq: runJson<RqCounts>(PYTHON, ['rq_driver.py', 'counts', redis.url, String(nowMs / 1000), ZOO, HANG]), nowMs };
}, 90_000);

afterAll(async () => {
  await killAllWorkers();
  sidecar?.disconnect();
  await redis?.stop();
});

/** queuescope's states as RQ would name them, from RQ's own counts at that moment. */
function expected(c: RqCounts['queues'][string]): Record<string, number> {
  return {
    waiting: c.waiting,
    active: c.started - c.expired_started,
    stuck: c.expired_started,
    scheduled: c.scheduled,
    deferred: c.deferred,
    completed: c.finished,
    dead: c.failed,
    canceled: c.canceled,
  };
}

describe('RQ 1.13 (python3-rq) against queuescope', () => {
  it('finds both queues', () => {
    expect(live.scraped.get('queuescope_discovered_queues', { framework: 'rq' })).toBe(2);
  });

  it('every state of the zoo queue equals RQ’s own registries (distinct numbers)', () => {
    const want = expected(live.rq.queues[ZOO]!);
    expect(want).toEqual({ waiting: 5, active: 0, stuck: 0, scheduled: 5, deferred: 2, completed: 3, dead: 2, canceled: 1 });
    expect(statesOf(live.scraped, 'rq', ZOO)).toEqual(want);
  });

  it('a running job is active and its worker counted', () => {
    expect(statesOf(live.scraped, 'rq', HANG)).toEqual(expected(live.rq.queues[HANG]!));
    expect(live.rq.queues[HANG]!.started).toBe(1);
    expect(live.scraped.get('queue_workers', { queue: HANG, framework: 'rq' })).toBe(live.rq.queues[HANG]!.workers);
    expect(live.rq.queues[HANG]!.workers).toBe(1);
    expect(live.scraped.get('queue_workers', { queue: ZOO, framework: 'rq' })).toBe(0);
  });

  it('the job of the SIGKILLed worker is stuck once its started entry expired, not active', () => {
    // The kill reached the worker and its work horse (which RQ moves into its own session).
    expect(horsesLeft).toEqual([]);
    const want = expected(dead.rq.queues[HANG]!);
    expect(want.stuck).toBe(1);
    expect(want.active).toBe(0);
    expect(statesOf(dead.scraped, 'rq', HANG)).toEqual(want);
    // Worker.count still counts the killed worker (RQ cleans its registry lazily): so does queuescope.
    expect(dead.scraped.get('queue_workers', { queue: HANG, framework: 'rq' })).toBe(dead.rq.queues[HANG]!.workers);
  });

  it('the oldest waiting age comes from the head job’s enqueued_at', () => {
    const at = live.rq.queues[ZOO]!.oldest_enqueued_at!;
    expect(live.scraped.get('queue_oldest_task_age_seconds', { queue: ZOO, framework: 'rq' })).toBeCloseTo(live.nowMs / 1000 - at, 2);
  });
});
