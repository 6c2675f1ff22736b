/**
 * `GET /probe` against two private redis-servers holding different data (one
 * password-protected): each answers its own numbers with a module's settings
 * and credentials from config; URL credentials, unknown modules and targets
 * outside the allow-list are refused; connections are pooled and closed when
 * idle.
 */
import { createServer, type AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { probePlugin } from '../../src/probe/plugin.js';
import { parseExposition, seriesKey } from '../helpers/exposition.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const log = pino({ level: 'silent' });
const PASSWORD = 'probe-secret-7f3a';
const waiting = (queue: string, framework = 'list'): string => seriesKey('queue_tasks', { queue, framework, state: 'waiting' });

let a: RedisServer;
let b: RedisServer;

function config(extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    discover: [],
    scrape: { timeout: '3s' },
    modules: {
      exam: {
        queues: [{ name: 'exam', type: 'list', key: 'task:queue', done: 'task:done' }],
        components: [{ name: 'consumer', heartbeat: 'consumer:heartbeat' }],
      },
      crawler: {
        queues: [{ name: 'crawl', type: 'list', key: 'crawl:queue' }, { name: 'delayed', type: 'zset', key: 'crawl:delayed' }],
        redis: { password: PASSWORD },
        allowTargets: [`127.0.0.1:${b.port}`],
      },
    },
    probe: { allowTargets: ['127.0.0.1:*'] },
    ...extra,
  });
}

async function app(cfg: Config, opts: { idleMs?: number; maxTargets?: number } = {}): Promise<FastifyInstance> {
  const f = Fastify({ logger: false });
  await f.register(probePlugin, { config: cfg, log, ...opts });
  await f.ready();
  return f;
}

function probe(f: FastifyInstance, target: string, module?: string, headers: Record<string, string> = {}) {
  const q = new URLSearchParams({ target, ...(module !== undefined ? { module } : {}) });
  return f.inject({ method: 'GET', url: `/probe?${q}`, headers });
}

/** Sidecar connections (`CLIENT SETNAME queuescope`) on a server. */
async function sidecarClients(r: RedisServer): Promise<number> {
  const list = (await r.client.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => /\bname=queuescope\b/.test(l)).length;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startRedis(), startRedis()]);
  await a.client.rpush('task:queue', 't1', 't2', 't3');
  await a.client.sadd('task:done', 'd1');
  await a.client.set('consumer:heartbeat', String(Math.floor(Date.now() / 1000)));
  await a.client.select(1);
  await a.client.rpush('task:queue', 'x');
  await a.client.select(0);
  const now = Math.floor(Date.now() / 1000);
  await b.client.rpush('crawl:queue', ...Array.from({ length: 42 }, (_, i) => `u${i}`));
  await b.client.zadd('crawl:delayed', now - 5, 'due', now + 500, 'later1', now + 600, 'later2');
  // b requires a password from now on (the helper's client stays authenticated)
  await b.client.config('SET', 'requirepass', PASSWORD);
});

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
});

