/**
 * Redis Cluster against a real 3-master cluster started here: queues of
 * several frameworks spread over the nodes, the same config scraped from a
 * single redis-server holding the same data, numbers checked on the node that
 * owns each key, one pipeline per master, and resharding (by hand, step by
 * step, and with `redis-cli --cluster reshard`) while scrapes run.
 */
import { spawn } from 'node:child_process';
import type { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/collect/exposition.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ClusterExecutor } from '../../src/redis/cluster.js';
import { keySlot } from '../../src/redis/slot.js';
import { Runtime } from '../../src/runtime.js';
import { findBinary } from '../helpers/binaries.js';
import { parseExposition, seriesKey } from '../helpers/exposition.js';
import { waitFor } from '../helpers/ports.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const log = pino({ level: 'silent' });
const NOW_S = Math.floor(Date.now() / 1000);
const CELERY_P3 = 'celery\x06\x163';

/** A list queue seeded with `n` tasks. */
interface SeededList {
  name: string;
  key: string;
  framework: string;
  n: number;
  processed?: string;
  failed?: string;
}

/** List queues as the frameworks lay them out (frameworks.md), declared by key. */
const LISTS: SeededList[] = [
  // asynq: hash-tagged, one slot per queue
  { name: 'asynq-critical', key: 'asynq:{critical}:pending', framework: 'asynq', n: 7, processed: 'asynq:{critical}:processed', failed: 'asynq:{critical}:failed' },
  { name: 'asynq-default', key: 'asynq:{default}:pending', framework: 'asynq', n: 4, processed: 'asynq:{default}:processed', failed: 'asynq:{default}:failed' },
  // BullMQ with a hash-tag prefix
  { name: 'bull-emails', key: '{bull}:emails:wait', framework: 'bullmq', n: 5 },
  { name: 'bull-reports', key: '{bull}:reports:wait', framework: 'bullmq', n: 2 },
  // Sidekiq, RQ and Celery: no hash tags, keys spread
  { name: 'sidekiq-default', key: 'queue:default', framework: 'sidekiq', n: 9, processed: 'stat:processed', failed: 'stat:failed' },
  { name: 'sidekiq-mailers', key: 'queue:mailers', framework: 'sidekiq', n: 3 },
  { name: 'sidekiq-low', key: 'queue:low', framework: 'sidekiq', n: 11 },
  { name: 'rq-default', key: 'rq:queue:default', framework: 'rq', n: 6 },
  { name: 'rq-high', key: 'rq:queue:high', framework: 'rq', n: 1 },
  { name: 'celery', key: 'celery', framework: 'celery', n: 8 },
  { name: 'celery-p3', key: CELERY_P3, framework: 'celery', n: 2 },
];
/** Extra Sidekiq queues so a large reshard surely moves some keys. */
const MANY: SeededList[] = Array.from({ length: 24 }, (_, i) => ({ name: `sq${i}`, key: `queue:sq${i}`, framework: 'sidekiq', n: (i % 5) + 1 }));

function configFor(redis: Record<string, unknown>, lists: SeededList[] = [...LISTS, ...MANY]): Config {
  return configSchema.parse({
    redis,
    discover: [],
    scrape: { timeout: '5s' },
    queues: [
      ...lists.map((l) => ({
        name: l.name,
        type: 'list',
        key: l.key,
        oldestAt: 'tail',
        ...(l.processed ? { processedCounter: l.processed } : {}),
        ...(l.failed ? { failedCounter: l.failed } : {}),
      })),
      // the team's own list with companions (keys on different nodes; a dependent second batch)
      { name: 'exam-tasks', type: 'list', key: 'task:queue', details: 'task:details', done: 'task:done', failed: 'task:failed', timeline: 'task:timeline', windows: ['1m', '1h'] },
      { name: 'sidekiq-schedule', type: 'zset', key: 'schedule' },
      { name: 'asynq-default-scheduled', type: 'zset', key: 'asynq:{default}:scheduled' },
      { name: 'task_stream', type: 'stream', key: 'task_stream', retry: 'task_stream:retry', dead: 'task_stream:dlq' },
    ],
    components: [{ name: 'worker', heartbeat: 'worker:heartbeat', total: 'worker:total' }],
  });
}

