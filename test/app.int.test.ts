/**
 * The whole sidecar through HTTP (Fastify inject) against a real redis-server
 * and a real MariaDB: exposition validity (promtool), formats, scrape deadline,
 * a Redis killed and restarted, MySQL unreachable, config reload.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfigFile } from '../src/config/load.js';
import { findBinary } from './helpers/binaries.js';
import { parseExposition, seriesKey } from './helpers/exposition.js';
import { startMariadb, type MariadbServer } from './helpers/mariadb.js';
import { waitFor } from './helpers/ports.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;
let maria: MariadbServer;
let app: FastifyInstance;
let configPath: string;

function configYaml(redisUrl: string, mysqlUrl: string, extraQueue = ''): string {
  return `
logLevel: silent
scrape:
  timeout: 3s
redis:
  url: ${redisUrl}
  commandTimeout: 1s
  connectTimeout: 500ms
mysql:
  url: ${mysqlUrl}
  timeout: 1s
discover: []
queues:
  - name: exam-tasks
    type: list
    key: task:queue
    details: task:details
    done: task:done
    failed: task:failed
    timeline: task:timeline
    windows: [1m, 1h]
  - name: task_stream
    type: stream
    key: task_stream
    retry: task_stream:retry
    dead: task_stream:dlq
  - name: delayed
    type: zset
    key: jobs:delayed
${extraQueue}
components:
  - name: simulator
    heartbeat: simulator:heartbeat
    total: simulator:written:total
  - name: consumer
    heartbeat: consumer:heartbeat
    total: consumer:processed:total
    lastDuration: consumer:last_duration
    durations: consumer:durations
`;
}

async function seed(): Promise<void> {
  const r = redis.client;
  const now = Math.floor(Date.now() / 1000);
  await r.flushall();
  for (let i = 0; i < 5; i++) {
    await r.hset('task:details', `t${i}`, JSON.stringify({ created_at: now - 100 + i }));
    await r.zadd('task:timeline', now - 100 + i, `t${i}`);
    await r.rpush('task:queue', `t${i}`);
  }
  await r.sadd('task:done', 'a', 'b');
  await r.xadd('task_stream', '*', 'k', 'v');
  await r.xgroup('CREATE', 'task_stream', 'scheduler_group', '0');
  await r.xadd('task_stream', '*', 'k', 'v');
  await r.xreadgroup('GROUP', 'scheduler_group', 'c1', 'COUNT', 1, 'STREAMS', 'task_stream', '>');
  await r.zadd('jobs:delayed', now - 5, 'j1', now + 100, 'j2');
  await r.set('simulator:heartbeat', String(now));
  await r.set('simulator:written:total', '10');
  await r.set('consumer:heartbeat', String(Date.now()));
  await r.set('consumer:processed:total', '7');
  await r.set('consumer:last_duration', '12');
  await r.lpush('consumer:durations', '10', '14');
}

async function metrics(headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string; map: Map<string, number> }> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers });
  const body = res.body;
  return { status: res.statusCode, body, type: String(res.headers['content-type']), map: res.headers['content-type']?.toString().startsWith('text/plain') ? parseExposition(body) : new Map() };
}

beforeAll(async () => {
  [redis, maria] = await Promise.all([startRedis(['--enable-debug-command', 'yes']), startMariadb()]);
  await seed();
  const dir = mkdtempSync(join(tmpdir(), 'qs-app-'));
  configPath = join(dir, 'queuescope.yaml');
  writeFileSync(configPath, configYaml(redis.url, maria.url));
  app = await buildApp(await loadConfigFile(configPath, process.env), {
    log: pino({ level: 'silent' }),
    loadConfig: () => loadConfigFile(configPath, process.env),
  });
});

afterAll(async () => {
  await app?.close();
  await Promise.all([redis?.stop(), maria?.stop()]);
});

describe('/metrics', () => {
  it('serves every family and passes promtool check metrics', async () => {
    const m = await waitFor('redis and mysql up', async () => {
      const r = await metrics();
      return r.map.get('redis_up') === 1 && r.map.get('mysql_up') === 1 ? r : undefined;
    });
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain; version=0.0.4');
    for (const family of [
      'queue_tasks', 'queue_oldest_task_age_seconds', 'queue_enqueued_total', 'queue_processed_total', 'queue_window_tasks',
      'queue_default_backlog_threshold', 'queue_default_latency_threshold_seconds', 'queue_info', 'queue_stream_length', 'queue_stream_group_pending',
      'queue_component_up', 'queue_component_items_total', 'queue_component_recent_duration_seconds', 'mysql_up',
      'mysql_global_status_commands_total', 'mysql_global_variables_max_connections', 'mysql_version_info',
      'queuescope_scrape_collector_success', 'queuescope_scrape_redis_roundtrips', 'queuescope_build_info', 'process_resident_memory_bytes',
    ]) {
      expect(m.body, family).toMatch(new RegExp(`^${family}[{ ]`, 'm'));
    }
    const promtool = findBinary('promtool', 'prometheus');
    // promtool reads the page on stdin and prints lint problems; it exits non-zero on any.
    const out = execFileSync(promtool, ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });

  it('answers OpenMetrics when the Accept header asks', async () => {
    const m = await metrics({ accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' });
    expect(m.type).toContain('application/openmetrics-text');
    expect(m.body.endsWith('# EOF\n')).toBe(true);
    expect(m.body).toMatch(/^# TYPE queue_enqueued counter$/m);
    expect(m.body).toMatch(/^queue_enqueued_total\{queue="exam-tasks",framework="list"\} 5$/m);
    expect(m.body).toMatch(/^# TYPE queue info$/m);
  });

  it('answers within the Prometheus scrape timeout with redis_up 0 when Redis is stuck', async () => {
    const blocker = redis.client.duplicate();
    blocker.on('error', () => {});
    await blocker.ping();
    const sleeping = blocker.call('DEBUG', 'SLEEP', '2.5').catch(() => undefined);
    // The blocker is connected, so DEBUG SLEEP is written before the scrape's pipeline.
    const t0 = Date.now();
    const m = await metrics({ 'x-prometheus-scrape-timeout-seconds': '1' });
    const elapsed = Date.now() - t0;
    await sleeping;
    blocker.disconnect();
    expect(m.status).toBe(200);
    expect(m.map.get('redis_up')).toBe(0);
    expect(elapsed).toBeLessThan(1000);
    // The rules' fallback thresholds are on the page while Redis is down.
    expect(m.map.get(seriesKey('queue_default_backlog_threshold'))).toBe(1000);
    expect(m.map.get(seriesKey('queue_info', { queue: 'exam-tasks', framework: 'list', key: 'task:queue' }))).toBe(1);
    // Redis recovers on its own once it answers again.
    await waitFor('redis_up 1 after the stall', async () => (await metrics()).map.get('redis_up') === 1);
  });

  it('survives Redis being killed and recovers after restart without a sidecar restart', async () => {
    await redis.kill();
    const down = await metrics();
    expect(down.status).toBe(200);
    expect(down.map.get('redis_up')).toBe(0);
    expect(down.map.get(seriesKey('queuescope_scrape_collector_success', { collector: 'list' }))).toBe(0);
    expect(down.map.get('mysql_up')).toBe(1);
    await redis.restart();
    await seed();
    const up = await waitFor('redis_up 1 after restart', async () => {
      const r = await metrics();
      return r.map.get('redis_up') === 1 ? r : undefined;
    }, 20_000);
    expect(up.map.get(seriesKey('queue_tasks', { queue: 'exam-tasks', framework: 'list', state: 'waiting' }))).toBe(5);
  });

  it('reports mysql_up 0 and keeps the Redis metrics when MySQL is unreachable', async () => {
    if (!maria.private) return; // the shared fallback server cannot be killed
    await maria.kill();
    try {
      const m = await metrics();
      expect(m.status).toBe(200);
      expect(m.map.get('mysql_up')).toBe(0);
      expect(m.map.get('redis_up')).toBe(1);
      expect(m.map.get(seriesKey('queue_tasks', { queue: 'exam-tasks', framework: 'list', state: 'waiting' }))).toBe(5);
      expect(m.map.get(seriesKey('queuescope_scrape_collector_success', { collector: 'mysql' }))).toBe(0);
    } finally {
      await maria.restart();
    }
    await waitFor('mysql_up 1 after restart', async () => (await metrics()).map.get('mysql_up') === 1, 30_000);
  });
});

describe('health and reload', () => {
  it('answers liveness and readiness', async () => {
    expect((await app.inject('/-/healthy')).statusCode).toBe(200);
    expect((await app.inject('/-/ready')).statusCode).toBe(200);
  });

  it('refuses an invalid new config and keeps the old one running', async () => {
    writeFileSync(configPath, `${configYaml(redis.url, maria.url)}\nbogus: 1\n`);
    const res = await app.inject({ method: 'POST', url: '/-/reload' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/unknown key "bogus"/);
    const m = await metrics();
    expect(m.map.get('queuescope_config_last_reload_successful')).toBe(0);
    expect(m.map.get(seriesKey('queue_tasks', { queue: 'exam-tasks', framework: 'list', state: 'waiting' }))).toBe(5);
  });

  it('applies a valid new config', async () => {
    await redis.client.rpush('extra:queue', 'x', 'y', 'z');
    expect((await app.inject({ method: 'POST', url: '/alerts/wecom/late', payload: {} })).statusCode).toBe(404);
    const notify = '\nnotify:\n  wecom:\n    late:\n      url: http://127.0.0.1:9/cgi-bin/webhook/send?key=k\n';
    writeFileSync(configPath, configYaml(redis.url, maria.url, '  - { name: extra, type: list, key: "extra:queue" }') + notify);
    const res = await app.inject({ method: 'POST', url: '/-/reload' });
    expect(res.statusCode).toBe(200);
    const m = await waitFor('extra queue', async () => {
      const r = await metrics();
      return r.map.get(seriesKey('queue_tasks', { queue: 'extra', framework: 'list', state: 'waiting' })) === 3 ? r : undefined;
    });
    expect(m.map.get('queuescope_config_last_reload_successful')).toBe(1);
    // The relay knows the new target: an empty body is now a 400 about the payload, not a 404.
    expect((await app.inject({ method: 'POST', url: '/alerts/wecom/late', payload: {} })).statusCode).toBe(400);
  });
});
