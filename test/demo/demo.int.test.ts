/**
 * The demo workload against a private redis-server and MariaDB: every layout
 * it promises gets written, crashes leave pending entries that the retry worker
 * recovers, everything stays bounded, and stop() leaves no connection behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULL, EXAM, MYSQL_TABLE, STREAM, startDemo, type RunningDemo } from '../../src/demo/index.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const KEEP = 300;

describe('queuescope demo', () => {
  let redis: RedisServer;
  let db: MariadbServer;
  let demo: RunningDemo | undefined;

  beforeAll(async () => {
    [redis, db] = await Promise.all([startRedis(), startMariadb()]);
    demo = await startDemo({
      redisUrl: redis.url,
      mysqlUrl: `${db.rootUrl}${db.database}`,
      rate: 100,
      failRatio: 0.2,
      keep: KEEP,
      timing: { crashEveryMs: 1500, restartAfterMs: 300, claimIdleMs: 1000, retryBackoffMs: 100, reapAfterMs: 1500, timelineWindowMs: 3000 },
    });
  });

  afterAll(async () => {
    await demo?.stop();
    await redis?.stop();
    await db?.stop();
  });

  it('runs the exam-scoring list flow with heartbeats, counters, durations and MySQL rows', async () => {
    const c = redis.client;
    await waitFor('consumer successes and failures', async () => Number(await c.get(EXAM.consumerTotal)) > 50 && Number(await c.get(EXAM.consumerFailed)) > 5, 20_000);
    const nowS = Date.now() / 1000;
    for (const key of [EXAM.producerHeartbeat, EXAM.consumerHeartbeat]) {
      const beat = Number(await c.get(key));
      expect(beat, key).toBeGreaterThan(nowS - 5); // unix seconds, not ms
      expect(beat, key).toBeLessThan(nowS + 5);
    }
    expect(Number(await c.get(EXAM.producerTotal))).toBeGreaterThanOrEqual(Number(await c.get(EXAM.consumerTotal)));
    const durations = await c.lrange(EXAM.consumerDurations, 0, -1);
    expect(durations.length).toBe(20);
    for (const d of durations) expect(Number.isInteger(Number(d)) && Number(d) >= 0 && Number(d) < 5000).toBe(true);
    expect(Number(await c.get(EXAM.consumerLastDuration))).toBeGreaterThanOrEqual(0);

    const [doneId] = await c.srandmember(EXAM.done, 1);
    expect(doneId).toMatch(/^task_\d+$/);
    const newestId = `task_${await c.get(EXAM.producerTotal)}`;
    const body = JSON.parse((await c.hget(EXAM.details, newestId)) ?? 'null') as Record<string, unknown>;
    expect(body).toMatchObject({ exam_id: expect.any(Number), user_id: expect.any(Number), score: expect.any(Number) });
    expect(Math.abs(Number(body.created_at) - nowS)).toBeLessThan(10);
    expect(Math.abs(Number(await c.zscore(EXAM.timeline, newestId)) - nowS)).toBeLessThan(10);
    expect(await c.scard(EXAM.failed)).toBeGreaterThan(0);

    const rows = await waitFor('scores in MySQL', async () => {
      const r = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.database}.${MYSQL_TABLE}`);
      return Number(r[0]?.n) > 20 ? r : undefined;
    });
    expect(Number(rows[0]?.n)).toBeGreaterThan(20);
  });

  it('keeps what it writes bounded', async () => {
    const c = redis.client;
    await waitFor('more than keep tasks written', async () => Number(await c.get(EXAM.producerTotal)) > KEEP * 2, 20_000);
    // task n deletes task n-keep from details / done / failed as it is written
    expect(await c.hlen(EXAM.details)).toBeLessThanOrEqual(KEEP + 100);
    expect((await c.scard(EXAM.done)) + (await c.scard(EXAM.failed))).toBeLessThanOrEqual(KEEP + 100);
    // the timeline keeps a 3 s window (timelineWindowMs)
    await waitFor('timeline trimmed to its window', async () => (await c.zcount(EXAM.timeline, '-inf', Math.floor(Date.now() / 1000) - 5)) === 0);
    // MAXLEN ~ trims in whole macro nodes (100 entries by default), hence the margin
    expect(await c.xlen(STREAM.stream)).toBeLessThanOrEqual(KEEP + 200);
    expect(await c.llen(EXAM.consumerDurations)).toBeLessThanOrEqual(20);
  });

  it('runs the stream flow: XACKs, crashes that leave a PEL, retries, dead letters, reaped consumers', async () => {
    const c = redis.client;
    await waitFor('a crash leaving entries pending', async () => {
      const summary = (await c.xpending(STREAM.stream, STREAM.group)) as [number, ...unknown[]];
      return summary[0] > 0;
    });
    await waitFor('entries in the retry stream', async () => (await c.xlen(STREAM.retry)) > 0);
    await waitFor('dead letters', async () => (await c.xlen(STREAM.dead)) > 0, 20_000);
    const [dead] = await c.xrange(STREAM.dead, '-', '+', 'COUNT', 1);
    expect(dead?.[1]).toContain('attempt');
    await waitFor('the retry worker claiming abandoned entries', async () => Number(await c.get(STREAM.retryTotal)) > 0);
    expect(Number(await c.get(STREAM.retryHeartbeat))).toBeGreaterThan(Date.now() / 1000 - 5);

    // A crashed consumer's name disappears from the group once its entries were claimed.
    const names = async (): Promise<string[]> =>
      ((await c.xinfo('CONSUMERS', STREAM.stream, STREAM.group)) as unknown[][]).map((entry) => String(entry[1]));
    const crashedEarly = (await names()).filter((n) => n.startsWith('worker-'));
    await waitFor('a dead consumer reaped', async () => {
      const now = await names();
      return crashedEarly.some((n) => !now.includes(n));
    }, 20_000);
    const groups = (await c.xinfo('GROUPS', STREAM.stream)) as unknown[][];
    const group = groups[0] ?? [];
    expect(group[group.indexOf('entries-read') + 1]).toBeGreaterThan(0);
  });

  it('drives a real BullMQ queue with completed, failed, delayed jobs and worker metrics', async () => {
    const c = redis.client;
    const k = (s: string): string => `${BULL.prefix}:${BULL.queue}:${s}`;
    await waitFor('completed BullMQ jobs', async () => (await c.zcard(k('completed'))) > 0);
    await waitFor('delayed BullMQ jobs', async () => (await c.zcard(k('delayed'))) > 0);
    await waitFor('failed BullMQ jobs', async () => (await c.zcard(k('failed'))) > 0, 20_000);
    expect(Number(await c.hget(k('metrics:completed'), 'count'))).toBeGreaterThan(0);
    expect(await c.exists(k('meta'))).toBe(1);
  });

  it('stop() ends every loop and closes every connection it opened', async () => {
    await demo?.stop();
    await demo?.stop(); // idempotent
    demo = undefined;
    const clients = await waitFor('demo connections closed', async () => {
      const list = (await redis.client.client('LIST')) as string;
      const n = list.trim().split('\n').length;
      return n === 1 ? n : undefined;
    }, 10_000);
    // Only the test's own client is left, so nothing of the demo can write any more.
    expect(clients).toBe(1);
  });
});