/** Writes the same data into a single node or a cluster (single-key commands only). */
async function seed(r: Redis | Cluster): Promise<void> {
  for (const l of [...LISTS, ...MANY]) {
    for (let i = 0; i < l.n; i++) await r.lpush(l.key, JSON.stringify({ id: `${l.name}-${i}`, created_at: NOW_S - 100 + i }));
  }
  await r.set('asynq:{critical}:processed', '120');
  await r.set('asynq:{critical}:failed', '7');
  await r.set('asynq:{default}:processed', '40');
  await r.set('asynq:{default}:failed', '1');
  await r.set('stat:processed', '5000');
  await r.set('stat:failed', '12');
  for (let i = 0; i < 12; i++) {
    const id = `t${i}`;
    await r.hset('task:details', id, JSON.stringify({ created_at: NOW_S - 1800 + i * 60 }));
    await r.zadd('task:timeline', NOW_S - 1800 + i * 60, id);
    if (i < 5) await r.sadd('task:done', id);
    else if (i < 7) await r.sadd('task:failed', id);
    else await r.rpush('task:queue', id);
  }
  await r.zadd('schedule', NOW_S - 10, 'a', NOW_S + 100, 'b', NOW_S + 200, 'c');
  await r.zadd('asynq:{default}:scheduled', NOW_S + 50, 'x', NOW_S + 60, 'y');
  for (let i = 0; i < 6; i++) await r.xadd('task_stream', `${(NOW_S - 60 + i) * 1000}-0`, 'n', String(i));
  await r.xgroup('CREATE', 'task_stream', 'workers', '0');
  await r.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 2, 'STREAMS', 'task_stream', '>');
  await r.xadd('task_stream:retry', '*', 'n', 'r');
  await r.xadd('task_stream:dlq', '*', 'n', 'd');
  await r.set('worker:heartbeat', String(NOW_S));
  await r.set('worker:total', '777');
}

async function scrape(rt: Runtime): Promise<Map<string, number>> {
  const c = await rt.engine.collect(Date.now() + 5000);
  return parseExposition(render(c.families.values(), 'text'));
}

const waiting = (name: string): string => seriesKey('queue_tasks', { queue: name, framework: 'list', state: 'waiting' });

/** The values of every seeded list queue, read with LLEN on the node that owns the key. */
async function expectedFromOwners(cluster: RedisClusterHandle, lists = [...LISTS, ...MANY]): Promise<Map<string, { value: number; node: number }>> {
  const out = new Map<string, { value: number; node: number }>();
  for (const l of lists) {
    const owner = await cluster.ownerOf(l.key);
    out.set(l.name, { value: await owner.client.llen(l.key), node: owner.port });
  }
  return out;
}

let cluster: RedisClusterHandle;
let single: RedisServer;

