/**
 * RawRedisConnection (src/redis/raw-connection.ts) and StandaloneExecutor
 * (src/redis/standalone.ts) against a private redis-server: replies equal
 * ioredis' pipeline's, AUTH/SELECT, deadlines on a stalled server, a killed
 * and restarted server, overlapping batches.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoutedCommand } from '../../src/redis/batch.js';
import type { Command, Reply } from '../../src/redis/command.js';
import { configSchema } from '../../src/config/schema.js';
import { parseRedisUrl, RawRedisConnection, type RawConnectionOptions } from '../../src/redis/raw-connection.js';
import { StandaloneExecutor } from '../../src/redis/standalone.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const log = pino({ level: 'silent' });
let redis: RedisServer;
const opened: RawRedisConnection[] = [];

function conn(extra: Partial<RawConnectionOptions> = {}): RawRedisConnection {
  const c = new RawRedisConnection({ host: '127.0.0.1', port: redis.port, db: 0, connectTimeoutMs: 2000, ...extra });
  opened.push(c);
  return c;
}

/** Idle times (ms since a consumer/entry was last seen) change between two reads: masked. */
function maskIdle(v: unknown, cmd: Command): unknown {
  if (!Array.isArray(v)) return v;
  if (cmd[0] === 'XPENDING' && cmd.length > 3) return v.map((e: unknown[]) => [e[0], e[1], 'idle', e[3]]);
  if (cmd[0] === 'XINFO' && cmd[1] === 'CONSUMERS') {
    return v.map((c: unknown[]) => c.map((x, i) => (i % 2 === 1 && (c[i - 1] === 'idle' || c[i - 1] === 'inactive') ? 'idle' : x)));
  }
  return v;
}

/** Replies with errors reduced to their message, so both clients' error classes compare. */
function plain(replies: readonly Reply[] | null | undefined, cmds: readonly Command[] = COMMANDS): unknown[] {
  return (replies ?? []).map(([err, v], i) => (err ? { error: err.message } : { value: maskIdle(v, cmds[i]!) }));
}

const NOW_MS = Date.now();

async function seed(): Promise<void> {
  const r = redis.client;
  await r.flushall();
  await r.rpush('list', ...Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `t${i}`, created_at: Math.floor(NOW_MS / 1000) - i })));
  await r.hset('hash', 'a', '1', 'b', 'two', 'unicode', 'zażółć ✓', 'crlf', 'x\r\ny');
  await r.zadd('zset', 1, 'a', 2.5, 'b', 1e10, 'c');
  await r.sadd('set', 'x', 'y');
  await r.set('counter', '41');
  await r.set('empty', '');
  for (let i = 0; i < 20; i++) await r.xadd('stream', `${NOW_MS - 20_000 + i * 1000}-0`, 'task', String(i), 'payload', 'p'.repeat(i));
  await r.xgroup('CREATE', 'stream', 'g1', '0');
  await r.xgroup('CREATE', 'stream', 'g2', '$');
  await r.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 6, 'STREAMS', 'stream', '>');
  await r.xreadgroup('GROUP', 'g1', 'c2', 'COUNT', 3, 'STREAMS', 'stream', '>');
  await r.xack('stream', 'g1', `${NOW_MS - 20_000}-0`);
}

