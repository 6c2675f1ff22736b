/**
 * `GET /api/monitor` over a collection of 100,000 queues (issue 10 defect 5):
 * the answer is one page (default size, `limit`/`offset`), `page.total` and
 * `totalWaiting` cover every queue, pages follow the collection's order
 * without gaps or repeats, and every queue's view is the one a full scan
 * would give. Shape, not timing (speed is measured in bench/).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionBuilder, type Collection } from '../../src/collect/collection.js';
import { configSchema } from '../../src/config/schema.js';
import { monitorPlugin, type MonitorRuntime } from '../../src/monitor/plugin.js';
import { indexCollection } from '../../src/monitor/queue-index.js';
import { DEFAULT_QUEUE_PAGE, MAX_QUEUE_PAGE } from '../../src/monitor/snapshot.js';

const LISTS = 99_000;
const STREAMS = 1_000;
const TOTAL = LISTS + STREAMS;

/** list-i waits i % 7; stream-j has groups g1 (lag 3, PEL 2, age 10) and g2 (lag 1, PEL 0, age 4); `shared` exists as list and stream. */
function bigCollection(at: number): Collection {
  const b = new CollectionBuilder(at);
  const l = b.sink('list');
  for (let i = 0; i < LISTS; i++) {
    const name = i === 5 ? 'shared' : `list-${i}`;
    l.add('queue_info', { queue: name, framework: 'list', key: `k:${i}` }, 1);
    l.add('queue_tasks', { queue: name, framework: 'list', state: 'waiting' }, i % 7);
  }
  const s = b.sink('stream');
  for (let j = 0; j < STREAMS; j++) {
    const name = j === 0 ? 'shared' : `stream-${j}`;
    const q = { queue: name, framework: 'stream' };
    s.add('queue_info', { ...q, key: `s:${j}` }, 1);
    s.add('queue_tasks', { ...q, state: 'waiting', group: 'g1' }, 3);
    s.add('queue_tasks', { ...q, state: 'active', group: 'g1' }, 2);
    s.add('queue_tasks', { ...q, state: 'waiting', group: 'g2' }, 1);
    s.add('queue_tasks', { ...q, state: 'active', group: 'g2' }, 0);
    s.add('queue_oldest_task_age_seconds', { ...q, group: 'g1' }, 10);
    s.add('queue_oldest_task_age_seconds', { ...q, group: 'g2' }, 4);
    s.add('queue_enqueued_total', q, 100 + j);
  }
  b.add('redis_up', {}, 1);
  return b.finish();
}

let app: FastifyInstance;
let collection: Collection;
let collects = 0;

beforeAll(async () => {
  collection = bigCollection(Date.now());
  const runtime: MonitorRuntime = {
    config: configSchema.parse({ discover: [] }),
    engine: {
      get latest() {
        return collection;
      },
      async collect() {
        collects++;
        return collection;
      },
    },
  };
  app = Fastify();
  // reuseForMs large: every call answers from the one collection.
  await app.register(monitorPlugin, { runtime: () => runtime, reuseForMs: 3_600_000 });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
});

interface Answer {
  queues: Record<string, { name: string; framework: string; waiting: number | null; active: number | null; enqueued: number | null; oldestTaskAgeSeconds: number | null; groups: Record<string, { waiting: number | null; active: number | null; oldestTaskAgeSeconds: number | null }> | null }>;
  page: { offset: number; limit: number; total: number; nextOffset: number | null };
  totalWaiting: number | null;
  redis: { up: boolean };
}

async function get(query = ''): Promise<Answer> {
  const res = await app.inject({ method: 'GET', url: `/api/monitor${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Answer;
}

describe('GET /api/monitor with 100,000 queues', () => {
  it('answers one default-sized page with the total count and the backlog over all queues', async () => {
    const a = await get();
    expect(Object.keys(a.queues)).toHaveLength(DEFAULT_QUEUE_PAGE);
    expect(a.page).toEqual({ offset: 0, limit: DEFAULT_QUEUE_PAGE, total: TOTAL, nextOffset: DEFAULT_QUEUE_PAGE });
    let waiting = 0;
    for (let i = 0; i < LISTS; i++) waiting += i % 7;
    waiting += STREAMS * 4;
    expect(a.totalWaiting).toBe(waiting);
    expect(a.redis.up).toBe(true);
    // Collection order: the first queues declared come first; a shared name is keyed name@framework.
    expect(Object.keys(a.queues).slice(0, 7)).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4', 'shared@list', 'list-6']);
  });

  it('walks every queue exactly once following nextOffset', async () => {
    const seen = new Set<string>();
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null) {
      const a: Answer = await get(`?limit=${MAX_QUEUE_PAGE}&offset=${offset}`);
      expect(a.page.offset).toBe(offset);
      for (const q of Object.values(a.queues)) {
        const id = `${q.framework}/${q.name}`;
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
      offset = a.page.nextOffset;
      pages++;
    }
    expect(seen.size).toBe(TOTAL);
    expect(pages).toBe(Math.ceil(TOTAL / MAX_QUEUE_PAGE));
  });

  it('gives the same per-queue view as the full data (stream groups summed, oldest over groups)', async () => {
    const a = await get(`?offset=${LISTS}&limit=3`);
    expect(Object.keys(a.queues)).toEqual(['shared@stream', 'stream-1', 'stream-2']);
    expect(a.queues['stream-2']).toMatchObject({
      name: 'stream-2', framework: 'stream', waiting: 4, active: 2, enqueued: 102, oldestTaskAgeSeconds: 10,
      groups: { g1: { waiting: 3, active: 2, oldestTaskAgeSeconds: 10 }, g2: { waiting: 1, active: 0, oldestTaskAgeSeconds: 4 } },
    });
    const mid = await get('?offset=50000&limit=1');
    expect(mid.queues).toEqual({ 'list-50000': expect.objectContaining({ waiting: 50000 % 7, active: null, groups: null }) });
  });

  it('answers past the end with no queues, and limit=0 with the counts only', async () => {
    const end = await get(`?offset=${TOTAL + 10}`);
    expect(end.queues).toEqual({});
    expect(end.page).toMatchObject({ total: TOTAL, nextOffset: null });
    const last = await get(`?offset=${TOTAL - 2}`);
    expect(Object.keys(last.queues)).toEqual(['stream-998', 'stream-999']);
    expect(last.page.nextOffset).toBeNull();
    const none = await get('?limit=0');
    expect(none.queues).toEqual({});
    expect(none.page.total).toBe(TOTAL);
  });

  it('refuses a limit above the maximum or a negative offset with 400', async () => {
    for (const q of [`?limit=${MAX_QUEUE_PAGE + 1}`, '?offset=-1', '?limit=abc']) {
      const res = await app.inject({ method: 'GET', url: `/api/monitor${q}` });
      expect(res.statusCode, q).toBe(400);
    }
  });

  it('indexes a collection once, however many calls share it', () => {
    expect(indexCollection(collection)).toBe(indexCollection(collection));
    expect(indexCollection(collection).queues).toHaveLength(TOTAL);
    // Every call above answered from the shared collection (reuseForMs): none started another.
    expect(collects).toBe(0);
  });
});