describe('/probe', () => {
  it('scrapes each target with its module and only its own data', async () => {
    const f = await app(config());
    try {
      const ra = await probe(f, `redis://127.0.0.1:${a.port}/0`, 'exam');
      expect(ra.statusCode).toBe(200);
      expect(ra.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
      const ma = parseExposition(ra.body);
      expect(ma.get('redis_up')).toBe(1);
      expect(ma.get(waiting('exam'))).toBe(3);
      expect(ma.get(seriesKey('queue_processed_total', { queue: 'exam', framework: 'list' }))).toBe(1);
      expect(ma.get(seriesKey('queue_component_up', { component: 'consumer' }))).toBe(1);
      expect(ma.has(waiting('crawl'))).toBe(false);
      // no process metrics of the sidecar itself on a probe
      expect(ra.body).not.toMatch(/^process_|^nodejs_|queuescope_build_info/m);

      // the password-protected server with the module's credentials
      const rb = await probe(f, `redis://127.0.0.1:${b.port}`, 'crawler');
      expect(rb.statusCode).toBe(200);
      const mb = parseExposition(rb.body);
      expect(mb.get('redis_up')).toBe(1);
      expect(mb.get(waiting('crawl'))).toBe(42);
      expect(mb.get(seriesKey('queue_tasks', { queue: 'delayed', framework: 'zset', state: 'waiting' }))).toBe(1);
      expect(mb.get(seriesKey('queue_tasks', { queue: 'delayed', framework: 'zset', state: 'scheduled' }))).toBe(2);
      expect(mb.has(waiting('exam'))).toBe(false);
      expect(rb.body).not.toContain(PASSWORD);

      // the db comes from the target's path
      const r1 = parseExposition((await probe(f, `redis://127.0.0.1:${a.port}/1`, 'exam')).body);
      expect(r1.get(waiting('exam'))).toBe(1);

      // OpenMetrics when asked for
      const om = await probe(f, `redis://127.0.0.1:${a.port}/0`, 'exam', { accept: 'application/openmetrics-text; version=1.0.0' });
      expect(om.headers['content-type']).toMatch(/^application\/openmetrics-text/);
      expect(om.body.endsWith('# EOF\n')).toBe(true);
    } finally {
      await f.close();
    }
  });

  it('answers redis_up 0 (not an error) for a target that is down or refuses the credentials', async () => {
    const f = await app(config());
    try {
      const dead = await freePort();
      const t0 = Date.now();
      const r = await probe(f, `redis://127.0.0.1:${dead}/0`, 'exam', { 'x-prometheus-scrape-timeout-seconds': '1' });
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(r.statusCode).toBe(200);
      expect(parseExposition(r.body).get('redis_up')).toBe(0);
      // module without the password against the protected server
      const noauth = await probe(f, `redis://127.0.0.1:${b.port}/0`, 'exam');
      expect(noauth.statusCode).toBe(200);
      const m = parseExposition(noauth.body);
      expect(m.get('redis_up')).toBe(0);
      expect(m.has(waiting('crawl'))).toBe(false);
    } finally {
      await f.close();
    }
  });

  it('refuses credentials in the URL, bad targets and unknown modules', async () => {
    const f = await app(config());
    try {
      const withCreds = await probe(f, `redis://default:${PASSWORD}@127.0.0.1:${b.port}/0`, 'crawler');
      expect(withCreds.statusCode).toBe(400);
      expect(withCreds.body).toMatch(/credentials/);
      expect(withCreds.body).not.toContain(PASSWORD);
      const viaQuery = await probe(f, `redis://127.0.0.1:${b.port}/0?password=${PASSWORD}`, 'crawler');
      expect(viaQuery.statusCode).toBe(400);
      expect(viaQuery.body).not.toContain(PASSWORD);
      expect((await probe(f, `redis://127.0.0.1:${a.port}/0`, 'nope')).statusCode).toBe(400);
      const noModule = await probe(f, `redis://127.0.0.1:${a.port}/0`);
      expect(noModule.statusCode).toBe(400);
      expect(noModule.body).toMatch(/module parameter is missing \(configured: exam, crawler\)/);
      expect((await f.inject({ method: 'GET', url: '/probe?module=exam' })).statusCode).toBe(400);
      expect((await f.inject({ method: 'GET', url: `/probe?module=exam&target=127.0.0.1:${a.port}&target=127.0.0.1:${b.port}` })).statusCode).toBe(400);
      expect((await probe(f, `http://127.0.0.1:${a.port}/`, 'exam')).statusCode).toBe(400);
      // a module name that is an Object prototype key is just unknown
      expect((await probe(f, `redis://127.0.0.1:${a.port}/0`, 'constructor')).statusCode).toBe(400);
    } finally {
      await f.close();
    }
  });

  it('probes only targets in probe.allowTargets when set', async () => {
    const f = await app(config({ probe: { allowTargets: [`127.0.0.1:${a.port}`, 'redis-*.internal:6379'] } }));
    try {
      expect((await probe(f, `redis://127.0.0.1:${a.port}/0`, 'exam')).statusCode).toBe(200);
      const denied = await probe(f, `redis://127.0.0.1:${b.port}/0`, 'crawler');
      expect(denied.statusCode).toBe(403);
      expect(denied.body).toContain(`127.0.0.1:${b.port}`);
      expect(await sidecarClients(b)).toBe(0);
    } finally {
      await f.close();
    }
  });

  it('refuses before any connection: no allow-list, a glob that would cross a dot, credentials to a target their module does not list (issue 10 #3)', async () => {
    // A socket that only counts who connects: a refused probe must never reach it.
    let accepts = 0;
    const trap = createServer((sock) => {
      accepts++;
      sock.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    const trapPort = (trap.address() as AddressInfo).port;
    const closed = config({ probe: { allowTargets: [] } });
    const narrow = config({ probe: { allowTargets: ['127.0.0.*:*'] } });
    const fs = await Promise.all([app(closed), app(narrow)]);
    try {
      const off = await probe(fs[0]!, `redis://127.0.0.1:${trapPort}/0`, 'exam');
      expect(off.statusCode).toBe(403);
      expect(off.body).toMatch(/probe\.allowTargets/);
      // 127.0.0.* admits 127.0.0.1, never a name that merely starts with it
      expect((await probe(fs[1]!, `redis://127.0.0.1.nip.example:${trapPort}/0`, 'exam')).statusCode).toBe(403);
      // crawler carries a password and lists only b: the password never goes to the trap
      const creds = await probe(fs[1]!, `redis://127.0.0.1:${trapPort}/0`, 'crawler');
      expect(creds.statusCode).toBe(403);
      expect(creds.body).toMatch(/modules\.crawler\.allowTargets/);
      expect(creds.body).not.toContain(PASSWORD);
      expect(accepts).toBe(0);
      // the control: an allowed probe does reach it
      await probe(fs[1]!, `redis://127.0.0.1:${trapPort}/0`, 'exam', { 'x-prometheus-scrape-timeout-seconds': '1' });
      expect(accepts).toBeGreaterThan(0);
    } finally {
      await Promise.all(fs.map((f) => f.close()));
      await new Promise<void>((r) => trap.close(() => r()));
    }
  });

  it('pools one connection per target, shares concurrent probes, and closes idle targets', async () => {
    const f = await app(config(), { idleMs: 300 });
    try {
      const target = `redis://127.0.0.1:${a.port}/0`;
      expect((await probe(f, target, 'exam')).statusCode).toBe(200);
      // what one target costs (the executor's connections: one per server today)
      const perTarget = await sidecarClients(a);
      expect(perTarget).toBeGreaterThanOrEqual(1);
      expect(perTarget).toBeLessThanOrEqual(2);
      const replies = await Promise.all(Array.from({ length: 20 }, () => probe(f, target, 'exam')));
      for (const r of replies) expect(parseExposition(r.body).get(waiting('exam'))).toBe(3);
      for (let i = 0; i < 5; i++) expect((await probe(f, target, 'exam')).statusCode).toBe(200);
      expect(await sidecarClients(a)).toBe(perTarget);
      // idle for longer than idleMs: the connections are closed
      await waitFor('idle probe connection closed', async () => (await sidecarClients(a)) === 0, 5000);
      // and a later probe opens them again
      expect(parseExposition((await probe(f, target, 'exam')).body).get(waiting('exam'))).toBe(3);
      expect(await sidecarClients(a)).toBe(perTarget);
    } finally {
      await f.close();
    }
    // app close closes every pooled connection
    await waitFor('connections closed with the app', async () => (await sidecarClients(a)) === 0, 5000);
  });

  it('keeps at most maxTargets open, making room by closing the least recently used', async () => {
    const f = await app(config(), { maxTargets: 1 });
    try {
      expect((await probe(f, `redis://127.0.0.1:${a.port}/0`, 'exam')).statusCode).toBe(200);
      expect(await sidecarClients(a)).toBeGreaterThan(0);
      expect((await probe(f, `redis://127.0.0.1:${b.port}/0`, 'crawler')).statusCode).toBe(200);
      await waitFor('first target closed', async () => (await sidecarClients(a)) === 0, 5000);
      expect(await sidecarClients(b)).toBeGreaterThan(0);
    } finally {
      await f.close();
    }
  });
});
