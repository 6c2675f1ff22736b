/**
 * The task inspector against a real redis-server, through the whole app
 * (`buildApp`, the runtime's own executor and discovery): a real BullMQ
 * failed job (a Worker whose processor throws) with its failedReason, a
 * BullMQ active job whose lock expired, asynq tasks written by asynq's own
 * Lua (one with an expired lease: stuck), Sidekiq / RQ / Celery fixtures,
 * stream PEL entries and a dead-letter stream, a list with its details hash,
 * a zset delay queue. MONITOR records every command the sidecar sends while
 * the views run: only read-only ones, each bounded.
 */
import { deflateSync } from 'node:zlib';
import { Queue, Worker, type Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import type { QueueTasks, TaskLookup } from '../../src/inspect/view.js';
import { AsynqWriter, msToNs } from '../fixtures/frameworks/asynq.js';
import { CeleryWriter } from '../fixtures/frameworks/celery.js';
import { RqWriter } from '../fixtures/frameworks/rq.js';
import { SidekiqWriter } from '../fixtures/frameworks/sidekiq.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let app: FastifyInstance;
const closers: (() => Promise<unknown>)[] = [];
const T = Date.now();
const TS = Math.floor(T / 1000);
let rqFailedId = '';

const get = async <B>(url: string): Promise<{ status: number; body: B }> => {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() as B };
};

async function writeBull(connection: { host: string; port: number }): Promise<void> {
  const mail = new Queue('mail', { connection });
  closers.push(() => mail.close());
  await mail.add('welcome', { to: 'a@example.com' }, { attempts: 1 });
  const worker = new Worker(
    'mail',
    async () => {
      throw new Error('SMTP 550: mailbox unavailable');
    },
    { connection, autorun: true },
  );
  const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
  await failed;
  await worker.close();
  await mail.add('digest', { week: 48 });
  // An active job whose worker is gone: a manual worker takes it with a short lock and never renews it.
  const reports = new Queue('reports', { connection });
  closers.push(() => reports.close());
  await reports.add('pdf', { id: 1 });
  const manual = new Worker('reports', null, { connection, autorun: false, lockDuration: 300 });
  closers.push(() => manual.close());
  const job = (await manual.getNextJob('tok')) as Job | undefined;
  if (!job) throw new Error('no BullMQ job to take');
  await waitFor('the BullMQ lock to expire', async () => (await redis.client.exists(`bull:reports:${job.id}:lock`)) === 0, 10_000);
}

async function writeAsynq(r: Redis): Promise<void> {
  const w = new AsynqWriter(r, 'critical');
  for (let i = 0; i < 4; i++) await w.enqueue(`t${i}`, msToNs(T - 60_000 + i * 1000));
  await w.dequeue(TS - 100); // lease expired 70 s ago: stuck
  await w.dequeue(TS); // lease valid: active
  await w.schedule('s1', TS + 3600);
  const d = new AsynqWriter(r, 'default');
  await d.enqueue('d1', msToNs(T - 5000));
}