const COMMANDS: Command[] = [
  ['PING'],
  ['TYPE', 'list'],
  ['LLEN', 'list'],
  ['LINDEX', 'list', 0],
  ['LRANGE', 'list', 0, -1],
  ['LRANGE', 'missing', 0, -1],
  ['HLEN', 'hash'],
  ['HGET', 'hash', 'unicode'],
  ['HMGET', 'hash', 'a', 'nope', 'crlf'],
  ['HGETALL', 'hash'],
  ['HGETALL', 'missing'],
  ['HEXISTS', 'hash', 'b'],
  ['SCARD', 'set'],
  ['SISMEMBER', 'set', 'x'],
  ['ZCARD', 'zset'],
  ['ZCOUNT', 'zset', 0, 3],
  ['ZCOUNT', 'zset', '-inf', '+inf'],
  ['ZRANGE', 'zset', 0, -1, 'WITHSCORES'],
  ['ZRANGEBYSCORE', 'zset', '(1', '+inf', 'LIMIT', 0, 1],
  ['ZSCORE', 'zset', 'b'],
  ['GET', 'counter'],
  ['GET', 'empty'],
  ['GET', 'missing'],
  ['MGET', 'counter', 'missing', 'empty'],
  ['STRLEN', 'counter'],
  ['EXISTS', 'list', 'missing', 'hash'],
  ['LLEN', 'hash'], // WRONGTYPE
  ['XLEN', 'list'], // WRONGTYPE
  ['XLEN', 'stream'],
  ['XINFO', 'STREAM', 'stream'],
  ['XINFO', 'GROUPS', 'stream'],
  ['XINFO', 'CONSUMERS', 'stream', 'g1'],
  ['XINFO', 'CONSUMERS', 'stream', 'g2'],
  ['XINFO', 'STREAM', 'missing'], // ERR no such key
  ['XPENDING', 'stream', 'g1'],
  ['XPENDING', 'stream', 'g2'],
  ['XPENDING', 'stream', 'g1', '-', '+', 10],
  ['XRANGE', 'stream', '-', '+', 'COUNT', 3],
  ['XREVRANGE', 'stream', '+', '-', 'COUNT', 2],
  ['XRANGE', 'missing', '-', '+'],
  ['INFO', 'keyspace'],
];

beforeAll(async () => {
  redis = await startRedis(['--enable-debug-command', 'yes']);
  await seed();
});

afterAll(async () => {
  for (const c of opened) await c.close();
  await redis?.stop();
});

