/**
 * Streamed batches (issue 14: no waiting for the whole batch before
 * parsing): with an `onReply` consumer the raw connection hands every reply
 * over as it is parsed, in command order, error replies included, and keeps
 * no reply array; a batch that cannot be sent delivers nothing and says why.
 * The engine's use of it (a step read as soon as its replies are in) is
 * covered end to end by the golden page (test/golden).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command, Reply } from '../../src/redis/command.js';
import { RawRedisConnection } from '../../src/redis/raw-connection.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
const N = 20_000;

beforeAll(async () => {
  redis = await startRedis();
  const p = redis.client.pipeline();
  for (let i = 0; i < 100; i++) p.rpush(`l:${i}`, ...Array.from({ length: i + 1 }, (_, k) => `v${k}`));
  p.set('not-a-list', 'x');
  await p.exec();
}, 30_000);

afterAll(async () => {
  await redis?.stop();
});

describe('RawRedisConnection.exec with onReply', () => {
  it('delivers every reply in command order as it is parsed, keeping none', async () => {
    const c = new RawRedisConnection({ host: '127.0.0.1', port: redis.port, db: 0, connectTimeoutMs: 2000 });
    try {
      const commands: Command[] = [];
      for (let i = 0; i < N; i++) commands.push(i % 1000 === 999 ? ['LLEN', 'not-a-list'] : ['LLEN', `l:${i % 100}`]);
      const seen: number[] = [];
      const values: Reply[] = [];
      const result = await c.exec(commands, Date.now() + 20_000, (index, err, value) => {
        seen.push(index);
        values.push([err, value]);
      });
      expect(result.ok).toBe(true);
      expect(result.streamed).toBe(true);
      expect(result.replies).toHaveLength(0);
      expect(seen).toHaveLength(N);
      expect(seen.every((v, i) => v === i)).toBe(true);
      expect(values[5]).toEqual([null, 6]);
      expect(values[199]).toEqual([null, 100]);
      // A per-command error reply is delivered in its place; the batch stays ok.
      expect(values[999]![0]).toBeInstanceOf(Error);
      expect(values[999]![0]!.message).toMatch(/WRONGTYPE/);
      // Without a consumer the same connection answers the classic way.
      const plain = await c.exec([['LLEN', 'l:3']], Date.now() + 5000);
      expect(plain.streamed).toBeUndefined();
      expect(plain.replies).toEqual([[null, 4]]);
    } finally {
      await c.close();
    }
  });

  it('delivers nothing and fails the batch when Redis cannot be reached', async () => {
    const port = await freePort();
    const c = new RawRedisConnection({ host: '127.0.0.1', port, db: 0, connectTimeoutMs: 1000 });
    try {
      let delivered = 0;
      const result = await c.exec([['LLEN', 'a'], ['LLEN', 'b']], Date.now() + 3000, () => delivered++);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/ECONNREFUSED|closed/);
      expect(delivered).toBe(0);
    } finally {
      await c.close();
    }
  });
});