async function writeOthers(r: Redis): Promise<void> {
  const sk = new SidekiqWriter(r);
  await sk.push8('default', T - 30_000);
  await sk.push8('default', T - 20_000);
  await sk.kill('default', TS);
  await sk.kill('mailers', TS);
  await sk.retry('default', TS + 60);
  // A busy job, as `Launcher#heartbeat` (Sidekiq 7/8) records it: SADD processes, HSET <identity>:work tid {queue, payload, run_at}.
  const identity = 'worker-1.example:4242:0a1b2c3d4e5f';
  await r.sadd('processes', identity);
  await r.hset(identity, 'beat', String(TS), 'busy', '1', 'info', JSON.stringify({ hostname: 'worker-1.example', pid: 4242, concurrency: 5, queues: ['default'] }));
  await r.hset(`${identity}:work`, 'tid-1', JSON.stringify({ queue: 'default', payload: JSON.stringify({ jid: 'busy1', class: 'SlowJob', args: [7], queue: 'default', enqueued_at: T - 8000 }), run_at: TS - 2 }));
  await r.hset(`${identity}:work`, 'tid-2', JSON.stringify({ queue: 'mailers', payload: JSON.stringify({ jid: 'busy2', class: 'MailJob', args: [], queue: 'mailers', enqueued_at: T - 1000 }), run_at: TS }));

  const rq = new RqWriter(r, 'high');
  await rq.enqueue(T - 15_000);
  await rq.failed(TS + 3600);
  const [failedId] = (await r.zrange('rq:failed:high', 0, 0)) as string[];
  rqFailedId = failedId!;
  // `Result.save` of the failure: XADD rq:results:<id> type 2 exc_string b64(zlib(traceback)).
  const tb = 'Traceback (most recent call last):\n  File "tasks.py", line 3, in count_words\nValueError: page is empty\n';
  await r.xadd(`rq:results:${rqFailedId}`, 'MAXLEN', '10', '*', 'type', '2', 'exc_string', deflateSync(Buffer.from(tb)).toString('base64'));
  await r.hset(`rq:job:${rqFailedId}`, 'ended_at', '2026-12-02T06:00:00.000000Z');

  const c = new CeleryWriter(r);
  await c.put('celery', 0);
  await c.put('celery', 9);

  for (let i = 0; i < 5; i++) await r.xadd('jobs', '*', 'task_id', `job-${i}`, 'type', 'crawl', 'url', `https://shop.example/${i}`);
  await r.xgroup('CREATE', 'jobs', 'workers', '0');
  await r.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 3, 'STREAMS', 'jobs', '>');
  await r.xadd('jobs:dlq', '*', 'task_id', 'job-x', 'type', 'crawl', 'error', 'upstream 503', 'attempt', '3', 'dead_at', String(TS));

  for (let i = 0; i < 3; i++) {
    await r.hset('task:details', `task_${i}`, JSON.stringify({ created_at: TS - 40 + i, exam_id: 7, user_id: 100 + i }));
    await r.rpush('task:queue', `task_${i}`);
  }
  await r.hset('task:details', 'task_bad', JSON.stringify({ created_at: TS - 100, error: 'db timeout' }));
  await r.sadd('task:failed', 'task_bad');
  await r.zadd('jobs:delayed', TS - 10, 'due-1', TS + 600, 'later-1');
}

