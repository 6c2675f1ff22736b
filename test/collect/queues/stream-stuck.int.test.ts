/**
 * Stream PEL entries idle past the queue's latency threshold are `stuck`, the
 * rest of the PEL `active` (XPENDING … IDLE, Redis >= 6.2), on a real Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamLayout, type StreamQueue } from '../../../src/collect/queues/stream.js';
import { LayoutCollector } from '../../../src/collect/queues/layout.js';
import { waitFor } from '../../helpers/ports.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { scrapeOnce, sidecarConnection } from './harness.js';

let redis: RedisServer;
let sidecar: Redis;
const queue = (key: string, latencyThreshold: number): StreamQueue => ({ name: key, key, type: 'stream', groups: [], consumers: false, backlogThreshold: 10, latencyThreshold });

beforeAll(async () => {
  redis = await startRedis();
  sidecar = await sidecarConnection(redis.url);
  for (const key of ['jobs:slow', 'jobs:fresh']) {
    for (let i = 0; i < 5; i++) await redis.client.xadd(key, '*', 'n', String(i));
    await redis.client.xgroup('CREATE', key, 'workers', '0');
  }
  // 3 delivered to a consumer that then dies (never acks).
  await redis.client.xreadgroup('GROUP', 'workers', 'gone', 'COUNT', 3, 'STREAMS', 'jobs:slow', '>');
  await waitFor('the PEL entries to be idle for 50 ms', async () => {
    const idle = (await redis.client.call('XPENDING', 'jobs:slow', 'workers', 'IDLE', 50, '-', '+', 10)) as unknown[];
    return idle.length === 3;
  });
  await redis.client.xreadgroup('GROUP', 'workers', 'busy', 'COUNT', 2, 'STREAMS', 'jobs:fresh', '>');
}, 30_000);

afterAll(async () => {
  sidecar?.disconnect();
  await redis?.stop();
});

describe('stream stuck entries', () => {
  it('counts PEL entries idle past the threshold as stuck, not active', async () => {
    const queues = [queue('jobs:slow', 50), queue('jobs:fresh', 600_000)];
    const s = await scrapeOnce(sidecar, () => [new LayoutCollector(streamLayout, () => queues)], Date.now());
    const st = (q: string, state: string) => s.get('queue_tasks', { queue: q, framework: 'stream', state, group: 'workers' });
    expect([st('jobs:slow', 'active'), st('jobs:slow', 'stuck'), st('jobs:slow', 'waiting')]).toEqual([0, 3, 2]);
    expect([st('jobs:fresh', 'active'), st('jobs:fresh', 'stuck'), st('jobs:fresh', 'waiting')]).toEqual([2, 0, 3]);
    expect(s.get('queue_stream_group_pending', { stream: 'jobs:slow', group: 'workers' })).toBe(3);
  });
});
