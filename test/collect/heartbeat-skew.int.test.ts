/**
 * A heartbeat in the future (issue 10 #11): within `staleAfter` ahead it is
 * clock skew and the component is up (age 0); more than `staleAfter` ahead it
 * is stale, not up for ever, and reported as a skipped value.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { parseExposition } from '../helpers/exposition.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let app: FastifyInstance;
beforeAll(async () => {
  redis = await startRedis();
  const nowS = Math.floor(Date.now() / 1000);
  await redis.client.set('hb:skewed', String(nowS + 5)); // 5 s ahead: skew
  await redis.client.set('hb:far', String(nowS + 3600)); // an hour ahead
  await redis.client.set('hb:far-ms', String((nowS + 86_400) * 1000)); // a day ahead, in ms
  await redis.client.set('hb:fresh', String(nowS - 1));
  const config = configSchema.parse({
    redis: { url: redis.url },
    discover: [],
    components: ['skewed', 'far', 'far-ms', 'fresh'].map((n) => ({ name: n, heartbeat: `hb:${n}`, staleAfter: '30s' })),
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

describe('heartbeats in the future', () => {
  it('skew within staleAfter is up; further ahead is stale and reported', async () => {
    const m = parseExposition((await app.inject('/metrics')).body);
    const up = (c: string) => m.get(`queue_component_up{component="${c}"}`);
    expect(up('fresh')).toBe(1);
    expect(up('skewed')).toBe(1);
    expect(m.get('queue_component_heartbeat_age_seconds{component="skewed"}')).toBe(0);
    expect(up('far')).toBe(0);
    expect(up('far-ms')).toBe(0);
    expect(m.get('queuescope_scrape_collector_success{collector="components"}')).toBe(0);
    const failures = app.queuescope.runtime.engine.latest!.collectors.get('components')!.failures;
    expect(failures.filter((f) => f.includes('ahead of the sidecar'))).toHaveLength(2);
  });
});