beforeAll(async () => {
  [cluster, single] = await Promise.all([startRedisCluster(3), startRedis()]);
  await Promise.all([seed(cluster.client), seed(single.client)]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([cluster?.stop(), single?.stop()]);
});

describe('hash slots', () => {
  it('match CLUSTER KEYSLOT for plain, hash-tagged and odd keys', async () => {
    const keys = ['foo', 'queue:default', 'asynq:{critical}:pending', '{bull}:emails:wait', 'foo{}{bar}', 'foo{{bar}}zap', '{}', 'a{b', CELERY_P3, '日本語'];
    for (const k of keys) expect(keySlot(k), k).toBe(await cluster.keySlot(k));
  });
});

describe('cluster executor', () => {
  let rt: Runtime;
  let singleRt: Runtime;
  beforeAll(async () => {
    rt = new Runtime(configFor({ cluster: { nodes: [cluster.seeds[0]] } }), log);
    singleRt = new Runtime(configFor({ url: single.url }), log);
    await waitFor('cluster scrape up', async () => (await scrape(rt)).get('redis_up') === 1);
  });
  afterAll(async () => {
    await Promise.allSettled([rt?.close(), singleRt?.close()]);
  });

  it('spreads the queues over all three masters and reads each from its owner', async () => {
    const expected = await expectedFromOwners(cluster);
    // the layout really is spread: every master owns some queue, hash-tagged keys share a node
    expect(new Set([...expected.values()].map((e) => e.node)).size).toBe(3);
    expect((await cluster.ownerOf('asynq:{critical}:pending')).port).toBe((await cluster.ownerOf('asynq:{critical}:processed')).port);
    const m = await scrape(rt);
    expect(m.get('redis_up')).toBe(1);
    for (const [name, e] of expected) expect(m.get(waiting(name)), name).toBe(e.value);
    // the other masters do not serve the key (they redirect): the numbers came from the owner
    for (const l of LISTS) {
      const owner = await cluster.ownerOf(l.key);
      for (const n of cluster.nodes) if (n !== owner) await expect(n.client.llen(l.key)).rejects.toThrow(/^MOVED /);
    }
    expect(m.get(seriesKey('queue_processed_total', { queue: 'asynq-critical', framework: 'list' }))).toBe(127);
    expect(m.get(seriesKey('queue_failed_total', { queue: 'sidekiq-default', framework: 'list' }))).toBe(12);
    for (const c of ['list', 'stream', 'zset', 'components']) expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: c })), c).toBe(1);
  });

  it('gives exactly the numbers the same config gives on a single redis-server', async () => {
    const [fromCluster, fromSingle] = await Promise.all([scrape(rt), scrape(singleRt)]);
    const strip = (m: Map<string, number>) =>
      new Map([...m].filter(([k]) => !/^queuescope_scrape_(redis_roundtrips|collector_duration_seconds)|_age_seconds|idle_seconds/.test(k)));
    const a = strip(fromCluster);
    const b = strip(fromSingle);
    expect(a.size).toBeGreaterThan(60);
    expect(Object.fromEntries(a)).toEqual(Object.fromEntries(b));
  });

  it('sends one pipeline per master touched per batch', async () => {
    const m = await scrape(rt);
    // second batch: HGET task:details (list head) and the stream group reads of task_stream
    const second = new Set([(await cluster.ownerOf('task:details')).port, (await cluster.ownerOf('task_stream')).port]);
    expect(m.get('queuescope_scrape_redis_roundtrips')).toBe(3 + second.size);
    expect((await scrape(singleRt)).get('queuescope_scrape_redis_roundtrips')).toBe(2);

    // a config touching only one hash tag touches one master: one round trip
    const tagged = new Runtime(
      configSchema.parse({
        redis: { cluster: { nodes: cluster.seeds } },
        discover: [],
        queues: [{ type: 'list', key: 'asynq:{critical}:pending', processedCounter: 'asynq:{critical}:processed', failedCounter: 'asynq:{critical}:failed' }],
      }),
      log,
    );
    try {
      const t = await waitFor('tagged scrape', async () => {
        const s = await scrape(tagged);
        return s.get('redis_up') === 1 ? s : undefined;
      });
      expect(t.get('queuescope_scrape_redis_roundtrips')).toBe(1);
      expect(t.get('queuescope_scrape_redis_commands')).toBe(5); // the queue's four and the PING every first batch starts with, on the same master
    } finally {
      await tagged.close();
    }
  });

  it('SCANs every master for discovery', async () => {
    const found = new Set<string>();
    await rt.executor.scanKeys({ match: 'queue:*', count: 100 }, (keys) => {
      for (const k of keys) found.add(k);
    });
    const want = [...LISTS, ...MANY].filter((l) => l.key.startsWith('queue:')).map((l) => l.key);
    expect([...found].sort()).toEqual(want.sort());
    const streams: string[] = [];
    await rt.executor.scanKeys({ match: '*', count: 100, type: 'stream' }, (keys) => void streams.push(...keys));
    expect(streams.sort()).toEqual(['task_stream', 'task_stream:dlq', 'task_stream:retry']);
  });

  it('refuses anything but read-only commands', async () => {
    await expect(rt.executor.exec([{ command: ['DEL', 'queue:default'], routingKey: 'queue:default' }], Date.now() + 1000)).rejects.toThrow(/only reads/);
    expect(await cluster.client.llen('queue:default')).toBe(9);
  });
});

