/**
 * Redis Sentinel against a real deployment started here (1 master, 1 replica,
 * 3 sentinels, passwords on both): scrapes find the master through the
 * sentinels, keep answering through a forced failover (`SENTINEL FAILOVER`)
 * without a restart, never report a wrong number, and follow the new master.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/collect/exposition.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { Runtime } from '../../src/runtime.js';
import { parseExposition, seriesKey } from '../helpers/exposition.js';
import { waitFor } from '../helpers/ports.js';
import { startSentinelSetup, type SentinelSetup } from '../helpers/redis-sentinel.js';

const log = pino({ level: 'silent' });
const waiting = seriesKey('queue_tasks', { queue: 'exam', framework: 'list', state: 'waiting' });
const processed = seriesKey('queue_processed_total', { queue: 'exam', framework: 'list' });

let setup: SentinelSetup;

function configFor(s: SentinelSetup, extra: { sentinelPassword?: string; db?: number; key?: string } = {}): Config {
  return configSchema.parse({
    redis: {
      password: s.dataPassword,
      connectTimeout: '500ms',
      sentinel: {
        masterName: s.masterName,
        nodes: s.sentinels.map((x) => x.address),
        password: extra.sentinelPassword ?? s.sentinelPassword,
        ...(extra.db !== undefined ? { db: extra.db } : {}),
      },
    },
    discover: [],
    queues: [{ name: 'exam', type: 'list', key: extra.key ?? 'task:queue', done: 'task:done' }],
  });
}

async function scrape(rt: Runtime, budgetMs = 2000): Promise<Map<string, number>> {
  const c = await rt.engine.collect(Date.now() + budgetMs);
  return parseExposition(render(c.families.values(), 'text'));
}

beforeAll(async () => {
  setup = await startSentinelSetup();
  const m = (await setup.master()).client;
  for (let i = 0; i < 10; i++) await m.rpush('task:queue', `t${i}`);
  await m.sadd('task:done', 'd1', 'd2', 'd3');
  await m.select(2);
  await m.rpush('db2:queue', 'x', 'y');
  await m.select(0);
}, 60_000);

afterAll(async () => {
  await setup?.stop();
});

describe('sentinel', () => {
  it('finds the master through password-protected sentinels and reads the configured db', async () => {
    const rt = new Runtime(configFor(setup), log);
    const db2 = new Runtime(configFor(setup, { db: 2, key: 'db2:queue' }), log);
    try {
      const m = await waitFor('first scrape', async () => {
        const s = await scrape(rt);
        return s.get('redis_up') === 1 ? s : undefined;
      });
      expect(m.get(waiting)).toBe(10);
      expect(m.get(processed)).toBe(3);
      await waitFor('db 2 scrape', async () => (await scrape(db2)).get(waiting) === 2);
      // the sidecar's connection is on the master the sentinels name
      const clients = (await (await setup.master()).client.call('CLIENT', 'LIST')) as string;
      expect(clients).toMatch(/name=queuescope\b/);
    } finally {
      await Promise.all([rt.close(), db2.close()]);
    }
  });

  it('answers redis_up 0 without leaking the password when the sentinel password is wrong', async () => {
    const wrong = 'wrong-sentinel-pass-123';
    const rt = new Runtime(configFor(setup, { sentinelPassword: wrong }), log);
    try {
      const t0 = Date.now();
      const c = await rt.engine.collect(Date.now() + 1000);
      expect(Date.now() - t0).toBeLessThan(1500);
      const m = parseExposition(render(c.families.values(), 'text'));
      expect(m.get('redis_up')).toBe(0);
      const failures = [...c.collectors.values()].flatMap((s) => s.failures).join(' ');
      expect(failures).not.toContain(wrong);
      expect(failures).not.toContain(setup.dataPassword);
    } finally {
      await rt.close();
    }
  });

  it('follows a forced failover during scrapes without a restart and never reports a wrong number', async () => {
    const rt = new Runtime(configFor(setup), log);
    try {
      await waitFor('scrape up', async () => (await scrape(rt)).get('redis_up') === 1);
      const old = await setup.master();

      // scrape continuously while the failover runs
      const seen: { up: number; waiting: number | undefined }[] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const m = await scrape(rt, 500);
          seen.push({ up: m.get('redis_up')!, waiting: m.get(waiting) });
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const next = await setup.failover();
      expect(next).not.toBe(old);
      // new work lands on the new master; the scrapes must show it without a restart
      await next.client.rpush('task:queue', 't10');
      await waitFor('the new task seen', () => seen.at(-1)?.up === 1 && seen.at(-1)?.waiting === 11, 20_000);
      // with the old master gone, scrapes still succeed: they read the new master
      await old.kill();
      const settled = await waitFor('up after the old master died', async () => {
        const m = await scrape(rt);
        return m.get('redis_up') === 1 ? m : undefined;
      }, 10_000);
      stop = true;
      await loop;
      expect(settled.get(waiting)).toBe(11);
      expect(settled.get(processed)).toBe(3);
      expect((await next.client.call('CLIENT', 'LIST')) as string).toMatch(/name=queuescope\b/);

      // every scrape was either honest "down" (no queue numbers) or up with a right number
      expect(seen.length).toBeGreaterThan(5);
      for (const s of seen) {
        if (s.up === 1) expect([10, 11]).toContain(s.waiting);
        else expect(s.waiting).toBeUndefined();
      }
      // numbers never go back once the new task was seen
      const firstNew = seen.findIndex((s) => s.waiting === 11);
      for (const s of seen.slice(firstNew)) if (s.up === 1) expect(s.waiting).toBe(11);
    } finally {
      await rt.close();
    }
  });
});
