/**
 * A counter that is not a non-negative decimal is skipped with a reason
 * (issue 10 #10): on main `-5` made the OpenMetrics page invalid as a whole
 * and `0x1F` (which `Number()` reads as 31) was exported as a count.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { parseExposition } from '../helpers/exposition.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { openMetricsErrors, promtoolErrors } from '../helpers/strict-parsers.js';

const VALUES: Record<string, string | undefined> = {
  good: '7',
  float: '2.5',
  exponent: '1.5e+3',
  negative: '-5',
  hex: '0x1F',
  huge: '1e400',
  text: '12abc',
  spaced: ' 12 ',
};

let redis: RedisServer;
let app: FastifyInstance;
beforeAll(async () => {
  redis = await startRedis();
  for (const [name, v] of Object.entries(VALUES)) if (v !== undefined) await redis.client.set(`c:${name}`, v);
  const config = configSchema.parse({
    redis: { url: redis.url },
    discover: [],
    queues: Object.keys(VALUES).map((name) => ({ name, type: 'list', key: `q:${name}`, processedCounter: `c:${name}` })),
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

describe('counters', () => {
  it('keeps non-negative decimals, skips the rest with a reason, and the page stays valid', async () => {
    const text = (await app.inject('/metrics')).body;
    const m = parseExposition(text);
    const processed = (q: string) => m.get(`queue_processed_total{framework="list",queue="${q}"}`);
    expect(processed('good')).toBe(7);
    expect(processed('float')).toBe(2.5);
    expect(processed('exponent')).toBe(1500);
    expect(processed('spaced')).toBe(12);
    for (const bad of ['negative', 'hex', 'huge', 'text']) expect(processed(bad), bad).toBeUndefined();
    expect(m.get('queuescope_scrape_collector_success{collector="list"}')).toBe(0);

    const om = (await app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).body;
    expect(openMetricsErrors([om])).toEqual([null]);
    expect(promtoolErrors(text)).toBeNull();
  });
});