describe('RawRedisConnection', () => {
  it('returns exactly what an ioredis pipeline returns for the same commands', async () => {
    const c = conn();
    const raw = await c.exec(COMMANDS, Date.now() + 5000);
    const viaIoredis = await redis.client.pipeline(COMMANDS.map(([name, ...args]) => [name.toLowerCase(), ...args])).exec();
    expect(raw.ok).toBe(true);
    expect(raw.roundtrips).toBe(1);
    expect(raw.replies).toHaveLength(COMMANDS.length);
    expect(plain(raw.replies)).toEqual(plain(viaIoredis));
    // Spot checks of the shapes the engine relies on.
    expect(raw.replies[2]).toEqual([null, 120]);
    expect(raw.replies[26]![0]).toBeInstanceOf(Error);
    expect(raw.replies[26]![0]!.message).toMatch(/^WRONGTYPE/);
    expect(raw.replies[22]).toEqual([null, null]);
  });

  it('reads big replies (LRANGE of 50k elements, a 2 MB value) like ioredis', async () => {
    await redis.client.rpush('big', ...Array.from({ length: 50_000 }, (_, i) => `element-${i}`));
    await redis.client.set('blob', 'é'.repeat(1_000_000));
    const cmds: Command[] = [['LRANGE', 'big', 0, -1], ['GET', 'blob'], ['LLEN', 'big']];
    const raw = await conn().exec(cmds, Date.now() + 5000);
    const viaIoredis = await redis.client.pipeline(cmds.map(([name, ...args]) => [name.toLowerCase(), ...args])).exec();
    expect(raw.ok).toBe(true);
    expect(plain(raw.replies, cmds)).toEqual(plain(viaIoredis, cmds));
    await redis.client.del('big', 'blob');
  });

  it('deals replies of overlapping batches to their own callers, in order', async () => {
    const c = conn();
    const batches = Array.from({ length: 5 }, (_, b) => Array.from({ length: 200 + b }, (_, i): Command => ['LINDEX', 'list', (i + b) % 120]));
    const results = await Promise.all(batches.map((cmds) => c.exec(cmds, Date.now() + 5000)));
    const expected = await redis.client.lrange('list', 0, -1);
    results.forEach((r, b) => {
      expect(r.ok).toBe(true);
      expect(r.replies.map(([, v]) => v)).toEqual(batches[b]!.map((cmd) => expected[Number(cmd[2])]));
    });
  });

  it('selects the database from the URL', async () => {
    await redis.client.select(3);
    await redis.client.set('in-db-3', 'yes');
    await redis.client.select(0);
    const target = parseRedisUrl(`redis://127.0.0.1:${redis.port}/3`);
    expect(target.db).toBe(3);
    const r = await conn({ db: target.db }).exec([['GET', 'in-db-3'], ['GET', 'counter']], Date.now() + 2000);
    expect(r.ok).toBe(true);
    expect(r.replies).toEqual([[null, 'yes'], [null, null]]);
  });

  it('fails the batch with ok:false by the deadline on a stalled server, and the next batch succeeds after it wakes', async () => {
    const c = conn();
    expect((await c.exec([['PING']], Date.now() + 2000)).ok).toBe(true);
    const t0 = Date.now();
    // DEBUG SLEEP on the same socket: the stall is certain to precede the next batch.
    const stalled = c.exec([['DEBUG', 'SLEEP', '1']], t0 + 300);
    const behind = c.exec([['LLEN', 'list']], t0 + 5000);
    const [a, b] = await Promise.all([stalled, behind]);
    const elapsed = Date.now() - t0;
    expect(a.ok).toBe(false);
    expect(a.error).toMatch(/deadline/);
    expect(a.replies[0]![0]).toBeInstanceOf(Error);
    expect(b.ok).toBe(false); // every pending batch fails with the dropped socket
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(900); // well before Redis wakes (1 s)
    // Reconnects; the handshake waits for Redis to wake up.
    const next = await c.exec([['LLEN', 'list']], Date.now() + 5000);
    expect(next).toMatchObject({ ok: true, replies: [[null, 120]] });
  });

  it('keeps a per-command error reply to that command (ok stays true)', async () => {
    const r = await conn().exec([['LLEN', 'list'], ['LLEN', 'hash'], ['HLEN', 'hash']], Date.now() + 2000);
    expect(r.ok).toBe(true);
    expect(r.replies[0]).toEqual([null, 120]);
    expect(r.replies[1]![0]!.message).toMatch(/^WRONGTYPE/);
    expect(r.replies[1]![1]).toBeNull();
    expect(r.replies[2]).toEqual([null, 4]);
  });

  it('answers ok:false fast when the server is killed, and ok again once it is back', async () => {
    const c = conn();
    expect((await c.exec([['PING']], Date.now() + 2000)).ok).toBe(true);
    await redis.kill();
    let t0 = Date.now();
    const down = await c.exec([['PING']], t0 + 5000);
    expect(down.ok).toBe(false);
    expect(down.error).toMatch(/ECONNREFUSED|ECONNRESET|EPIPE|closed|ended/);
    expect(Date.now() - t0).toBeLessThan(1000);
    t0 = Date.now();
    const again = await c.exec([['PING']], t0 + 5000);
    expect(again.ok).toBe(false);
    expect(again.error).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(1000);
    await redis.restart();
    const up = await c.exec([['PING'], ['LLEN', 'list']], Date.now() + 5000);
    expect(up).toMatchObject({ ok: true, replies: [[null, 'PONG'], [null, 0]] });
    await seed(); // the restarted server is empty
  });

  it('answers ok:false, never a rejection, when nothing listens', async () => {
    const c = new RawRedisConnection({ host: '127.0.0.1', port: 1, db: 0, connectTimeoutMs: 1000 });
    opened.push(c);
    const r = await c.exec([['PING'], ['PING']], Date.now() + 2000);
    expect(r.ok).toBe(false);
    expect(r.replies).toHaveLength(2);
    expect(r.replies[1]![0]).toBeInstanceOf(Error);
  });

  it('close() fails later batches without touching the network', async () => {
    const c = conn();
    await c.close();
    expect((await c.exec([['PING']], Date.now() + 1000)).ok).toBe(false);
  });
});

