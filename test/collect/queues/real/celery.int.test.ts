/**
 * Celery as its users run it: Debian's python3-celery (5.2) / kombu (5.2).
 * Configured once as Celery's docs recommend for priorities
 * (`broker_transport_options = {'priority_steps': list(range(10)), 'sep': ':',
 * 'queue_order_strategy': 'priority'}`) with a real worker SIGKILLed mid-task,
 * and once with kombu's `global_keyprefix` (default sep and steps), where
 * kombu's own `basic_get` takes messages without acking. queuescope's numbers
 * are compared with kombu's own `Channel._size` and the unacked hash.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoverConfig } from '../../../../src/config/schema.js';
import { waitFor } from '../../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js';
import { sidecarConnection, type Scraped } from '../harness.js';
import { killAllWorkers, PYTHON, requireDebian, runJson, startWorker } from './processes.js';
import { scrapeFrameworks, statesOf } from './sidecar.js';

// With sep ':' kombu itself cannot bind a queue whose name contains ':' (its binding
// table is split on the separator), so the docs-configured queue has none.
const DOCS_Q = 'grading eu-ü';
const PREFIX = 'tenant-ä:';
const PREFIXED_Q = 'reports:eu-ü x';
const common = { backlogThreshold: 10, latencyThreshold: 60_000 };

interface Sizes {
  sizes: Record<string, number>;
  unacked: number;
}

let redis: RedisServer;
let sidecar: Redis;
let docs: { scraped: Scraped; kombu: Sizes };
let prefixed: { scraped: Scraped; kombu: Sizes };
let nothing: Scraped;

const docsEnv = () => ({ QS_BROKER: redis.url, QS_MODE: 'docs' });
const prefixedEnv = () => ({ QS_BROKER: redis.url, QS_MODE: 'prefixed', QS_PREFIX: PREFIX });

beforeAll(async () => {
  requireDebian(PYTHON, 'python3-celery', ['-c', 'import celery, kombu']);
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);

  // Before anything is written: a default celery entry reports nothing on a Redis without Celery keys.
  nothing = await scrapeFrameworks(sidecar, [{ framework: 'celery', prioritySteps: [0, 3, 6, 9], sep: '\x06\x16', globalKeyprefix: '', ...common }], Date.now());

  // Docs configuration: 2 + 3 + 3 + 4 messages at priorities 0, 1, 5, 9; a worker takes one and is killed.
  for (const [pri, n] of [[0, 2], [1, 3], [5, 3], [9, 4]] as const) runJson(PYTHON, ['celery_driver.py', 'send', DOCS_Q, String(pri), String(n)], docsEnv());
  const worker = startWorker(PYTHON, ['-m', 'celery', '-A', 'celery_driver', 'worker', '-Q', DOCS_Q, '--pool=solo', '-c', '1', '--without-heartbeat', '--without-mingle', '--without-gossip', '-l', 'warning'], docsEnv());
  await waitFor('the Celery worker to receive a message', async () => (await redis.client.hlen('unacked')) > 0, 30_000);
  await worker.kill();
  const docsCfg: DiscoverConfig = { framework: 'celery', queues: [DOCS_Q], prioritySteps: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sep: ':', globalKeyprefix: '', ...common };
  docs = { scraped: await scrapeFrameworks(sidecar, [docsCfg], Date.now()), kombu: runJson<Sizes>(PYTHON, ['celery_driver.py', 'sizes', DOCS_Q], docsEnv()) };

  // global_keyprefix: 2 + 3 + 1 messages at priorities 0, 4 (step 3), 9; kombu's basic_get takes 2 unacked.
  for (const [pri, n] of [[0, 2], [4, 3], [9, 1]] as const) runJson(PYTHON, ['celery_driver.py', 'send', PREFIXED_Q, String(pri), String(n)], prefixedEnv());
  runJson(PYTHON, ['celery_driver.py', 'take', PREFIXED_Q, '2'], prefixedEnv());
  const prefixedCfg: DiscoverConfig = { framework: 'celery', queues: [PREFIXED_Q], prioritySteps: [0, 3, 6, 9], sep: '\x06\x16', globalKeyprefix: PREFIX, ...common };
  prefixed = { scraped: await scrapeFrameworks(sidecar, [prefixedCfg], Date.now()), kombu: runJson<Sizes>(PYTHON, ['celery_driver.py', 'sizes', PREFIXED_Q], prefixedEnv()) };
}, 90_000);

afterAll(async () => {
  await killAllWorkers();
  sidecar?.disconnect();
  await redis?.stop();
});

describe('Celery 5.2 / kombu 5.2 (python3-celery) against queuescope', () => {
  it('reports no celery queue on a Redis without Celery keys (no queues: named)', () => {
    expect(nothing.collection.find('queue_tasks', { framework: 'celery' })).toEqual([]);
    expect(nothing.get('queuescope_discovered_queues', { framework: 'celery' })).toBe(0);
  });

  it('docs configuration (sep ":", steps 0..9): waiting equals kombu’s _size over all ten lists', () => {
    expect(docs.kombu.sizes[DOCS_Q]).toBe(2 + 3 + 3 + 4 - 1);
    expect(statesOf(docs.scraped, 'celery', DOCS_Q)).toEqual({ waiting: docs.kombu.sizes[DOCS_Q] });
  });

  it('docs configuration: the killed worker’s message is in the broker’s unacked hash', () => {
    expect(docs.kombu.unacked).toBe(1);
    expect(docs.scraped.get('queue_broker_unacked', { framework: 'celery' })).toBe(docs.kombu.unacked);
  });

  it('global_keyprefix: waiting and unacked equal kombu’s under the prefix', () => {
    expect(prefixed.kombu).toEqual({ sizes: { [PREFIXED_Q]: 2 + 3 + 1 - 2 }, unacked: 2 });
    expect(statesOf(prefixed.scraped, 'celery', PREFIXED_Q)).toEqual({ waiting: prefixed.kombu.sizes[PREFIXED_Q] });
    expect(prefixed.scraped.get('queue_broker_unacked', { framework: 'celery' })).toBe(prefixed.kombu.unacked);
    expect(prefixed.scraped.get('queue_info', { queue: PREFIXED_Q, framework: 'celery', key: `${PREFIX}${PREFIXED_Q}` })).toBe(1);
  });
});
