/**
 * `redis_up` tells the truth (issue 10 #2): every scrape proves Redis answers
 * with a PING in its first batch, so a scrape with nothing to read yet (the
 * zero-config default against a dead Redis) reports 0, and the replies that
 * mean "not serving" (LOADING, BUSY, MASTERDOWN, max clients) are 0 with the
 * reason logged once. Real faults on a real redis-server: SIGSTOP, kill,
 * a wrong password.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { defaultAnswer, resp, startFakeRedis, type FakeRedis } from '../helpers/fake-redis.js';
import { parseExposition } from '../helpers/exposition.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

/** An app over `config` whose warn+ log lines land in `lines`. */
async function appWith(config: Record<string, unknown>): Promise<{ app: FastifyInstance; lines: string[] }> {
  const lines: string[] = [];
  const log = createLogger('warn', { write: (chunk: string) => void lines.push(chunk) });
  const app = await buildApp(configSchema.parse(config), { log });
  return { app, lines };
}

async function scrape(app: FastifyInstance, timeoutSeconds = '1'): Promise<Map<string, number>> {
  const r = await app.inject({ url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': timeoutSeconds } });
  expect(r.statusCode).toBe(200);
  return parseExposition(r.body);
}

describe('redis_up with nothing to read', () => {
  it('the zero-config sidecar (a real process) reports redis_up 0 against a dead Redis', async () => {
    const [port, dead] = await Promise.all([freePort(), freePort()]);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QUEUESCOPE_')));
    const child = spawn(process.execPath, [CLI], {
      cwd: import.meta.dirname, // no queuescope.yaml here: built-in defaults
      env: { ...clean, QUEUESCOPE_LISTEN: `127.0.0.1:${port}`, QUEUESCOPE_REDIS_URL: `redis://127.0.0.1:${dead}/0`, QUEUESCOPE_LOG_LEVEL: 'error' },
      stdio: 'ignore',
      detached: true,
    });
    try {
      const body = await waitFor('sidecar listening', async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(parseExposition(body).get('redis_up')).toBe(0);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('no queues, no discovery, a dead Redis: redis_up 0; a live one: redis_up 1 from the PING alone', async () => {
    const dead = await freePort();
    const a = await appWith({ discover: [], redis: { url: `redis://127.0.0.1:${dead}/0` } });
    const fake = await startFakeRedis();
    const b = await appWith({ discover: [], redis: { url: fake.url } });
    try {
      expect((await scrape(a.app)).get('redis_up')).toBe(0);
      const m = await scrape(b.app);
      expect(m.get('redis_up')).toBe(1);
      expect(m.get('queuescope_scrape_redis_commands')).toBe(1);
      expect(fake.commands.filter((c) => c[0] === 'PING')).toHaveLength(1);
    } finally {
      await Promise.all([a.app.close(), b.app.close()]);
      await fake.stop();
    }
  });
});

describe('replies that mean Redis is not serving (fake Redis)', () => {
  const cases: Array<[string, string]> = [
    ['LOADING', 'LOADING Redis is loading the dataset in memory'],
    ['BUSY', 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'],
    ['MASTERDOWN', "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."],
    ['max clients', 'ERR max number of clients reached'],
  ];
  let fake: FakeRedis;
  beforeAll(async () => {
    fake = await startFakeRedis();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it.each(cases)('%s -> redis_up 0, the queue collector failed, the reason logged once', async (_name, error) => {
    fake.answer = (c) => (c[0] === 'CLIENT' && !error.includes('max number') ? resp.simple('OK') : resp.error(error));
    const { app, lines } = await appWith({ discover: [], redis: { url: fake.url }, queues: [{ name: 'q', type: 'list', key: 'q' }] });
    try {
      for (let i = 0; i < 3; i++) {
        const m = await scrape(app);
        expect(m.get('redis_up')).toBe(0);
        expect(m.get('queuescope_scrape_collector_success{collector="list"}')).toBe(0);
      }
      const about = lines.filter((l) => l.includes(error.slice(0, 20)) && l.includes('redis_up 0'));
      expect(about).toHaveLength(1);
      // and once Redis serves again: 1, said once
      fake.answer = (c) => defaultAnswer(c, resp.int(7));
      const m = await waitFor('redis_up 1 again', async () => {
        const s = await scrape(app);
        return s.get('redis_up') === 1 ? s : undefined;
      });
      expect(m.get('queue_tasks{framework="list",queue="q",state="waiting"}')).toBe(7);
    } finally {
      await app.close();
    }
  });
});

describe('real faults (redis-server)', () => {
  let redis: RedisServer;
  let locked: RedisServer;
  beforeAll(async () => {
    [redis, locked] = await Promise.all([startRedis(), startRedis()]);
    // from now on `locked` wants a password (the helper's own client stays authenticated)
    await locked.client.config('SET', 'requirepass', 'right-password');
  });
  afterAll(async () => {
    await Promise.allSettled([redis?.stop(), locked?.stop()]);
  });

  it('SIGSTOP: redis_up 0 within the scrape budget; SIGCONT: 1 again', async () => {
    const pid = Number(/process_id:(\d+)/.exec(await redis.client.info('server'))![1]);
    const { app } = await appWith({ discover: [], redis: { url: redis.url }, queues: [{ name: 'q', type: 'list', key: 'q' }] });
    try {
      await waitFor('up', async () => (await scrape(app)).get('redis_up') === 1);
      process.kill(pid, 'SIGSTOP');
      try {
        const t0 = Date.now();
        expect((await scrape(app, '1')).get('redis_up')).toBe(0);
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitFor('up after SIGCONT', async () => (await scrape(app)).get('redis_up') === 1);
    } finally {
      await app.close();
    }
  });

  it('a wrong password: redis_up 0; no password at all: redis_up 0', async () => {
    const wrong = await appWith({ discover: [], redis: { url: locked.url, password: 'wrong-password' } });
    const none = await appWith({ discover: [], redis: { url: locked.url } });
    try {
      expect((await scrape(wrong.app)).get('redis_up')).toBe(0);
      expect((await scrape(none.app)).get('redis_up')).toBe(0);
      for (const l of wrong.lines) expect(l).not.toContain('wrong-password');
    } finally {
      await Promise.all([wrong.app.close(), none.app.close()]);
    }
  });

  it('killed: redis_up 0, and 1 once it is back', async () => {
    const { app } = await appWith({ discover: [], redis: { url: redis.url } });
    try {
      await waitFor('up', async () => (await scrape(app)).get('redis_up') === 1);
      await redis.kill();
      expect((await scrape(app)).get('redis_up')).toBe(0);
      await redis.restart();
      await waitFor('up after restart', async () => (await scrape(app)).get('redis_up') === 1);
    } finally {
      await app.close();
    }
  });
});
