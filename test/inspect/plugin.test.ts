/**
 * The inspector routes without Redis: the same auth as every other route,
 * query parsing, and unknown queues answered without a Redis read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { parseLimit, parseStates } from '../../src/inspect/plugin.js';

let app: FastifyInstance;

beforeAll(async () => {
  const config = configSchema.parse({
    logLevel: 'silent',
    // Nothing listens here: a read would fail, so a 404 proves none was made.
    redis: { url: 'redis://127.0.0.1:1/0', connectTimeout: '200ms' },
    discover: [],
    auth: { bearerToken: 's3cret-token' },
    queues: [{ name: 'exam', type: 'list', key: 'task:queue' }],
  });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await app?.close();
});

describe('inspector routes', () => {
  it('need the configured credentials, like every route but the probes', async () => {
    for (const url of ['/queues/exam', '/api/queues/exam/tasks', '/api/queues/exam/tasks/1']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.body).not.toContain('s3cret');
    }
  });

  it('404 an unknown queue without touching Redis, in JSON and HTML', async () => {
    const auth = { authorization: 'Bearer s3cret-token' };
    const api = await app.inject({ url: '/api/queues/task%3Aqueue/tasks', headers: auth });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: 'unknown queue "task:queue"' });
    const page = await app.inject({ url: '/queues/%E2%80%AEevil', headers: { ...auth, 'accept-language': 'en' } });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Unknown queue: \\u202eevil');
    expect(page.body).not.toContain('\u202e');
  });

  it('answer a known queue with redisUp false when Redis is down', async () => {
    const res = await app.inject({ url: '/api/queues/exam/tasks', headers: { authorization: 'Bearer s3cret-token' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ queue: 'exam', framework: 'list', redisUp: false, states: ['waiting'] });
  });

  it('parse limit and state', () => {
    expect(parseLimit(undefined)).toBe(20);
    expect(parseLimit('5')).toBe(5);
    expect(parseLimit('1000')).toBe(100);
    expect(parseLimit('0')).toBeUndefined();
    expect(parseLimit('-1')).toBeUndefined();
    expect(parseLimit('1e3')).toBeUndefined();
    expect(parseStates('dead,retry')).toEqual(['dead', 'retry']);
    expect(parseStates('')).toBeUndefined();
    expect(parseStates('completed')).toBeNull();
  });
});