describe('StandaloneExecutor: planned batches', () => {
  it('sends a planned array from its packed bytes, re-encodes only the varying entries, and still refuses a write', async () => {
    const cfg = configSchema.parse({ redis: { url: `redis://127.0.0.1:${redis.port}/0` } }).redis;
    const ex = new StandaloneExecutor(cfg, log);
    try {
      // a varying entry between fixed ones (a clock-bearing command, resolved again by every scrape)
      const varying: { command: Command; routingKey: string; varies: true } = { command: ['ZCOUNT', 'zset', 0, 3], routingKey: 'zset', varies: true };
      const fixed: RoutedCommand[] = COMMANDS.map((command) => ({ command, routingKey: undefined }));
      const planned: RoutedCommand[] = [...fixed.slice(0, 3), varying, ...fixed.slice(3)];
      const cmds = () => planned.map((rc) => rc.command);
      const first = await ex.exec(planned, Date.now() + 5000, undefined, true);
      expect(first.ok).toBe(true);
      expect(first.replies[3]).toEqual([null, 2]);
      varying.command = ['ZCOUNT', 'zset', 0, '+inf'];
      const second = await ex.exec(planned, Date.now() + 5000, undefined, true);
      expect(second.replies[3]).toEqual([null, 3]);
      // an unplanned batch in between leaves the planned one as it was
      await ex.exec([{ command: ['LLEN', 'list'], routingKey: 'list' }], Date.now() + 5000);
      const third = await ex.exec(planned, Date.now() + 5000, undefined, true);
      expect(plain(third.replies, cmds())).toEqual(plain(second.replies, cmds()));
      expect(plain(third.replies, cmds())).toEqual(plain((await ex.exec(planned, Date.now() + 5000)).replies, cmds()));
      // a varying entry that is not encodable fails the batch, not the process
      varying.command = ['ZCOUNT', 'zset', 0, Number.NaN];
      expect((await ex.exec(planned, Date.now() + 5000, undefined, true)).ok).toBe(false);
      // a write is never sent: not in a planned array, not as a varying entry
      await expect(ex.exec([{ command: ['DEL', 'list'], routingKey: 'list' }], Date.now() + 2000, undefined, true)).rejects.toThrow(/refusing to send DEL/);
      varying.command = ['DEL', 'list'];
      await expect(ex.exec(planned, Date.now() + 2000, undefined, true)).rejects.toThrow(/refusing to send DEL/);
      expect(await redis.client.exists('list')).toBe(1);
    } finally {
      await ex.close();
    }
  });
});

describe('StandaloneExecutor: planned batches, varying entries rewritten in place', () => {
  it('answers every scrape as an unplanned batch would, whether the varying commands keep their length or not', async () => {
    const cfg = configSchema.parse({ redis: { url: `redis://127.0.0.1:${redis.port}/0` } }).redis;
    const ex = new StandaloneExecutor(cfg, log);
    // Bounds of the kinds the engine sends (clock seconds and milliseconds, exclusive, infinite) and short ones.
    const bound = fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constantFrom(1e10, 1_700_000_000, 1_700_000_000_000, '-inf', '+inf', '(1', '(2.5'));
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(bound, bound, bound), { minLength: 1, maxLength: 6 }), async (scrapes) => {
          const a: { command: Command; routingKey: string; varies: true } = { command: ['ZCOUNT', 'zset', 0, 0], routingKey: 'zset', varies: true };
          const b: { command: Command; routingKey: string; varies: true } = { command: ['ZCOUNT', 'zset', 0, 0], routingKey: 'zset', varies: true };
          const fixed: RoutedCommand[] = COMMANDS.map((command) => ({ command, routingKey: undefined }));
          const planned: RoutedCommand[] = [...fixed.slice(0, 2), a, ...fixed.slice(2, 5), b, ...fixed.slice(5)];
          const cmds = () => planned.map((rc) => rc.command);
          for (const [min, maxA, maxB] of scrapes) {
            a.command = ['ZCOUNT', 'zset', min, maxA];
            b.command = ['ZCOUNT', 'zset', min, maxB];
            const got = await ex.exec(planned, Date.now() + 5000, undefined, true);
            const want = await ex.exec(planned.map((rc) => ({ command: rc.command, routingKey: rc.routingKey })), Date.now() + 5000);
            expect(plain(got.replies, cmds())).toEqual(plain(want.replies, cmds()));
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await ex.close();
    }
  });
});

