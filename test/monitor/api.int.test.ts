/**
 * The monitor API of the whole app (buildApp) against a real redis-server
 * holding the team's layouts: component statuses from heartbeats, numbers
 * checked against plain Redis commands, rates from the sidecar's own samples,
 * a component turning `stopped` within its staleAfter, and Redis down.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let app: FastifyInstance;

interface Json {
  [key: string]: any;
}

async function monitor(): Promise<Json> {
  const res = await app.inject('/api/monitor');
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function seed(): Promise<void> {
  const r = redis.client;
  await r.flushall();
  const nowS = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 20; i++) {
    const id = `task_${i}`;
    await r.hset('task:details', id, JSON.stringify({ created_at: nowS - 100 + i }));
    await r.zadd('task:timeline', nowS - 100 + i, id);
    if (i < 8) await r.sadd('task:done', id);
    else if (i < 10) await r.sadd('task:failed', id);
    else await r.rpush('task:queue', id);
  }
  await r.set('simulator:heartbeat', String(nowS - 2));
  await r.set('simulator:written:total', '452000');
  await r.set('consumer:heartbeat', String(Date.now() - 1000)); // milliseconds, auto-detected
  await r.set('consumer:processed:total', '448888');
  await r.set('consumer:last_duration', '35');
  await r.lpush('consumer:durations', '30', '40', '44');
  await r.set('stale:heartbeat', String(nowS - 600));
}

async function newApp(): Promise<FastifyInstance> {
  const config = configSchema.parse({
    logLevel: 'silent',
    redis: { url: redis.url, connectTimeout: '500ms', commandTimeout: '1s' },
    scrape: { timeout: '2s' },
    discover: [],
    queues: [{ name: 'exam-tasks', type: 'list', key: 'task:queue', details: 'task:details', done: 'task:done', failed: 'task:failed', timeline: 'task:timeline', windows: ['1m', '10m'] }],
    components: [
      { name: 'simulator', heartbeat: 'simulator:heartbeat', staleAfter: '30s', total: 'simulator:written:total' },
      { name: 'consumer', heartbeat: 'consumer:heartbeat', staleAfter: '30s', total: 'consumer:processed:total', lastDuration: 'consumer:last_duration', durations: 'consumer:durations' },
      { name: 'stale', heartbeat: 'stale:heartbeat', staleAfter: '30s' },
      { name: 'missing', heartbeat: 'missing:heartbeat', staleAfter: '30s' },
      { name: 'worker', heartbeat: 'worker:heartbeat', staleAfter: '2s', total: 'worker:total' },
    ],
  });
  const built = await buildApp(config, { log: pino({ level: 'silent' }) });
  await built.ready();
  // The sidecar connects in the background; wait for it without taking a collection (that would be a rate sample).
  await waitFor('the sidecar connected to Redis', async () => {
    await built.queuescope.runtime.executor.scanKeys({ match: 'no-such-key', count: 10 }, () => false);
    return true;
  });
  return built;
}

beforeAll(async () => {
  redis = await startRedis();
  app = await newApp();
});

afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

beforeEach(seed);

describe('GET /api/monitor on real Redis', () => {
  it('reports running, stopped and unknown components with their numbers', async () => {
    const before = Date.now();
    const body = await monitor();
    const nowS = Date.now() / 1000;
    const hb = Number(await redis.client.get('simulator:heartbeat'));
    expect(Object.keys(body).sort()).toEqual(['components', 'generatedAt', 'mysql', 'page', 'queues', 'redis', 'totalWaiting']);
    expect(Date.parse(body.generatedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(body.redis).toEqual({ up: true });
    expect(body.mysql).toBeNull();
    expect(body.components.simulator).toMatchObject({ status: 'running', lastHeartbeat: hb, total: 452000, staleAfterSeconds: 30, lastDurationMs: null });
    expect(body.components.simulator.heartbeatAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(body.components.simulator.heartbeatAgeSeconds).toBeLessThanOrEqual(nowS - hb + 0.01);
    expect(body.components.consumer).toMatchObject({ status: 'running', total: 448888, lastDurationMs: 35, avgDurationMs: 38 });
    expect(typeof body.components.consumer.lastHeartbeat).toBe('number');
    expect(body.components.stale).toMatchObject({ status: 'stopped', total: null });
    expect(body.components.stale.heartbeatAgeSeconds).toBeGreaterThanOrEqual(600);
    expect(body.components.missing).toMatchObject({ status: 'unknown', lastHeartbeat: null, heartbeatAgeSeconds: null });
    expect(body.components.worker).toMatchObject({ status: 'unknown', total: 0 });
  });

  it('reports the queue with the values plain Redis commands give', async () => {
    const r = redis.client;
    const body = await monitor();
    const q = body.queues['exam-tasks'];
    const done = await r.scard('task:done');
    const failed = await r.scard('task:failed');
    expect(q).toMatchObject({
      name: 'exam-tasks',
      framework: 'list',
      waiting: await r.llen('task:queue'),
      active: null,
      processed: done + failed,
      failed,
      enqueued: await r.hlen('task:details'),
      windows: { '1m': await r.zcount('task:timeline', Math.floor(Date.now() / 1000) - 60, '+inf'), '10m': 20 },
      groups: null,
    });
    expect(q.waiting).toBe(10);
    // head task created 90 s ago (i = 10)
    expect(q.oldestTaskAgeSeconds).toBeGreaterThanOrEqual(89);
    expect(q.oldestTaskAgeSeconds).toBeLessThan(95);
  });

  it('computes rates after two samples of its own, not before', async () => {
    // A fresh app: its own runtime, so no samples from the other tests.
    const fresh = await newApp();
    try {
      const get = async (): Promise<Json> => (await fresh.inject('/api/monitor')).json();
      const first = await get();
      expect(first.components.simulator.ratePerSecond).toBeNull();
      expect(first.queues['exam-tasks'].ratePerSecond).toBeNull();
      const t1 = Date.parse(first.generatedAt);
      await redis.client.incrby('simulator:written:total', 600);
      await redis.client.sadd('task:done', 'x1', 'x2', 'x3');
      const second = await waitFor('a second collection', async () => {
        const b = await get();
        return Date.parse(b.generatedAt) > t1 ? b : undefined;
      });
      const dt = (Date.parse(second.generatedAt) - t1) / 1000;
      expect(second.components.simulator.total).toBe(452600);
      expect(second.components.simulator.ratePerSecond).toBeCloseTo(600 / dt, 2);
      expect(second.components.simulator.ratePerMinute).toBeCloseTo((600 / dt) * 60, 0);
      expect(second.queues['exam-tasks'].ratePerSecond).toBeCloseTo(3 / dt, 2);
      // the consumer's counter did not move: a rate of 0, not null
      expect(second.components.consumer.ratePerSecond).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('counts a /metrics scrape as one of its samples', async () => {
    const fresh = await newApp();
    try {
      expect((await fresh.inject('/metrics')).statusCode).toBe(200);
      const scrapedAt = Date.now();
      await redis.client.incrby('simulator:written:total', 500);
      // Past the monitor's 1 s reuse window, so its first request collects anew
      // and the /metrics collection is the only other sample.
      await waitFor('the reuse window to pass', () => Date.now() - scrapedAt > 1100, 5000);
      const body = (await fresh.inject('/api/monitor')).json();
      expect(body.components.simulator.total).toBe(452500);
      expect(body.components.simulator.ratePerSecond).toBeGreaterThan(0);
      expect(body.components.simulator.ratePerSecond).toBeLessThan(500);
    } finally {
      await fresh.close();
    }
  });

  it('GET /api/monitor/:component answers one component; 404 for an unknown one', async () => {
    const one = await app.inject('/api/monitor/consumer');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ status: 'running', total: 448888, lastDurationMs: 35, avgDurationMs: 38 });
    const missing = await app.inject('/api/monitor/no-such-thing');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toContain('no-such-thing');
  });

  it('turns a component stopped within staleAfter of its last heartbeat', async () => {
    const beat = Date.now();
    await redis.client.set('worker:heartbeat', String(beat));
    await waitFor('worker running', async () => (await monitor()).components.worker.status === 'running', 5000);
    const stopped = await waitFor('worker stopped', async () => ((await monitor()).components.worker.status === 'stopped' ? Date.now() : 0), 8000, 100);
    // staleAfter is 2 s: never before it, and at most one reused collection (1 s) plus a poll after it
    expect(stopped - beat).toBeGreaterThanOrEqual(2000);
    expect(stopped - beat).toBeLessThan(2000 + 1500);
  });

  it('with Redis down: redis.up false and components unknown, then recovers', async () => {
    await redis.kill();
    try {
      const down = await waitFor('redis reported down', async () => {
        const b = await monitor();
        return b.redis.up === false ? b : undefined;
      });
      expect(Object.values(down.components as Record<string, Json>).map((c) => c.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
      expect(down.queues['exam-tasks']).toMatchObject({ waiting: null, processed: null });
      expect((await app.inject('/api/monitor/simulator')).json().status).toBe('unknown');
    } finally {
      await redis.restart();
    }
    await seed();
    await waitFor('redis back', async () => (await monitor()).components.simulator.status === 'running');
  });
});
