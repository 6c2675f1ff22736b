/**
 * BullMQ as its users run it: the real `bullmq` package. Jobs with priorities
 * (a low-priority job starving behind newer high-priority ones), a flow parent
 * waiting for its child, the same queue name under two prefixes, and a real
 * Worker in its own process that is SIGKILLed while two jobs are active.
 * Every queuescope number is compared with BullMQ's own API
 * (`getJobCounts()`, `getJobs()`, `getWorkers()`, `getActive()`).
 */
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoverConfig } from '../../../../src/config/schema.js';
import { waitFor } from '../../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js';
import { sidecarConnection, type Scraped } from '../harness.js';
import { killAllWorkers, startWorker } from './processes.js';
import { scrapeFrameworks, statesOf } from './sidecar.js';

// BullMQ forbids ':' in queue names; spaces, '-' and non-ASCII letters are fine.
const MEDIA = 'media ü-x';
const ENCODE = 'encode ø';
const MAIL = 'mail';
const common = { backlogThreshold: 10, latencyThreshold: 60_000 };
const discover: DiscoverConfig[] = [
  { framework: 'bullmq', prefix: 'bull', ...common },
  { framework: 'bullmq', prefix: '{app}', ...common },
];

let redis: RedisServer;
let sidecar: Redis;
const queues: Queue[] = [];
let flow: FlowProducer;
let live: Scraped;
let liveNow: number;
let dead: Scraped;
let counts: Record<string, Record<string, number>>;
let workersSeen: number;
let activeIds: string[];

function queue(name: string, prefix = 'bull'): Queue {
  const q = new Queue(name, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix });
  queues.push(q);
  return q;
}

/** BullMQ's counts under queuescope's state names. */
async function bullCounts(q: Queue): Promise<Record<string, number>> {
  const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children');
  return { waiting: c.waiting! + c.prioritized!, active: c.active!, scheduled: c.delayed!, dead: c.failed!, completed: c.completed!, deferred: c['waiting-children']! };
}

beforeAll(async () => {
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);
  const media = queue(MEDIA);
  // The starving job: priority 100, added first; then newer priority-1 and priority-5 jobs and plain ones.
  await media.add('starving', {}, { priority: 100 });
  const first = Date.now();
  await waitFor('a later millisecond, so the job timestamps differ', () => Date.now() > first + 20);
  for (let i = 0; i < 3; i++) await media.add('urgent', { i }, { priority: 1 });
  for (let i = 0; i < 2; i++) await media.add('normal', { i }, { priority: 5 });
  for (let i = 0; i < 2; i++) await media.add('plain', { i });
  for (let i = 0; i < 4; i++) await media.add('later', { i }, { delay: 3_600_000 });
  // A flow: the parent waits for its child (child in ENCODE, which no worker serves yet).
  flow = new FlowProducer({ connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  await flow.add({ name: 'album', queueName: MEDIA, children: [{ name: 'cover', queueName: MAIL, data: {} }] });
  // The same queue name under a second prefix.
  const appMail = queue(MAIL, '{app}');
  await appMail.addBulk([{ name: 'send', data: {} }, { name: 'send', data: {} }, { name: 'send', data: {} }]);
  queue(MAIL);

  // A real worker (own process), concurrency 2, lock 1 s: 2 of 3 jobs active.
  const encode = queue(ENCODE);
  await encode.addBulk([0, 1, 2].map((i) => ({ name: 'enc', data: { i } })));
  const worker = startWorker(process.execPath, ['bullmq_worker.mjs', String(redis.port), 'bull', ENCODE, '1000', '2']);
  await waitFor('the BullMQ worker to take 2 jobs', () => (worker.output().match(/^active /gm) ?? []).length === 2, 20_000);

  liveNow = Date.now();
  live = await scrapeFrameworks(sidecar, discover, liveNow);
  counts = {};
  for (const q of queues) counts[`${q.opts.prefix}:${q.name}`] = await bullCounts(q);
  workersSeen = (await encode.getWorkers()).length;

  await worker.kill();
  activeIds = (await encode.getActive()).map((j) => j.id!);
  await waitFor('the killed worker’s locks to expire', async () => {
    const n = await Promise.all(activeIds.map((id) => redis.client.exists(`bull:${ENCODE}:${id}:lock`)));
    return n.every((x) => x === 0);
  }, 10_000);
  dead = await scrapeFrameworks(sidecar, discover, Date.now());
}, 90_000);

afterAll(async () => {
  await killAllWorkers();
  await flow?.close();
  await Promise.allSettled(queues.map((q) => q.close()));
  sidecar?.disconnect();
  await redis?.stop();
});

describe('BullMQ (bullmq package) against queuescope', () => {
  it('every state equals getJobCounts(), waiting-children as deferred', () => {
    expect(counts[`bull:${MEDIA}`]).toEqual({ waiting: 8, active: 0, scheduled: 4, dead: 0, completed: 0, deferred: 1 });
    expect(statesOf(live, 'bullmq', MEDIA)).toEqual({ ...counts[`bull:${MEDIA}`], stuck: 0 });
    expect(statesOf(live, 'bullmq', ENCODE)).toEqual({ ...counts[`bull:${ENCODE}`], stuck: 0 });
  });

  it('the oldest waiting job is the starving low-priority one, whatever its priority', async () => {
    const media = queues.find((q) => q.name === MEDIA)!;
    const waiting = await media.getJobs(['waiting', 'prioritized']);
    const oldest = Math.min(...waiting.map((j) => j.timestamp));
    expect(waiting.find((j) => j.timestamp === oldest)?.name).toBe('starving');
    expect(live.get('queue_oldest_task_age_seconds', { queue: MEDIA, framework: 'bullmq' })).toBeCloseTo((liveNow - oldest) / 1000, 3);
  });

  it('keeps the same queue name under two prefixes apart (the later entry’s is qualified)', () => {
    expect(live.get('queuescope_discovered_queues', { framework: 'bullmq' })).toBe(4);
    expect(statesOf(live, 'bullmq', `{app}:${MAIL}`)).toMatchObject({ waiting: counts[`{app}:${MAIL}`]!.waiting });
    expect(statesOf(live, 'bullmq', MAIL)).toMatchObject({ waiting: counts[`bull:${MAIL}`]!.waiting });
    expect(live.get('queue_info', { queue: MAIL, framework: 'bullmq', key: `bull:${MAIL}:wait` })).toBe(1);
    expect(counts[`{app}:${MAIL}`]!.waiting).toBe(3);
    expect(counts[`bull:${MAIL}`]!.waiting).toBe(1);
    expect(live.get('queue_info', { queue: `{app}:${MAIL}`, framework: 'bullmq', key: `{app}:${MAIL}:wait` })).toBe(1);
  });

  it('counts the live worker as getWorkers() does', () => {
    expect(workersSeen).toBe(1);
    expect(live.get('queue_workers', { queue: ENCODE, framework: 'bullmq' })).toBe(workersSeen);
    expect(live.get('queue_workers', { queue: MEDIA, framework: 'bullmq' })).toBe(0);
    expect(dead.get('queue_workers', { queue: ENCODE, framework: 'bullmq' })).toBe(0);
  });

  it('active jobs of the SIGKILLed worker are stuck once their locks expire, not active', () => {
    expect(activeIds).toHaveLength(2);
    expect(statesOf(dead, 'bullmq', ENCODE)).toMatchObject({ active: 0, stuck: 2, waiting: 1 });
  });
});