beforeAll(async () => {
  redis = await startRedis();
  const r = redis.client;
  await writeBull({ host: '127.0.0.1', port: redis.port });
  await writeAsynq(r);
  await writeOthers(r);
  const config = configSchema.parse({
    logLevel: 'silent',
    redis: { url: redis.url },
    scrape: { timeout: '3s' },
    discover: [{ framework: 'asynq' }, { framework: 'bullmq' }, { framework: 'sidekiq' }, { framework: 'celery', queues: ['celery'] }, { framework: 'rq' }],
    queues: [
      { name: 'jobs', type: 'stream', key: 'jobs', groups: ['workers'], dead: 'jobs:dlq', latencyThreshold: '1s' },
      { name: 'jobs-any-group', type: 'stream', key: 'jobs' },
      { name: 'exam', type: 'list', key: 'task:queue', details: 'task:details', failed: 'task:failed' },
      { name: 'delayed', type: 'zset', key: 'jobs:delayed' },
      { name: 'exam/2026 秋季 #1?', type: 'list', key: 'task:queue' },
    ],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
  // The PEL entries must be idle past the stream's 1 s threshold (the shortest latencyThreshold the config accepts).
  await waitFor('PEL entries idle past 1 s', async () => ((await r.xpending('jobs', 'workers', 'IDLE', 1000, '-', '+', 10)) as unknown[]).length === 3);
}, 60_000);

afterAll(async () => {
  await app?.close();
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await redis?.stop();
});

describe('task views over real Redis', () => {
  it('shows the real BullMQ failed job with its failedReason, and the waiting one', async () => {
    const { status, body } = await get<QueueTasks>('/api/queues/mail/tasks?framework=bullmq');
    expect(status).toBe(200);
    const dead = body.sections.find((s) => s.state === 'dead')!;
    expect(dead.total).toBe(1);
    expect(dead.tasks[0]).toMatchObject({ name: 'welcome', error: 'SMTP 550: mailbox unavailable', attempts: 1, payload: '{"to":"a@example.com"}' });
    expect(dead.tasks[0]!.failedAt).toBeGreaterThan(TS - 60);
    const waiting = body.sections.find((s) => s.state === 'waiting')!;
    expect(waiting.tasks.map((t) => t.name)).toEqual(['digest']);
    // Lookup by id, and state=dead&limit=… narrows the view.
    const one = await get<TaskLookup>(`/api/queues/mail/tasks/${dead.tasks[0]!.id}?framework=bullmq`);
    expect(one.body.tasks[0]).toMatchObject({ state: 'dead', error: 'SMTP 550: mailbox unavailable' });
    const narrow = await get<QueueTasks>('/api/queues/mail/tasks?framework=bullmq&state=dead&limit=50');
    expect(narrow.body.sections.map((s) => s.state)).toEqual(['dead']);
    expect(narrow.body.limit).toBe(50);
  });

  it('shows a BullMQ active job without its lock as stuck', async () => {
    const { body } = await get<QueueTasks>('/api/queues/reports/tasks');
    expect(body.sections.find((s) => s.state === 'stuck')!.tasks.map((t) => t.name)).toEqual(['pdf']);
    expect(body.sections.find((s) => s.state === 'active')!.tasks.map((t) => t.name)).toEqual(['pdf']);
  });

  it('shows the asynq task with the expired lease as stuck, the other as active', async () => {
    const { body } = await get<QueueTasks>('/api/queues/critical/tasks?framework=asynq');
    const by = (s: string) => body.sections.find((x) => x.state === s)!;
    expect(by('stuck').tasks.map((t) => t.id)).toEqual(['t0']);
    expect(by('stuck').tasks[0]!.dueAt).toBe(TS - 70);
    expect(by('active').tasks.map((t) => t.id).sort()).toEqual(['t0', 't1']);
    expect(by('waiting').tasks.map((t) => t.id)).toEqual(['t2', 't3']);
    expect(by('waiting').tasks[0]).toMatchObject({ name: 'email:deliver', payload: '{"user_id":42}' });
    expect(by('waiting').tasks[0]!.ageSeconds).toBeGreaterThanOrEqual(58);
    expect(by('scheduled').tasks[0]).toMatchObject({ id: 's1', dueAt: TS + 3600 });
    const one = await get<TaskLookup>('/api/queues/critical/tasks/t0?framework=asynq');
    expect(one.body.tasks[0]!.state).toBe('stuck');
  });

  it('asks for the framework when a name is ambiguous, and 404s unknown queues', async () => {
    const amb = await get<{ error: string; frameworks: string[] }>('/api/queues/default/tasks');
    expect(amb.status).toBe(409);
    expect(amb.body.frameworks.sort()).toEqual(['asynq', 'sidekiq']);
    expect((await get('/api/queues/default/tasks?framework=asynq')).status).toBe(200);
    expect((await get('/api/queues/nope/tasks')).status).toBe(404);
    expect((await get('/api/queues/mail/tasks?framework=rq')).status).toBe(404);
    expect((await get('/api/queues/mail/tasks?limit=abc')).status).toBe(400);
    expect((await get('/api/queues/mail/tasks?state=bogus')).status).toBe(400);
    expect((await app.inject({ url: '/queues/nope' })).statusCode).toBe(404);
  });

  it('answers the link shape chat messages and Grafana use: /queues/<urlencoded queue>?framework=<urlencoded framework>', async () => {
    // The relay encodes like encodeURIComponent plus !'()* (RFC 3986), Grafana's percentencode likewise.
    const strict = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    for (const [name, fw] of [['exam/2026 秋季 #1?', 'list'], ['*', 'sidekiq'], ['mail', 'bullmq']] as const) {
      expect((await app.inject({ url: `/queues/${strict(name)}?framework=${strict(fw)}` })).statusCode, name).toBe(200);
      const res = await app.inject({ url: `/queues/${encodeURIComponent(name)}?framework=${encodeURIComponent(fw)}` });
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'nonce-/);
      const api = await get<QueueTasks>(`/api/queues/${encodeURIComponent(name)}/tasks?framework=${encodeURIComponent(fw)}`);
      expect(api.body.queue).toBe(name);
    }
  });

  it('shows Sidekiq waiting jobs and the queue\'s dead jobs from the global set', async () => {
    const { body } = await get<QueueTasks>('/api/queues/default/tasks?framework=sidekiq');
    const by = (s: string) => body.sections.find((x) => x.state === s)!;
    expect(by('waiting').total).toBe(2);
    expect(by('waiting').tasks[0]!.ageSeconds).toBeGreaterThanOrEqual(29);
    expect(by('dead').tasks).toHaveLength(1); // mailers' dead job is filtered out
    expect(by('dead')).toMatchObject({ total: null, noteKey: 'globalFiltered', noteValue: 2, note: "from the global set: this queue's jobs among its 2 oldest entries" });
    // The page says the same in Chinese.
    const html = (await app.inject({ url: '/queues/default?framework=sidekiq&state=dead' })).body;
    expect(html).toContain('来自全局集合：其中最早的 {n} 条里属于此队列的任务');
    expect(by('dead').tasks[0]).toMatchObject({ name: 'HardJob', error: 'boom' });
    expect(by('retry').tasks[0]!.dueAt).toBe(TS + 60);
    expect(body.problems).toEqual([]);
    expect(by('active').tasks.map((t) => [t.id, t.name, t.consumer])).toEqual([['busy1', 'SlowJob', 'worker-1.example:4242:0a1b2c3d4e5f']]);
    const all = await get<QueueTasks>('/api/queues/*/tasks?framework=sidekiq');
    expect(all.body.sections.find((x) => x.state === 'dead')!.total).toBe(2);
    expect(all.body.sections.find((x) => x.state === 'active')!.tasks.map((t) => t.id)).toEqual(['busy1', 'busy2']);
  });

  it('shows RQ jobs with the failure from the results stream, and Celery messages', async () => {
    const { body } = await get<QueueTasks>('/api/queues/high/tasks?framework=rq');
    const dead = body.sections.find((x) => x.state === 'dead')!;
    expect(dead.tasks[0]).toMatchObject({ id: rqFailedId, error: 'ValueError: page is empty', name: 'tasks.count_words' });
    expect(body.sections.find((x) => x.state === 'waiting')!.tasks[0]!.ageSeconds).toBeGreaterThanOrEqual(14);
    const celery = await get<QueueTasks>('/api/queues/celery/tasks?framework=celery');
    expect(celery.body.states).toEqual(['waiting']);
    expect(celery.body.sections[0]!.total).toBe(2);
    expect(celery.body.sections[0]!.tasks.map((t) => t.name)).toEqual(['tasks.add', 'tasks.add']);
  });

  it('shows stream PEL entries (consumer, idle, deliveries), stuck past the threshold, and the dead-letter stream', async () => {
    const { body } = await get<QueueTasks>('/api/queues/jobs/tasks?framework=stream');
    const by = (s: string) => body.sections.find((x) => x.state === s)!;
    expect(by('active').total).toBe(3);
    expect(by('active').tasks.map((t) => [t.consumer, t.deliveries, t.group])).toEqual([['w1', 1, 'workers'], ['w1', 1, 'workers'], ['w1', 1, 'workers']]);
    expect(by('active').tasks[0]!.name).toBe('crawl'); // fields read in the second batch
    expect(by('stuck').tasks).toHaveLength(3);
    expect(by('stuck').tasks[0]!.idleSeconds).toBeGreaterThanOrEqual(1);
    expect(by('waiting').tasks.map((t) => t.payload && JSON.parse(t.payload).task_id)).toEqual(['job-3', 'job-4']);
    expect(by('dead').tasks[0]).toMatchObject({ error: 'upstream 503', attempts: 3, failedAt: TS });
    // Groups from XINFO: PEL entries without fields (a third batch would be needed), still with consumer and deliveries.
    const any = await get<QueueTasks>('/api/queues/jobs-any-group/tasks?framework=stream');
    expect(any.body.sections.find((x) => x.state === 'active')!.tasks).toHaveLength(3);
    const first = by('active').tasks[0]!;
    const one = await get<TaskLookup>(`/api/queues/jobs/tasks/${first.id}?framework=stream`);
    expect(one.body.tasks[0]).toMatchObject({ state: 'stuck', consumer: 'w1', name: 'crawl' });
    // By the business id in the entry's fields (not an index: found in the view's windows).
    const byRef = await get<TaskLookup>('/api/queues/jobs/tasks/job-4?framework=stream');
    expect(byRef.body.tasks[0]).toMatchObject({ state: 'waiting', ref: 'job-4' });
  });

  it('shows list tasks with their details and the failed set, and zset due / scheduled members', async () => {
    const { body } = await get<QueueTasks>('/api/queues/exam/tasks');
    const waiting = body.sections.find((x) => x.state === 'waiting')!;
    expect(waiting.tasks.map((t) => t.id)).toEqual(['task_0', 'task_1', 'task_2']);
    expect(waiting.tasks[0]!.ageSeconds).toBeGreaterThanOrEqual(40);
    expect(body.sections.find((x) => x.state === 'dead')!.tasks[0]).toMatchObject({ id: 'task_bad', error: 'db timeout' });
    expect((await get<TaskLookup>('/api/queues/exam/tasks/task_bad')).body.tasks[0]!.state).toBe('dead');
    const z = await get<QueueTasks>('/api/queues/delayed/tasks');
    expect(z.body.sections.map((s) => [s.state, s.total, s.tasks.map((t) => t.id)])).toEqual([['waiting', 1, ['due-1']], ['scheduled', 1, ['later-1']]]);
  });

  it('sends only bounded read-only commands, one pipeline plus one dependent per view', async () => {
    const monitor = new Redis({ host: '127.0.0.1', port: redis.port });
    const seen: string[][] = [];
    const m = await monitor.monitor();
    m.on('monitor', (_time: string, args: string[]) => seen.push(args));
    await waitFor('MONITOR to be on', async () => {
      await redis.client.ping();
      return seen.some((a) => a[0]?.toLowerCase() === 'ping');
    });
    seen.length = 0;
    for (const url of [
      '/api/queues/mail/tasks?framework=bullmq', '/api/queues/reports/tasks', '/api/queues/critical/tasks?framework=asynq', '/api/queues/default/tasks?framework=sidekiq',
      '/api/queues/high/tasks?framework=rq', '/api/queues/celery/tasks', '/api/queues/jobs/tasks?framework=stream', '/api/queues/jobs-any-group/tasks', '/api/queues/exam/tasks',
      '/api/queues/delayed/tasks', '/api/queues/critical/tasks/t0?framework=asynq', '/api/queues/mail/tasks/1?framework=bullmq', '/api/queues/default/tasks/x?framework=sidekiq',
    ]) {
      expect((await app.inject({ url })).statusCode).toBeLessThan(500);
    }
    await waitFor('MONITOR to catch up', async () => {
      await redis.client.echo('done');
      return seen.some((a) => a[0]?.toLowerCase() === 'echo');
    });
    m.disconnect();
    monitor.disconnect();
    const allowed = new Set(['lrange', 'llen', 'zrange', 'zcard', 'zcount', 'zscore', 'xrange', 'xrevrange', 'xpending', 'xlen', 'xinfo', 'hmget', 'hget', 'hgetall', 'exists', 'scard', 'sscan', 'sismember']);
    const ours = seen.filter((a) => !['ping', 'echo'].includes(a[0]!.toLowerCase()));
    expect(ours.length).toBeGreaterThan(30);
    for (const a of ours) {
      const name = a[0]!.toLowerCase();
      expect(allowed.has(name), a.join(' ')).toBe(true);
      if (name === 'lrange') expect(Math.abs(Number(a[3]) - Number(a[2])) + 1).toBeLessThanOrEqual(100);
      if (name === 'zrange') {
        const limit = a.findIndex((x) => x.toUpperCase() === 'LIMIT');
        expect(limit >= 0 ? Number(a[limit + 2]) : Number(a[3]) - Number(a[2]) + 1, a.join(' ')).toBeLessThanOrEqual(500);
      }
      if (name === 'xrange' || name === 'xrevrange') expect(a.map((x) => x.toUpperCase())).toContain('COUNT');
      if (name === 'xpending') expect(a.length, a.join(' ')).toBeGreaterThan(3); // the extended form, with a count
      if (name === 'sscan') expect(a.map((x) => x.toUpperCase())).toContain('COUNT');
      if (name === 'hgetall') expect(a[1], a.join(' ')).toMatch(/:work(ers)?$/); // a process's busy jobs, never a queue
    }
  });
});
