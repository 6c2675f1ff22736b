/**
 * Nothing Redis sends is read without a bound (issue 10 #4), against a fake
 * Redis on loopback: a bulk past `redis.maxBulkBytes` fails that collector
 * only (redis_up stays 1, the next scrape is whole); `$2000000000` followed
 * by data never becomes an allocation; a silent socket costs a scrape its
 * budget and no more, on the scrape and on the discovery connection.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { StandaloneExecutor } from '../../src/redis/standalone.js';
import { defaultAnswer, resp, startFakeRedis, type FakeRedis } from '../helpers/fake-redis.js';
import { parseExposition } from '../helpers/exposition.js';

const log = pino({ level: 'silent' });
let fake: FakeRedis | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await fake?.stop();
  app = fake = undefined;
});

async function scrape(a: FastifyInstance, timeoutSeconds = '1.5'): Promise<Map<string, number>> {
  const r = await a.inject({ url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': timeoutSeconds } });
  expect(r.statusCode).toBe(200);
  return parseExposition(r.body);
}

describe('reply caps', () => {
  it('a bulk past redis.maxBulkBytes fails that collector only; redis_up stays 1', async () => {
    fake = await startFakeRedis((c) => {
      if (c[0] === 'GET') return resp.bulk('9'.repeat(100_000)); // a "counter" of 100 kB
      if (c[0] === 'LLEN') return resp.int(3);
      return defaultAnswer(c);
    });
    const config = configSchema.parse({
      discover: [],
      redis: { url: fake.url, maxBulkBytes: '1KiB' },
      queues: [
        { name: 'plain', type: 'list', key: 'plain' },
        { name: 'counted', type: 'list', key: 'counted', processedCounter: 'counted:done' },
      ],
    });
    expect(config.redis.maxBulkBytes).toBe(1024);
    app = await buildApp(config, { log });
    for (let i = 0; i < 2; i++) {
      const m = await scrape(app);
      expect(m.get('redis_up')).toBe(1);
      expect(m.get('queue_tasks{framework="list",queue="plain",state="waiting"}')).toBe(3);
      expect(m.get('queuescope_scrape_collector_success{collector="list"}')).toBe(0);
      expect(m.has('queue_processed_total{framework="list",queue="counted"}')).toBe(false);
    }
  });

  it('$2000000000 and a stream of data: no allocation, redis_up 0 at the deadline, the next scrape recovers', async () => {
    let giant = true;
    fake = await startFakeRedis((c) => {
      if (c[0] === 'LLEN' && giant) return Buffer.concat([Buffer.from('$2000000000\r\n'), Buffer.alloc(32 * 1024 * 1024, 0x78)]);
      if (c[0] === 'LLEN') return resp.int(5);
      return defaultAnswer(c);
    });
    app = await buildApp(configSchema.parse({ discover: [], redis: { url: fake.url }, queues: [{ name: 'q', type: 'list', key: 'q' }] }), { log });
    const before = process.memoryUsage().rss;
    const m = await scrape(app, '1');
    expect(m.get('redis_up')).toBe(0); // the reply never ended within the budget
    // 32 MB arrived; a parser that kept them (or allocated 2 GB) would show it
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    giant = false;
    const next = await scrape(app);
    expect(next.get('redis_up')).toBe(1);
    expect(next.get('queue_tasks{framework="list",queue="q",state="waiting"}')).toBe(5);
  });

  it('a silent socket: the scrape answers within its budget with redis_up 0', async () => {
    fake = await startFakeRedis(() => 'silent');
    app = await buildApp(configSchema.parse({ discover: [], redis: { url: fake.url }, queues: [{ name: 'q', type: 'list', key: 'q' }] }), { log });
    const t0 = Date.now();
    const m = await scrape(app, '1');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(m.get('redis_up')).toBe(0);
  });

  it('the discovery connection has a deadline: a silent SCAN fails the pass instead of hanging it', async () => {
    fake = await startFakeRedis((c) => (c[0] === 'SCAN' ? 'silent' : defaultAnswer(c)));
    const ex = new StandaloneExecutor(configSchema.parse({ redis: { url: fake.url, connectTimeout: '200ms', commandTimeout: '300ms' } }).redis, log);
    try {
      const t0 = Date.now();
      await expect(ex.scanKeys({ match: '*', count: 100 }, () => {})).rejects.toThrow(/deadline/);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(fake.commands.some((c) => c[0] === 'SCAN')).toBe(true);
    } finally {
      await ex.close();
    }
  });

  it('a giant SCAN page is refused by the caps, not allocated', async () => {
    fake = await startFakeRedis((c) => (c[0] === 'SCAN' ? `*2\r\n$1\r\n0\r\n*50000000\r\n` : defaultAnswer(c)));
    const ex = new StandaloneExecutor(configSchema.parse({ redis: { url: fake.url, commandTimeout: '300ms', maxReplyElements: 10_000 } }).redis, log);
    try {
      await expect(ex.scanKeys({ match: '*', count: 100 }, () => {})).rejects.toThrow(/deadline|too large/);
    } finally {
      await ex.close();
    }
  });
});
