/**
 * Many scrapers, one Redis load: concurrent `/metrics` requests share one
 * in-flight collection, `scrape.cacheFor` lets a second Prometheus (HA pair)
 * reuse the first one's collection, and Redis sees exactly the commands of the
 * collections that ran (counted by Redis itself, `INFO commandstats`).
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ScrapeEngine } from '../../src/collect/engine.js';
import { LayoutCollector } from '../../src/collect/queues/layout.js';
import { listLayout, type ListQueue } from '../../src/collect/queues/list.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { SingleNodeExecutor } from '../../src/redis/batch.js';
import { connectRedis } from '../../src/redis/connection.js';
import { parseExposition, seriesKey } from '../helpers/exposition.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const log = pino({ level: 'silent' });
const QUEUES = 40;

let redis: RedisServer;

function config(cacheFor: string, extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    redis: { url: redis.url },
    discover: [],
    scrape: { cacheFor },
    queues: Array.from({ length: QUEUES }, (_, i) => ({ name: `q${i}`, type: 'list', key: `queue:${i}`, done: `done:${i}` })),
    ...extra,
  });
}

/** Commands Redis executed since the last reset, without the test's own INFO / CONFIG / DEBUG and connection setup. */
async function sidecarCommands(): Promise<number> {
  const stats = await redis.client.info('commandstats');
  let total = 0;
  for (const m of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (!/^(info|config|debug|client|select|ping|hello|auth)/.test(m[1]!)) total += Number(m[2]);
  }
  return total;
}

async function metrics(app: FastifyInstance): Promise<Map<string, number>> {
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  expect(r.statusCode).toBe(200);
  return parseExposition(r.body);
}

beforeAll(async () => {
  redis = await startRedis(['--enable-debug-command', 'yes']);
  for (let i = 0; i < QUEUES; i++) {
    await redis.client.rpush(`queue:${i}`, ...Array.from({ length: i + 1 }, (_, j) => `t${j}`));
    await redis.client.sadd(`done:${i}`, 'x');
  }
});

afterAll(async () => {
  await redis?.stop();
});

describe('many scrapers', () => {
  it('50 concurrent /metrics requests cause one Redis collection', async () => {
    const app = await buildApp(config('0s'), { log });
    try {
      const engine = (): ScrapeEngine => app.queuescope.runtime.engine;
      await waitFor('redis up', async () => (await metrics(app)).get('redis_up') === 1);
      const perCollection = (await metrics(app)).get('queuescope_scrape_redis_commands')!;
      // three commands per queue, and the PING every first batch starts with (issue 10 #2)
      expect(perCollection).toBe(QUEUES * 3 + 1);
      await redis.client.config('RESETSTAT');
      const before = engine().collections;

      // Hold Redis for 300 ms so every request arrives while the first collection is in flight.
      const sleeping = redis.client.call('DEBUG', 'SLEEP', '0.3');
      const replies = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/metrics' })));
      await sleeping;

      expect(engine().collections - before).toBe(1);
      // sidecarCommands() leaves PING out (connection checks of any client look the same)
      expect(await sidecarCommands()).toBe(perCollection - 1);
      const bodies = replies.map((r) => {
        expect(r.statusCode).toBe(200);
        return parseExposition(r.body);
      });
      for (const m of bodies) {
        expect(m.get('redis_up')).toBe(1);
        expect(m.get(seriesKey('queue_tasks', { queue: 'q39', framework: 'list', state: 'waiting' }))).toBe(40);
      }

      // without a collection in flight and cacheFor 0, the next scrape collects again
      await metrics(app);
      expect(engine().collections - before).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('two Prometheus servers scraping every interval do not double the Redis load (cacheFor)', async () => {
    // Scaled-down HA pair: both scrape every 400 ms, 200 ms apart; cacheFor 300 ms (shorter than the interval).
    const app = await buildApp(config('300ms'), { log });
    try {
      const engine = (): ScrapeEngine => app.queuescope.runtime.engine;
      await waitFor('redis up', async () => (await metrics(app)).get('redis_up') === 1);
      const perCollection = (await metrics(app)).get('queuescope_scrape_redis_commands')!;
      await redis.client.config('RESETSTAT');
      const before = engine().collections;
      const rounds = 5;
      const scraper = async (offsetMs: number): Promise<number> => {
        const t0 = Date.now() + offsetMs;
        let ok = 0;
        for (let i = 0; i < rounds; i++) {
          const due = t0 + i * 400;
          await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
          if ((await metrics(app)).get('redis_up') === 1) ok++;
        }
        return ok;
      };
      const [a, b] = await Promise.all([scraper(0), scraper(200)]);
      expect(a + b).toBe(2 * rounds);
      const collections = engine().collections - before;
      // one Prometheus alone would cause `rounds` collections; the pair must not cause twice that
      expect(collections).toBeLessThanOrEqual(rounds + 1);
      expect(await sidecarCommands()).toBe(collections * (perCollection - 1));
    } finally {
      await app.close();
    }
  });

  it('cacheFor reuses a finished collection for exactly its window (pinned clock)', async () => {
    let now = 1_000_000;
    const client = connectRedis(config('0s').redis, log);
    const queues: ListQueue[] = [{ name: 'q0', type: 'list', key: 'queue:0', oldestAt: 'head', windows: [60_000], backlogThreshold: 1, latencyThreshold: 1 }];
    const engine = new ScrapeEngine({
      executor: new SingleNodeExecutor(client),
      collectors: () => [new LayoutCollector(listLayout, () => queues)],
      cacheForMs: 1000,
      log,
      now: () => now,
    });
    try {
      // two scrapers, each every 1 s, 500 ms apart, for 10 s of pinned time
      for (let t = 0; t < 10_000; t += 500) {
        now = 1_000_000 + t;
        await engine.collect(Date.now() + 2000);
      }
      expect(engine.collections).toBe(10);
    } finally {
      client.disconnect();
    }
  });

  it('serves /probe through buildApp behind the same auth as /metrics', async () => {
    const app = await buildApp(
      config('0s', {
        auth: { bearerToken: 'tok-123' },
        modules: { exam: { queues: [{ name: 'q0', type: 'list', key: 'queue:0' }] } },
        probe: { allowTargets: ['127.0.0.1:*'] },
      }),
      { log },
    );
    try {
      const url = `/probe?target=${encodeURIComponent(redis.url)}&module=exam`;
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
      const r = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer tok-123' } });
      expect(r.statusCode).toBe(200);
      expect(parseExposition(r.body).get(seriesKey('queue_tasks', { queue: 'q0', framework: 'list', state: 'waiting' }))).toBe(1);
    } finally {
      await app.close();
    }
  });
});