/** Framework layouts as the frameworks write them (frameworks.md), single-key commands only. */
async function seedFrameworks(r: Redis | Cluster): Promise<void> {
  const nowMs = Date.now();
  // asynq: registry set, hash-tagged per-queue keys
  for (const [q, pending] of [['mail', 3], ['bulk', 5]] as const) {
    await r.sadd('asynq:queues', q);
    for (let i = 0; i < pending; i++) await r.lpush(`asynq:{${q}}:pending`, `${q}-${i}`);
    await r.lpush(`asynq:{${q}}:active`, `${q}-a`);
    await r.zadd(`asynq:{${q}}:scheduled`, Math.floor(nowMs / 1000) + 60, `${q}-s`);
    await r.zadd(`asynq:{${q}}:retry`, Math.floor(nowMs / 1000) + 30, `${q}-r1`, Math.floor(nowMs / 1000) + 40, `${q}-r2`);
    await r.set(`asynq:{${q}}:processed`, '100');
    await r.set(`asynq:{${q}}:failed`, '4');
  }
  // BullMQ with a hash-tag prefix: every key of a queue in one slot
  for (const [q, wait] of [['emails', 4], ['reports', 2]] as const) {
    await r.hset(`{bull}:${q}:meta`, 'opts.maxLenEvents', '10000');
    await r.set(`{bull}:${q}:id`, String(wait + 3));
    for (let i = 0; i < wait; i++) {
      await r.lpush(`{bull}:${q}:wait`, String(i + 1));
      await r.hset(`{bull}:${q}:${i + 1}`, 'name', 'job', 'timestamp', String(nowMs - 1000 * (i + 1)), 'data', '{}');
    }
    await r.zadd(`{bull}:${q}:delayed`, nowMs + 60_000, 'd1');
    await r.zadd(`{bull}:${q}:failed`, nowMs - 500, 'f1');
  }
  // Sidekiq: queues set, queue:<q> lists, global sets and counters (keys spread)
  for (const [q, n] of [['default', 6], ['mailers', 2], ['low', 9]] as const) {
    await r.sadd('queues', q);
    for (let i = 0; i < n; i++) await r.lpush(`queue:${q}`, JSON.stringify({ jid: `${q}${i}`, class: 'Job', enqueued_at: nowMs / 1000 - 10 }));
  }
  await r.zadd('schedule', nowMs / 1000 + 100, '{"jid":"s1"}');
  await r.zadd('retry', nowMs / 1000 + 100, '{"jid":"r1"}', nowMs / 1000 + 200, '{"jid":"r2"}');
  await r.set('stat:processed', '900');
  await r.set('stat:failed', '9');
  // RQ: rq:queues set of queue keys
  for (const [q, n] of [['default', 3], ['high', 1]] as const) {
    await r.sadd('rq:queues', `rq:queue:${q}`);
    for (let i = 0; i < n; i++) await r.rpush(`rq:queue:${q}`, `${q}${i}`);
    await r.zadd(`rq:finished:${q}`, nowMs / 1000 + 500, `${q}-done`);
  }
  // Celery: base list and a priority sub-list
  for (let i = 0; i < 4; i++) await r.lpush('celery', `c${i}`);
  await r.lpush(CELERY_P3, 'p3');
}

