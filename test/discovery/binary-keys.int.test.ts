/**
 * Keys that are not valid UTF-8 (issue 10 #9), on a real redis-server: SCAN
 * finds them and the scrape queries them under their exact bytes (on main
 * they came back as U+FFFD and were queried under a different key: 0 or
 * missing, with success 1). Their label value writes the odd bytes as `\xNN`.
 */
import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { findBinary } from '../helpers/binaries.js';
import { parseExposition } from '../helpers/exposition.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let app: FastifyInstance;
const bin = (s: string, ...bytes: number[]): Buffer => Buffer.concat([Buffer.from(s), Buffer.from(bytes)]);

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.rpush(bin('jobs:', 0xff, 0x61), 'a', 'b', 'c');
  await redis.client.rpush(bin('jobs:', 0xef, 0xbf, 0xbd), 'x'); // the key U+FFFD itself: the one main queried instead
  await redis.client.rpush('jobs:plain', 'p', 'q');
  await redis.client.xadd(bin('events:', 0xfe), '*', 'f', 'v');
  await redis.client.xgroup('CREATE', bin('events:', 0xfe), 'workers', '0');
  const config = configSchema.parse({
    redis: { url: redis.url },
    discover: [
      { framework: 'list', match: 'jobs:*' },
      { framework: 'stream', match: 'events:*' },
    ],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

describe('binary key names', () => {
  it('are found by SCAN and read under their own bytes', async () => {
    const body = await waitFor('discovered', async () => {
      const text = (await app.inject('/metrics')).body;
      return text.includes('jobs:plain') && text.includes('events:') ? text : undefined;
    });
    const m = parseExposition(body);
    // parseExposition keeps the text format's escaping: `\\xff` is the label value `\xff`
    expect(m.get('queue_tasks{framework="list",queue="jobs:\\\\xffa",state="waiting"}')).toBe(3);
    expect(m.get('queue_tasks{framework="list",queue="jobs:\uFFFD",state="waiting"}')).toBe(1);
    expect(m.get('queue_tasks{framework="list",queue="jobs:plain",state="waiting"}')).toBe(2);
    expect(m.get('queuescope_scrape_collector_success{collector="discovered_list"}')).toBe(1);
    expect([...m.keys()].some((k) => k.includes('events:\\\\xfe') && k.startsWith('queue_'))).toBe(true);
    expect(m.get('queuescope_scrape_collector_success{collector="discovered_stream"}')).toBe(1);

    // the page stays valid for promtool
    execFileSync(findBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: body, stdio: ['pipe', 'pipe', 'pipe'] });
  });
});
