/**
 * `Accept-Encoding: gzip` on a listening sidecar (buildApp) over a real
 * redis-server: /metrics answers one gzip member (curl --compressed, which
 * refuses multi-member bodies, reads it) whose text is the same page as the
 * uncompressed answer; concurrent scrapes sharing one collection each get a
 * valid page; OpenMetrics keeps its `# EOF` last; the monitor API is
 * compressed by @fastify/compress; without the header nothing is compressed.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { findBinary } from '../helpers/binaries.js';
import { parseExposition } from '../helpers/exposition.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const run = promisify(execFile);
let redis: RedisServer;
let app: FastifyInstance;
let base: string;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The queue_* series of a page (the process metrics differ between any two answers). */
function queueSeries(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of parseExposition(text)) if (k.startsWith('queue_') && !k.includes('age_seconds')) out.set(k, v);
  return out;
}

beforeAll(async () => {
  redis = await startRedis();
  const queues = [];
  for (let i = 0; i < 300; i++) {
    await redis.client.rpush(`q:${i}`, 'a', 'b', String(i));
    queues.push({ type: 'list', name: `q-${i}`, key: `q:${i}` });
  }
  const config = configSchema.parse({ logLevel: 'silent', discover: [], redis: { url: redis.url }, queues, scrape: { cacheFor: '2s' } });
  app = await buildApp(config, { log: pino({ level: 'silent' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  await waitFor('redis_up 1', async () => (await get('/metrics')).body.toString().includes('\nredis_up 1\n'));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

describe('gzip', () => {
  it('/metrics with Accept-Encoding: gzip is one gzip member holding the same page', async () => {
    const plain = await get('/metrics');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await get('/metrics', { 'accept-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/accept-encoding/i);
    expect(gz.headers['content-type']).toContain('text/plain; version=0.0.4');
    const text = gunzipSync(gz.body).toString('utf8');
    expect(gz.body.length).toBeLessThan(Buffer.byteLength(text) / 3);
    // Same collection (cacheFor 2s): the same queue series.
    expect(queueSeries(text)).toEqual(queueSeries(plain.body.toString('utf8')));
    expect(queueSeries(text).get('queue_tasks{framework="list",queue="q-7",state="waiting"}')).toBe(3);
    // The process metrics follow the collection's part inside the same member.
    expect(text).toContain('\nprocess_resident_memory_bytes ');
  });

  it('curl --compressed reads the page (curl refuses multi-member gzip)', async () => {
    const curl = findBinary('curl', 'curl');
    const { stdout } = await run(curl, ['-sS', '--fail', '--compressed', `${base}/metrics`], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toContain('queue_tasks{queue="q-299",framework="list",state="waiting"} 3');
    expect(stdout).toContain('\nredis_up 1\n');
  });

  it('concurrent gzip scrapes of one collection each inflate to a valid page; OpenMetrics ends with # EOF', async () => {
    const om = { 'accept-encoding': 'gzip', accept: 'application/openmetrics-text;version=1.0.0' };
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, () => get('/metrics', { 'accept-encoding': 'gzip' })),
      ...Array.from({ length: 5 }, () => get('/metrics', om)),
    ]);
    for (const [i, a] of answers.entries()) {
      const text = gunzipSync(a.body).toString('utf8');
      expect(queueSeries(text).size).toBeGreaterThanOrEqual(300);
      if (i >= 5) {
        expect(a.headers['content-type']).toContain('application/openmetrics-text');
        expect(text.endsWith('# EOF\n')).toBe(true);
        expect(text.indexOf('# EOF')).toBe(text.length - 6);
      }
    }
  });

  it('compresses the monitor API through @fastify/compress, and not without the header', async () => {
    const gz = await get('/api/monitor', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const json = JSON.parse(gunzipSync(gz.body).toString('utf8')) as { page: { total: number } };
    expect(json.page.total).toBe(300);
    const plain = await get('/api/monitor');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect((JSON.parse(plain.body.toString('utf8')) as { page: { total: number } }).page.total).toBe(300);
    const identity = await get('/metrics', { 'accept-encoding': 'gzip;q=0, identity' });
    expect(identity.headers['content-encoding']).toBeUndefined();
  });
});