describe('framework discovery on the cluster', () => {
  it('finds every framework over all masters and reports what a single server reports', async () => {
    // the single server gets everything the cluster holds (this file's seed too)
    const fw = await startRedis();
    await seed(fw.client);
    await seedFrameworks(fw.client);
    await seedFrameworks(cluster.client);
    const discover = [
      { framework: 'asynq' },
      { framework: 'bullmq', prefix: '{bull}' },
      { framework: 'sidekiq' },
      { framework: 'rq' },
      { framework: 'celery', queues: ['celery'] },
    ];
    const cfg = (redis: Record<string, unknown>): Config => configSchema.parse({ redis, discover, scrape: { timeout: '5s' } });
    const onCluster = new Runtime(cfg({ cluster: { nodes: cluster.seeds } }), log);
    const onSingle = new Runtime(cfg({ url: fw.url }), log);
    onCluster.start();
    onSingle.start();
    try {
      const found = (m: Map<string, number>, framework: string) => m.get(seriesKey('queuescope_discovered_queues', { framework }));
      const ready = async (rt: Runtime) =>
        waitFor('discovery found every framework', async () => {
          const m = await scrape(rt);
          return m.get('redis_up') === 1 && ['asynq', 'bullmq', 'sidekiq', 'rq', 'celery'].every((f) => (found(m, f) ?? 0) > 0) ? m : undefined;
        });
      const [c, s] = await Promise.all([ready(onCluster), ready(onSingle)]);
      // the framework keys really are spread over the masters
      const owners = new Set<number>();
      for (const k of ['asynq:queues', 'queues', 'rq:queues', 'queue:default', 'queue:mailers', 'queue:low', 'rq:queue:default', 'celery', '{bull}:emails:wait', 'asynq:{bulk}:pending']) {
        owners.add((await cluster.ownerOf(k)).port);
      }
      expect(owners.size).toBe(3);
      // numbers checked on the owning node
      for (const [key, series] of [
        ['queue:low', seriesKey('queue_tasks', { queue: 'low', framework: 'sidekiq', state: 'waiting' })],
        ['rq:queue:default', seriesKey('queue_tasks', { queue: 'default', framework: 'rq', state: 'waiting' })],
        ['{bull}:emails:wait', seriesKey('queue_tasks', { queue: 'emails', framework: 'bullmq', state: 'waiting' })],
        ['asynq:{bulk}:pending', seriesKey('queue_tasks', { queue: 'bulk', framework: 'asynq', state: 'waiting' })],
      ] as const) {
        const owner = await cluster.ownerOf(key);
        expect(c.get(series), series).toBe(await owner.client.llen(key));
      }
      const strip = (m: Map<string, number>) =>
        Object.fromEntries([...m].filter(([k]) => !/^queuescope_(scrape_(redis_roundtrips|collector_duration_seconds)|discovery_duration_seconds)|_age_seconds/.test(k)));
      expect(strip(c)).toEqual(strip(s));
    } finally {
      await Promise.allSettled([onCluster.close(), onSingle.close(), fw.stop()]);
    }
  });
});

