/**
 * `node dist/bench/inspect.js`: what one task view costs as queues grow.
 * Loads queues of 1 000 and 100 000 tasks in several layouts (asynq pending +
 * archived with task hashes, a BullMQ-shaped wait list + failed zset with job
 * hashes, a stream with a PEL and a dead-letter stream, a list with its
 * details hash) into a private redis-server, then times the list view
 * (default limit 20, and 100) through the sidecar's own Runtime and counts
 * the commands it sent (INFO commandstats) and the batches. The point: the
 * cost is set by `limit`, not by the queue's length.
 *
 * Knob: BENCH_INSPECT_RUNS (views per case, default 20).
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { knownQueues } from '../src/inspect/index.js';
import { TASK_STATES, type ListState } from '../src/inspect/types.js';
import { listTasks } from '../src/inspect/view.js';
import { Runtime } from '../src/runtime.js';
import { commandDelta, commandStats, killAllChildren, startRedis } from './redis.js';
import { printTable } from './table.js';

const RUNS = Number(process.env.BENCH_INSPECT_RUNS ?? 20);

async function load(r: import('ioredis').Redis, n: number): Promise<void> {
  const now = Date.now();
  const chunk = 5000;
  for (let base = 0; base < n; base += chunk) {
    const p = r.pipeline();
    for (let i = base; i < Math.min(n, base + chunk); i++) {
      const id = `t${i}`;
      // asynq: pending list + task hashes (msg: a small protobuf-ish string, enough for the reads)
      p.lpush(`asynq:{q${n}}:pending`, id);
      p.hset(`asynq:{q${n}}:t:${id}`, 'msg', `\n\u0004send\u0012\u0002{}\u001a${String.fromCharCode(id.length)}${id}`, 'state', 'pending', 'pending_since', String((now - n + i) * 1e6));
      if (i % 10 === 0) p.zadd(`asynq:{q${n}}:archived`, String(now / 1000 - i), `a${i}`);
      // BullMQ shape: wait list, failed zset, job hashes
      p.lpush(`bull:b${n}:wait`, String(i));
      p.hset(`bull:b${n}:${i}`, 'name', 'job', 'data', '{"x":1}', 'timestamp', String(now - n + i), 'atm', '0');
      if (i % 10 === 0) p.zadd(`bull:b${n}:failed`, String(now - i), String(i));
      // stream + list
      p.xadd(`s${n}`, '*', 'task_id', id, 'type', 'crawl');
      p.rpush(`l${n}`, id);
      p.hset(`l${n}:details`, id, JSON.stringify({ created_at: Math.floor(now / 1000) - 60, exam_id: 1 }));
    }
    await p.exec();
  }
  await r.sadd('asynq:queues', `q${n}`);
  await r.hset(`bull:b${n}:meta`, 'opts.maxLenEvents', '10000');
  await r.xgroup('CREATE', `s${n}`, 'g', '0');
  await r.xreadgroup('GROUP', 'g', 'c1', 'COUNT', Math.min(n, 1000), 'STREAMS', `s${n}`, '>');
  for (let i = 0; i < 100; i++) await r.xadd(`s${n}:dlq`, '*', 'task_id', `d${i}`, 'error', 'boom');
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const sizes = [1000, 100_000];
  for (const n of sizes) await load(redis.client, n);
  const config = configSchema.parse({
    logLevel: 'silent',
    redis: { url: `redis://127.0.0.1:${redis.port}/0` },
    discover: [{ framework: 'asynq' }, { framework: 'bullmq' }],
    queues: sizes.flatMap((n) => [
      { name: `s${n}`, type: 'stream', key: `s${n}`, groups: ['g'], dead: `s${n}:dlq` },
      { name: `l${n}`, type: 'list', key: `l${n}`, details: `l${n}:details` },
    ]),
  });
  const runtime = new Runtime(config, pino({ level: 'silent' }));
  runtime.start();
  await runtime.discovery.refresh();
  const rows: string[][] = [];
  for (const q of knownQueues(runtime)) {
    const n = Number(q.name.slice(1));
    for (const limit of [20, 100]) {
      const req = { states: new Set<ListState>(TASK_STATES), limit, nowMs: Date.now(), payloads: true };
      await listTasks(runtime.executor, q, req, Date.now() + 5000); // warm
      const before = await commandStats(redis.client);
      const times: number[] = [];
      let tasks = 0;
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const view = await listTasks(runtime.executor, q, { ...req, nowMs: Date.now() }, Date.now() + 5000);
        times.push(performance.now() - t0);
        tasks = view.sections.reduce((a, s) => a + s.tasks.length, 0);
      }
      const delta = commandDelta(before, await commandStats(redis.client));
      times.sort((a, b) => a - b);
      rows.push([q.framework, String(n), String(limit), String(tasks), (delta.total / RUNS - 1 / RUNS).toFixed(0), times[Math.floor(times.length / 2)]!.toFixed(2), times[Math.floor(times.length * 0.95)]!.toFixed(2)]);
    }
  }
  printTable(['framework', 'queue length', 'limit', 'tasks shown', 'commands/view', 'p50 ms', 'p95 ms'], rows, 1);
  await runtime.close();
  await redis.stop();
}

main().catch((err) => {
  console.error(err);
  killAllChildren();
  process.exit(1);
});