describe('authentication', () => {
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await startRedis();
    await secured.client.call('ACL', 'SETUSER', 'scraper', 'on', '>s3cr3t-user', '~*', '+@read', '+@connection', '+client', '+select');
    await secured.client.set('k', 'v');
    await secured.client.config('SET', 'requirepass', 'pw-0f-default');
    await secured.client.auth('pw-0f-default');
  });
  afterAll(async () => {
    await secured?.stop();
  });
  const connTo = (extra: Partial<RawConnectionOptions>) => {
    const c = new RawRedisConnection({ host: '127.0.0.1', port: secured.port, db: 0, connectTimeoutMs: 2000, ...extra });
    opened.push(c);
    return c;
  };

  it('authenticates with a password (default user) and with username + password', async () => {
    expect(await connTo({ password: 'pw-0f-default' }).exec([['GET', 'k']], Date.now() + 2000)).toMatchObject({ ok: true, replies: [[null, 'v']] });
    expect(await connTo({ username: 'scraper', password: 's3cr3t-user' }).exec([['GET', 'k']], Date.now() + 2000)).toMatchObject({
      ok: true,
      replies: [[null, 'v']],
    });
  });

  it('fails the batch with ok:false and a message without the password on a wrong password', async () => {
    for (const c of [connTo({ password: 'wr0ng-pa55' }), connTo({ username: 'scraper', password: 'wr0ng-pa55' })]) {
      const r = await c.exec([['GET', 'k'], ['PING']], Date.now() + 2000);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/AUTH failed: WRONGPASS/);
      expect(r.error).not.toContain('wr0ng-pa55');
      expect(r.replies.every(([e]) => e !== null && !e.message.includes('wr0ng-pa55'))).toBe(true);
    }
  });

  it('fails without a password on a server that requires one', async () => {
    const r = await connTo({}).exec([['GET', 'k']], Date.now() + 2000);
    // NOAUTH comes back as that command's error reply.
    expect(r.replies[0]![0]?.message).toMatch(/NOAUTH/);
  });

  it('StandaloneExecutor takes credentials from the URL and redis.password, and SCANs through ioredis', async () => {
    const cfg = configSchema.parse({ redis: { url: `redis://:pw-0f-default@127.0.0.1:${secured.port}/0` } }).redis;
    const ex = new StandaloneExecutor(cfg, log);
    try {
      const r = await ex.exec([{ command: ['GET', 'k'], routingKey: 'k' }], Date.now() + 2000);
      expect(r).toMatchObject({ ok: true, replies: [[null, 'v']] });
      const keys: string[] = [];
      await ex.scanKeys({ match: '*', count: 100 }, (page) => {
        keys.push(...page);
      });
      expect(keys).toEqual(['k']);
      await expect(ex.exec([{ command: ['DEL', 'k'], routingKey: 'k' }], Date.now() + 2000)).rejects.toThrow(/refusing to send DEL/);
    } finally {
      await ex.close();
    }
    const cfg2 = configSchema.parse({ redis: { url: `redis://127.0.0.1:${secured.port}/0`, username: 'scraper', password: 's3cr3t-user' } }).redis;
    const ex2 = new StandaloneExecutor(cfg2, log);
    try {
      expect(await ex2.exec([{ command: ['GET', 'k'], routingKey: 'k' }], Date.now() + 2000)).toMatchObject({ ok: true, replies: [[null, 'v']] });
    } finally {
      await ex2.close();
    }
  });
});

describe('parseRedisUrl', () => {
  it('reads user, password, host, port and db (percent-decoded)', () => {
    expect(parseRedisUrl('rediss://us%40er:p%3Ass@redis.internal:6380/2')).toEqual({
      host: 'redis.internal', port: 6380, db: 2, username: 'us@er', password: 'p:ss', tls: true,
    });
    expect(parseRedisUrl('redis://[::1]')).toEqual({ host: '::1', port: 6379, db: 0, username: undefined, password: undefined, tls: false });
    expect(() => parseRedisUrl('redis://h/x')).toThrow(/database/);
  });
});