describe('resharding during scrapes', () => {
  it('follows ASK while a slot migrates and MOVED after it, with the right numbers throughout', async () => {
    const rt = new Runtime(configFor({ cluster: { nodes: cluster.seeds } }), log);
    const exec = rt.executor as ClusterExecutor;
    try {
      await waitFor('cluster scrape up', async () => (await scrape(rt)).get('redis_up') === 1);
      const baseline = (await scrape(rt)).get('queuescope_scrape_redis_roundtrips')!;
      const slot = await cluster.keySlot('asynq:{critical}:pending');
      const from = await cluster.ownerOfSlot(slot);
      const to = cluster.nodes.find((n) => n !== from && n.port !== 0)!;
      const check = (m: Map<string, number>, when: string): void => {
        expect(m.get('redis_up'), when).toBe(1);
        expect(m.get(waiting('asynq-critical')), when).toBe(7);
        expect(m.get(seriesKey('queue_processed_total', { queue: 'asynq-critical', framework: 'list' })), when).toBe(127);
        expect(m.get(seriesKey('queue_failed_total', { queue: 'asynq-critical', framework: 'list' })), when).toBe(7);
        expect(m.get(seriesKey('queuescope_scrape_collector_success', { collector: 'list' })), when).toBe(1);
      };
      const roundtrips: number[] = [];
      await cluster.migrateSlot(slot, to, {
        between: async (moved) => {
          const m = await scrape(rt);
          check(m, `after ${moved} keys moved`);
          roundtrips.push(m.get('queuescope_scrape_redis_roundtrips')!);
        },
      });
      // keys that had left the source were asked of the target (ASKING + command, one extra pipeline)
      expect(exec.stats.ask).toBeGreaterThan(0);
      expect(roundtrips[0]).toBe(baseline);
      expect(roundtrips.at(-1)).toBe(baseline + 1);
      // the slot map is now stale: the old owner answers MOVED, the command is sent to the new one
      const movedBefore = exec.stats.moved;
      const after = await scrape(rt);
      check(after, 'after SETSLOT NODE');
      expect(exec.stats.moved).toBeGreaterThan(movedBefore);
      // the MOVED answer re-routes the slot at once and the slot map refresh follows
      await waitFor('slot map refreshed', () => exec.ownerOf(slot) === to.address);
      const settled = await scrape(rt);
      check(settled, 'after the refresh');
      expect(settled.get('queuescope_scrape_redis_roundtrips')).toBe(baseline);
      expect(exec.stats.unresolved).toBe(0);
    } finally {
      await rt.close();
    }
  });

  it('keeps every number right while redis-cli --cluster reshard moves thousands of slots', async () => {
    const rt = new Runtime(configFor({ cluster: { nodes: cluster.seeds } }), log);
    const exec = rt.executor as ClusterExecutor;
    try {
      await waitFor('cluster scrape up', async () => (await scrape(rt)).get('redis_up') === 1);
      const before = await expectedFromOwners(cluster);
      // move 4000 slots from the node holding the most queues to another one
      const counts = new Map<number, number>();
      for (const e of before.values()) counts.set(e.node, (counts.get(e.node) ?? 0) + 1);
      const fromPort = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const from = cluster.nodes.find((n) => n.port === fromPort)!;
      const to = cluster.nodes.find((n) => n !== from)!;
      const cli = findBinary('redis-cli', 'redis-tools');
      const reshard = spawn(
        cli,
        ['--cluster', 'reshard', from.address, '--cluster-from', from.id, '--cluster-to', to.id, '--cluster-slots', '4000', '--cluster-yes', '--cluster-pipeline', '2'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      reshard.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = new Promise<number>((resolve) => reshard.once('exit', (code) => resolve(code ?? -1)));
      let finished = false;
      void done.then(() => (finished = true));

      let scrapes = 0;
      let complete = 0;
      while (!finished || scrapes < 3) {
        const m = await scrape(rt);
        scrapes++;
        // a value may be missing (its collector then says so), never wrong
        for (const [name, e] of before) {
          const v = m.get(waiting(name));
          if (v !== undefined) expect(v, `${name} during reshard (scrape ${scrapes})`).toBe(e.value);
        }
        if (m.get('redis_up') === 1 && [...before.keys()].every((name) => m.get(waiting(name)) !== undefined)) complete++;
      }
      expect(await done, stderr).toBe(0);
      expect(scrapes).toBeGreaterThan(10);
      expect(complete).toBeGreaterThan(0);
      // some queues changed node; after the refresh every number is read from its new owner
      const after = await expectedFromOwners(cluster);
      expect([...after].filter(([name, e]) => e.node !== before.get(name)!.node).length).toBeGreaterThan(0);
      await waitFor('every queue read again', async () => {
        const m = await scrape(rt);
        return m.get('redis_up') === 1 && [...after].every(([name, e]) => m.get(waiting(name)) === e.value);
      });
      expect(exec.stats.moved + exec.stats.ask).toBeGreaterThan(0);
    } finally {
      await rt.close();
    }
  });
});

describe('a lost master', () => {
  it('answers redis_up 0 within the deadline, names the node, and heals when it returns', async () => {
    const rt = new Runtime(configFor({ cluster: { nodes: cluster.seeds } }), log);
    try {
      await waitFor('cluster scrape up', async () => (await scrape(rt)).get('redis_up') === 1);
      const victim = cluster.nodes[2]!;
      await victim.server.kill();
      const t0 = Date.now();
      const c = await rt.engine.collect(Date.now() + 1500);
      expect(Date.now() - t0).toBeLessThan(2500);
      const m = parseExposition(render(c.families.values(), 'text'));
      expect(m.get('redis_up')).toBe(0);
      expect([...c.collectors.values()].flatMap((s) => s.failures).join(' ')).toContain(victim.address);
      await victim.server.restart();
      await waitFor('redis_up back to 1', async () => (await scrape(rt)).get('redis_up') === 1, 20_000, 200);
    } finally {
      await rt.close();
    }
  });
});
