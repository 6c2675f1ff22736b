/**
 * The inspector on data the real frameworks wrote (Debian's python3-rq,
 * python3-celery and ruby-sidekiq, installed by .ci/run): an RQ job that
 * really failed in a SimpleWorker (its traceback in `rq:results:<id>`),
 * Celery messages sent with `send_task` (one with a priority), Sidekiq jobs
 * pushed by `Sidekiq::Client` and killed into the DeadSet.
 */
import { spawn } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import type { QueueTasks } from '../../src/inspect/view.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const PYTHON = '/usr/bin/python3';
const RUBY = '/usr/bin/ruby';

let redis: RedisServer;
let app: FastifyInstance;
let rqFailedId = '';

/** Runs `bin` with `script` on stdin; resolves stdout, rejects with stderr on a non-zero exit. */
function run(bin: string, args: string[], script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} exited ${code}: ${err.slice(-2000)}`))));
    p.stdin.end(script);
  });
}

beforeAll(async () => {
  redis = await startRedis();
  const url = redis.url;
  rqFailedId = (
    await run(PYTHON, ['-'], `
from redis import Redis
from rq import Queue, SimpleWorker
r = Redis.from_url(${JSON.stringify(url)})
q = Queue('reports', connection=r)
bad = q.enqueue('builtins.int', 'not-a-number')
SimpleWorker([q], connection=r).work(burst=True)
q.enqueue('builtins.len', 'waiting')
print('JOB', bad.id)
`)
  ).match(/^JOB (\S+)$/m)![1]!; // the worker logs to stdout too
  await run(PYTHON, ['-'], `
from celery import Celery
app = Celery('t', broker=${JSON.stringify(url)})
app.send_task('tasks.add', args=(2, 3), queue='celery')
app.send_task('tasks.mul', args=(4, 5), queue='celery', priority=6)
`);
  await run(RUBY, ['-'], `
require "sidekiq"; require "sidekiq/api"
Sidekiq.configure_client { |c| c.redis = { url: ${JSON.stringify(url)} } }
Sidekiq::Client.push("class" => "HardJob", "args" => [1, "x"], "queue" => "default")
Sidekiq::Client.push("class" => "OtherJob", "args" => [], "queue" => "mailers")
job = { "class" => "HardJob", "args" => [2], "queue" => "default", "jid" => "deadbeefdeadbeefdeadbeef", "error_message" => "undefined method 'x' for nil", "error_class" => "NoMethodError", "retry_count" => 3, "failed_at" => Time.now.to_f, "enqueued_at" => Time.now.to_f - 100 }
Sidekiq::DeadSet.new.kill(Sidekiq.dump_json(job))
`);
  const config = configSchema.parse({
    logLevel: 'silent',
    redis: { url },
    discover: [{ framework: 'rq' }, { framework: 'celery', queues: ['celery'] }, { framework: 'sidekiq' }],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

const view = async (url: string): Promise<QueueTasks> => (await app.inject({ url })).json() as QueueTasks;
const section = (v: QueueTasks, state: string) => v.sections.find((s) => s.state === state)!;

describe('tasks the real frameworks wrote', () => {
  it('RQ: the failed job with the exception line of its traceback, the waiting one', async () => {
    const v = await view('/api/queues/reports/tasks?framework=rq');
    expect(section(v, 'dead').tasks[0]).toMatchObject({ id: rqFailedId, name: 'builtins.int', error: "ValueError: invalid literal for int() with base 10: 'not-a-number'" });
    expect(section(v, 'dead').tasks[0]!.failedAt).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(section(v, 'waiting').tasks.map((t) => t.payload)).toEqual(["builtins.len('waiting')"]);
  });

  it('Celery: both messages, over the priority sub-list, with task names and ids', async () => {
    const v = await view('/api/queues/celery/tasks?framework=celery');
    expect(section(v, 'waiting').total).toBe(2);
    expect(section(v, 'waiting').tasks.map((t) => [t.name, t.payload?.slice(0, 7)])).toEqual([['tasks.add', '[[2, 3]'], ['tasks.mul', '[[4, 5]']]);
    expect(section(v, 'waiting').tasks[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('Sidekiq: the queue\'s waiting and dead jobs', async () => {
    const v = await view('/api/queues/default/tasks?framework=sidekiq');
    expect(section(v, 'waiting').tasks.map((t) => [t.name, t.payload])).toEqual([['HardJob', '[1,"x"]']]);
    expect(section(v, 'waiting').tasks[0]!.ageSeconds).toBeLessThan(120);
    expect(section(v, 'dead').tasks[0]).toMatchObject({ id: 'deadbeefdeadbeefdeadbeef', error: "NoMethodError: undefined method 'x' for nil", attempts: 4 });
  });
});
