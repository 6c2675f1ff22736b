/**
 * The outbox store contract, run against both implementations with real
 * engines: SQLite (better-sqlite3, a temporary file) and a real redis-server
 * (the Lua scripts). The same cases for both, so the Lua supersede rule and
 * the JS one cannot drift apart.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { compactPayload, dedupeKey, groupId, supersede } from '../../src/relay/compact.js';
import { RedisStore } from '../../src/relay/redis-store.js';
import { SqliteStore } from '../../src/relay/sqlite-store.js';
import { StoreFullError, type RelayStore } from '../../src/relay/store.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { makeAlert, makePayload } from './fixtures.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const ROBOT = 'dingtalk/ops';
type Maker = (maxBytes?: number) => Promise<RelayStore>;
const makers: [string, Maker][] = [
  ['sqlite', async (maxBytes = 1 << 20) => new SqliteStore({ path: mkdtempSync(join(tmpdir(), 'qs-store-')), maxBytes })],
  [
    'redis',
    async (maxBytes = 1 << 20) => {
      await redis.client.flushall();
      return new RedisStore({ url: redis.url, maxBytes, leaseMs: 5000 });
    },
  ],
];

const accept = (s: RelayStore, p: ReturnType<typeof makePayload>) => {
  const c = compactPayload(p);
  return s.accept(ROBOT, groupId(c), dedupeKey(ROBOT, c), c);
};

describe('supersede rule', () => {
  it('the newer state wins; alerts the older copy reported resolved and the newer one dropped are kept', () => {
    const older = compactPayload(makePayload([makeAlert(1), makeAlert(2, { status: 'resolved' }), makeAlert(3)], { groupKey: 'g' }));
    const newer = compactPayload(makePayload([makeAlert(1, { status: 'resolved' }), makeAlert(4)], { groupKey: 'g' }));
    const merged = supersede(older, newer);
    expect(merged.alerts.map((a) => `${a.labels.queue}:${a.status}`)).toEqual(['queue-1:resolved', 'queue-4:firing', 'queue-2:resolved']);
  });
});

for (const [name, make] of makers) {
  describe(`${name} store`, () => {
    it('stores in order, supersedes by group (keeping resolved transitions), de-duplicates', async () => {
      const s = await make();
      try {
        const a = await accept(s, makePayload([makeAlert(1), makeAlert(2)], { groupKey: 'ga' }));
        const b = await accept(s, makePayload([makeAlert(3)], { groupKey: 'gb' }));
        expect(a.kind).toBe('stored');
        expect(b.kind).toBe('stored');
        // the same notification again (a second Alertmanager peer): deduplicated
        expect((await accept(s, makePayload([makeAlert(1), makeAlert(2)], { groupKey: 'ga' }))).kind).toBe('deduplicated');
        // alert 2 resolved, then gone from the group: the resolution is kept
        const r1 = await accept(s, makePayload([makeAlert(1), makeAlert(2, { status: 'resolved' })], { groupKey: 'ga' }));
        expect(r1).toEqual({ kind: 'superseded', id: a.kind === 'stored' ? a.id : '' });
        await accept(s, makePayload([makeAlert(1)], { groupKey: 'ga' }));
        const head = await s.head(ROBOT, 10);
        expect(head.total).toBe(2);
        expect(head.entries.map((e) => e.payload.groupKey)).toEqual(['ga', 'gb']);
        expect(head.entries[0]!.payload.alerts.map((x) => `${x.labels.queue}:${x.status}`)).toEqual(['queue-1:firing', 'queue-2:resolved']);
        expect(head.oldestAt).toBeGreaterThan(Date.now() - 60_000);
        expect(s.bytes() > 0 || name === 'redis').toBe(true);
        await s.complete(ROBOT, head.entries.map((e) => e.id));
        expect((await s.stats(ROBOT)).total).toBe(0);
      } finally {
        await s.close();
      }
    });

    it('a claimed entry is not merged into; unclaiming folds the newer entry of its group back into it', async () => {
      const s = await make();
      try {
        const a = await accept(s, makePayload([makeAlert(1), makeAlert(2, { status: 'resolved' })], { groupKey: 'g' }));
        if (a.kind !== 'stored') throw new Error('expected stored');
        await s.claim(ROBOT, [a.id]);
        const b = await accept(s, makePayload([makeAlert(1, { status: 'resolved' })], { groupKey: 'g' }));
        expect(b.kind).toBe('stored');
        expect((await s.stats(ROBOT)).total).toBe(2);
        // the send failed: back in the queue, merged with the newer state
        expect(await s.unclaim(ROBOT, [a.id])).toBe(1);
        const head = await s.head(ROBOT, 10);
        expect(head.entries.map((e) => e.id)).toEqual([a.id]);
        expect(head.entries[0]!.payload.alerts.map((x) => `${x.labels.queue}:${x.status}`)).toEqual(['queue-1:resolved', 'queue-2:resolved']);
        // and later notifications of the group merge into it again
        expect((await accept(s, makePayload([makeAlert(5)], { groupKey: 'g' }))).kind).toBe('superseded');
      } finally {
        await s.close();
      }
    });

    it('refuses past maxBytes with StoreFullError, and accepts again once delivered', async () => {
      const one = Buffer.byteLength(JSON.stringify(compactPayload(makePayload([makeAlert(1)]))));
      const s = await make(Math.floor(one * 2.5));
      try {
        await accept(s, makePayload([makeAlert(1)]));
        await accept(s, makePayload([makeAlert(2)]));
        await expect(accept(s, makePayload([makeAlert(3)]))).rejects.toBeInstanceOf(StoreFullError);
        const head = await s.head(ROBOT, 1);
        await s.complete(ROBOT, [head.entries[0]!.id]);
        expect((await accept(s, makePayload([makeAlert(3)]))).kind).toBe('stored');
      } finally {
        await s.close();
      }
    });
  });
}

describe('sqlite store durability', () => {
  it('what was accepted is there after reopening; a second process cannot open the same file', async () => {
    const path = mkdtempSync(join(tmpdir(), 'qs-store-'));
    const s1 = new SqliteStore({ path, maxBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) await accept(s1, makePayload([makeAlert(i)]));
    expect(() => new SqliteStore({ path, maxBytes: 1 << 20 })).toThrow(/locked/);
    await s1.close();
    const s2 = new SqliteStore({ path, maxBytes: 1 << 20 });
    try {
      expect((await s2.stats(ROBOT)).total).toBe(5);
      expect(await s2.robots()).toEqual([ROBOT]);
      expect(s2.bytes()).toBeGreaterThan(0);
    } finally {
      await s2.close();
    }
  });
});

describe('redis store: one robot client for several replicas', () => {
  it('the sliding-window budget is shared: concurrent replicas never reserve more than the limit in any window', async () => {
    await redis.client.flushall();
    const replicas = [0, 1, 2].map((i) => new RedisStore({ url: redis.url, maxBytes: 1 << 20, leaseMs: 5000, owner: `r${i}` }));
    const windowMs = 400;
    const count = 5;
    const granted: number[] = [];
    try {
      const until = Date.now() + 1500;
      await Promise.all(
        replicas.map(async (r) => {
          const b = r.budget(ROBOT);
          while (Date.now() < until) {
            const res = await b.reserve(count, windowMs);
            if (res.ok) {
              granted.push(Date.now());
              await b.finish(res.token);
            } else await new Promise((x) => setTimeout(x, Math.min(res.waitMs, 50)));
          }
        }),
      );
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
    granted.sort((a, b) => a - b);
    let max = 0;
    for (const start of granted) max = Math.max(max, granted.filter((t) => t >= start && t < start + windowMs).length);
    expect(max).toBeLessThanOrEqual(count);
    expect(granted.length).toBeGreaterThanOrEqual(count * 3); // the budget was used, not starved
  });

  it('one sender per robot; when it dies mid-send, another replica takes its claimed work over after the lease TTL', async () => {
    await redis.client.flushall();
    const a = new RedisStore({ url: redis.url, maxBytes: 1 << 20, leaseMs: 300, owner: 'a' });
    const b = new RedisStore({ url: redis.url, maxBytes: 1 << 20, leaseMs: 300, owner: 'b' });
    try {
      expect(await a.acquire(ROBOT)).toEqual({ held: true, fresh: true, orphaned: [] });
      expect(await b.acquire(ROBOT)).toEqual({ held: false });
      expect(await a.acquire(ROBOT)).toEqual({ held: true, fresh: false, orphaned: [] });
      const r = await accept(b, makePayload([makeAlert(1)]));
      if (r.kind !== 'stored') throw new Error('expected stored');
      await a.claim(ROBOT, [r.id]);
      // a "dies": no renewal, no release
      const started = Date.now();
      let got = await b.acquire(ROBOT);
      while (!got.held) {
        await new Promise((x) => setTimeout(x, 20));
        got = await b.acquire(ROBOT);
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(got).toEqual({ held: true, fresh: true, orphaned: [r.id] });
      expect(await b.unclaim(ROBOT, [r.id])).toBe(0);
      expect((await b.head(ROBOT, 5)).entries.map((e) => e.id)).toEqual([r.id]);
      await b.release(ROBOT);
      expect((await a.acquire(ROBOT)).held).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('notify.store config', () => {
  const parse = (text: string) => parseConfigText(text, { file: 'q.yaml', env: {}, baseDir: '/etc/qs' });
  it('defaults: ./data/outbox next to the config file, 64 MiB, no Redis', () => {
    expect(parse('').notify.store).toEqual({ path: '/etc/qs/data/outbox', redis: '', allowMonitoredRedis: false, maxBytes: 64 * 1024 * 1024 });
    expect(parse('notify:\n  store:\n    maxBytes: 500KB\n').notify.store.maxBytes).toBe(500_000);
  });
  it('refuses the monitored Redis unless allowMonitoredRedis is set, naming the line', () => {
    expect(() => parse('redis:\n  url: redis://10.0.0.5:6379/0\nnotify:\n  store:\n    redis: redis://10.0.0.5/3\n')).toThrow(
      /q\.yaml:5: notify\.store\.redis: is the monitored Redis/,
    );
    expect(() => parse('notify:\n  store:\n    redis: redis://localhost:6379\n')).toThrow(/monitored Redis/); // the default redis.url
    expect(parse('redis:\n  url: redis://10.0.0.5:6379/0\nnotify:\n  store:\n    redis: redis://10.0.0.5/3\n    allowMonitoredRedis: true\n').notify.store.redis).toBe('redis://10.0.0.5/3');
    expect(parse('notify:\n  store:\n    redis: redis://relay-redis:6379/0\n').notify.store.redis).toBe('redis://relay-redis:6379/0');
  });
  it('a bad byte size names the key', () => {
    expect(() => parse('notify:\n  store:\n    maxBytes: lots\n')).toThrow(/notify\.store\.maxBytes: invalid byte size "lots"/);
  });
});

describe('supersede: the Lua rule and the JS rule agree (property)', () => {
  const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS ?? 25);
  it(`random group histories end in the same entries in SQLite and Redis (${runs} runs)`, async () => {
    const fc = (await import('fast-check')).default;
    const alert = fc.record({ i: fc.integer({ min: 0, max: 5 }), resolved: fc.boolean(), summary: fc.string({ maxLength: 20 }) });
    const notification = fc.record({ group: fc.constantFrom('a', 'b'), alerts: fc.array(alert, { minLength: 1, maxLength: 4 }) });
    const step = fc.oneof(notification.map((n) => ({ kind: 'accept' as const, ...n })), fc.constant({ kind: 'claim-unclaim' as const }));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const results: string[] = [];
        for (const [, make] of makers) {
          const s = await make();
          try {
            for (const st of steps) {
              if (st.kind === 'accept') {
                const alerts = st.alerts.map((a) => makeAlert(a.i, { status: a.resolved ? 'resolved' : 'firing', summary: a.summary }));
                await accept(s, makePayload(alerts, { groupKey: st.group }));
              } else {
                // a failed send of the whole queue: claimed, then put back
                const ids = (await s.head(ROBOT, 100)).entries.map((e) => e.id);
                await s.claim(ROBOT, ids);
                await s.unclaim(ROBOT, ids);
              }
            }
            const head = await s.head(ROBOT, 100);
            results.push(JSON.stringify(head.entries.map((e) => [e.payload.groupKey, e.payload.alerts.map((a) => `${a.fingerprint}:${a.status}:${a.annotations.summary}`)])));
          } finally {
            await s.close();
          }
        }
        expect(results[1]).toBe(results[0]);
      }),
      { numRuns: runs },
    );
  }, 60_000);
});

describe('sqlite store after close', () => {
  it('an accept that arrives after close is refused with a clear error, never an exception on its own', async () => {
    const s = new SqliteStore({ path: mkdtempSync(join(tmpdir(), 'qs-store-closed-')), maxBytes: 1 << 20 });
    const before = accept(s, makePayload([makeAlert(1)], { groupKey: 'g1' }));
    await s.close(); // commits what was accepted in this turn first
    await expect(before).resolves.toMatchObject({ kind: 'stored' });
    // the group commit runs from setImmediate: a throw there would end the process
    await expect(accept(s, makePayload([makeAlert(2)], { groupKey: 'g2' }))).rejects.toThrow(/store is closed/);
  });
});
