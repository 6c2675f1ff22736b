/**
 * The reference workload of shared/spec/testing.md ("Benchmark"): 1,000 list
 * queues with companions, 300 streams with 2 consumer groups each, 200
 * timeline zsets, a few components. Loaded with large pipelines (a few
 * seconds), it returns what queuescope is configured with and the exact keys
 * redis_exporter is given, so both read the same keys.
 *
 * More loaders (discovered frameworks: BullMQ, asynq, Sidekiq…) plug in as
 * {@link WorkloadLoader}s: add one to {@link WORKLOAD_LOADERS}, or pass
 * `extraLoaders` to {@link loadWorkload}. A loader writes its keys and returns
 * a {@link WorkloadPart}: declared queues and/or `discover:` entries for
 * queuescope, and the keys/streams redis_exporter should check to read the
 * same data.
 */
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { componentSchema, discoverSchema, queueSchema } from '../src/config/schema.js';

/** A `queues:` entry as written in queuescope.yaml (durations as strings). */
export type QueueInput = z.input<typeof queueSchema>;
type ListInput = Extract<QueueInput, { type: 'list' }>;
type StreamInput = Extract<QueueInput, { type: 'stream' }>;
/** A `components:` entry as written in queuescope.yaml. */
export type ComponentInput = z.input<typeof componentSchema>;
/** A `discover:` entry as written in queuescope.yaml. */
export type DiscoverInput = z.input<typeof discoverSchema>;

/** What one loader wrote, and how to watch it. */
export interface WorkloadPart {
  /** Short name for the report, e.g. `reference`, `bullmq`. */
  readonly name: string;
  readonly queues: QueueInput[];
  readonly components: ComponentInput[];
  /** `discover:` entries (empty for the reference workload: every queue is declared). */
  readonly discover: DiscoverInput[];
  /** Exact key names for redis_exporter's `-check-single-keys`. */
  readonly exporterKeys: string[];
  /** Exact stream names for redis_exporter's `-check-single-streams`. */
  readonly exporterStreams: string[];
  /** Counts for the report (queues, keys, entries…). */
  readonly summary: Record<string, number>;
}

/** Writes keys into `redis` (an admin connection, direct) as of `nowMs`. */
export type WorkloadLoader = (redis: Redis, nowMs: number) => Promise<WorkloadPart>;

/** The whole workload: every part merged. */
export interface Workload {
  readonly parts: readonly WorkloadPart[];
  readonly queues: QueueInput[];
  readonly components: ComponentInput[];
  readonly discover: DiscoverInput[];
  readonly exporterKeys: string[];
  readonly exporterStreams: string[];
  /** Wall time spent loading, ms. */
  readonly loadMs: number;
}

type Cmd = [string, ...(string | number)[]];

/**
 * Sends `commands` as pipelines of `chunk` commands.
 * @throws the first error reply (a loader bug, not something to measure).
 */
export async function pipelined(redis: Redis, commands: Cmd[], chunk = 5000): Promise<void> {
  for (let i = 0; i < commands.length; i += chunk) {
    const slice = commands.slice(i, i + chunk);
    const res = await redis.pipeline(slice.map(([name, ...args]) => [name.toLowerCase(), ...args])).exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw new Error(`loading the workload failed: ${failed[0].message}`);
  }
}

/** Sizes of the reference workload (the defaults are testing.md's). */
export interface ReferenceSizes {
  readonly lists: number;
  readonly streams: number;
  readonly timelines: number;
  readonly components: number;
}

export const REFERENCE_SIZES: ReferenceSizes = { lists: 1000, streams: 300, timelines: 200, components: 5 };

/**
 * Loads the reference workload:
 * - list queue i: `bq:i` LIST of ~100 ids (RPUSH, oldest at the head), `bq:i:details`
 *   HASH id -> JSON with `created_at` (unix s) for waiting, done and failed ids,
 *   `bq:i:done` / `bq:i:failed` SETs; the first 200 also have a `bq:i:tl` timeline
 *   ZSET (scores in seconds over the last 2 h) with windows 1m/5m/1h;
 * - stream i: `bs:i`, 100 entries a second apart; group `g1` has delivered 60 and
 *   acked 40 (20 pending, 40 lag); `g2` is either caught up with nothing pending
 *   (even i) or has delivered 10 unacked (odd i: 10 pending, 90 lag); every tenth
 *   stream has `:retry` and `:dlq` streams;
 * - components `comp:n` with a heartbeat, a counter, a last duration and recent durations.
 */
export function referenceLoader(sizes: ReferenceSizes = REFERENCE_SIZES): WorkloadLoader {
  return async (redis, nowMs) => {
    const nowS = Math.floor(nowMs / 1000);
    const cmds: Cmd[] = [];
    const queues: QueueInput[] = [];
    const exporterKeys: string[] = [];
    const exporterStreams: string[] = [];
    let entries = 0;

    for (let i = 0; i < sizes.lists; i++) {
      const key = `bq:${i}`;
      const details = `${key}:details`;
      const done = `${key}:done`;
      const failed = `${key}:failed`;
      const waiting = 90 + (i % 21); // 90..110
      const nDone = 30;
      const nFailed = 5 + (i % 16);
      const total = waiting + nDone + nFailed;
      const hset: Cmd = ['HSET', details];
      const ids: string[] = [];
      for (let j = 0; j < total; j++) {
        const id = `t${j}`;
        ids.push(id);
        // Oldest first: task j created (total - j) * 20 s ago (the head waits ~40-45 min).
        hset.push(id, `{"id":"${id}","queue":"${key}","created_at":${nowS - (total - j) * 20}}`);
      }
      cmds.push(['DEL', key, details, done, failed]);
      cmds.push(hset);
      cmds.push(['SADD', done, ...ids.slice(0, nDone)]);
      cmds.push(['SADD', failed, ...ids.slice(nDone, nDone + nFailed)]);
      cmds.push(['RPUSH', key, ...ids.slice(nDone + nFailed)]);
      const q: ListInput = {
        type: 'list', name: `list-${i}`, key, oldestAt: 'head', details, done, failed, backlogThreshold: 1000, latencyThreshold: '5m',
        windows: ['1m', '5m', '1h'],
      };
      exporterKeys.push(key, details, done, failed);
      if (i < sizes.timelines) {
        const tl = `${key}:tl`;
        const zadd: Cmd = ['ZADD', tl];
        for (let j = 0; j < total; j++) zadd.push(nowS - (total - j) * 50, ids[j]!); // spread over ~2 h
        cmds.push(['DEL', tl], zadd);
        q.timeline = tl;
        exporterKeys.push(tl);
      }
      queues.push(q);
      entries += total;
    }

    const streamBaseMs = nowMs - 200_000;
    for (let i = 0; i < sizes.streams; i++) {
      const key = `bs:${i}`;
      cmds.push(['DEL', key]);
      for (let k = 0; k < 100; k++) cmds.push(['XADD', key, `${streamBaseMs + k * 1000}-0`, 'task', `${i}:${k}`]);
      cmds.push(['XGROUP', 'CREATE', key, 'g1', '0']);
      cmds.push(['XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', 30, 'STREAMS', key, '>']);
      cmds.push(['XREADGROUP', 'GROUP', 'g1', 'c2', 'COUNT', 30, 'STREAMS', key, '>']);
      const acked: string[] = [];
      for (let k = 0; k < 40; k++) acked.push(`${streamBaseMs + k * 1000}-0`);
      cmds.push(['XACK', key, 'g1', ...acked]);
      if (i % 2 === 0) {
        cmds.push(['XGROUP', 'CREATE', key, 'g2', '$']);
      } else {
        cmds.push(['XGROUP', 'CREATE', key, 'g2', '0']);
        cmds.push(['XREADGROUP', 'GROUP', 'g2', 'c1', 'COUNT', 10, 'STREAMS', key, '>']);
      }
      const q: StreamInput = { type: 'stream', name: `stream-${i}`, key, groups: [], consumers: true, backlogThreshold: 1000, latencyThreshold: '5m' };
      exporterStreams.push(key);
      if (i % 10 === 0) {
        for (const [suffix, field] of [['retry', 'retry'], ['dlq', 'dead']] as const) {
          const k2 = `${key}:${suffix}`;
          cmds.push(['DEL', k2], ['XADD', k2, '*', 'task', 'a'], ['XADD', k2, '*', 'task', 'b'], ['XADD', k2, '*', 'task', 'c']);
          q[field] = k2;
          exporterKeys.push(k2);
        }
      }
      queues.push(q);
      entries += 100;
    }

    const components: ComponentInput[] = [];
    for (let n = 0; n < sizes.components; n++) {
      const base = `comp:${n}`;
      cmds.push(['SET', `${base}:hb`, String(nowS - n)]);
      cmds.push(['SET', `${base}:total`, String(1_000_000 + n)]);
      cmds.push(['SET', `${base}:last`, String(30 + n)]);
      cmds.push(['DEL', `${base}:durations`], ['RPUSH', `${base}:durations`, '30', '40', '50', '60']);
      components.push({ name: `component-${n}`, heartbeat: `${base}:hb`, staleAfter: '30s', total: `${base}:total`, lastDuration: `${base}:last`, durations: `${base}:durations` });
      exporterKeys.push(`${base}:hb`, `${base}:total`, `${base}:last`, `${base}:durations`);
    }

    await pipelined(redis, cmds);
    return {
      name: 'reference',
      queues,
      components,
      discover: [],
      exporterKeys,
      exporterStreams,
      summary: {
        listQueues: sizes.lists,
        streams: sizes.streams,
        consumerGroups: sizes.streams * 2,
        timelineZsets: sizes.timelines,
        components: sizes.components,
        exporterKeys: exporterKeys.length,
        exporterStreams: exporterStreams.length,
        elements: entries,
      },
    };
  };
}

/** Loads the reference workload of testing.md. */
export const loadReferenceWorkload: WorkloadLoader = referenceLoader();

/**
 * Loaders `npm run bench` runs, in order. Add framework loaders here (e.g. a
 * BullMQ loader returning `discover: [{ framework: 'bullmq' }]` and the
 * `bull:*` keys for redis_exporter).
 */
export const WORKLOAD_LOADERS: WorkloadLoader[] = [loadReferenceWorkload];

/**
 * Flushes nothing (the bench owns its Redis); runs every loader and merges their parts.
 * @param loaders default {@link WORKLOAD_LOADERS}
 * @param extraLoaders appended after `loaders`
 */
export async function loadWorkload(
  redis: Redis,
  opts: { nowMs?: number; loaders?: readonly WorkloadLoader[]; extraLoaders?: readonly WorkloadLoader[] } = {},
): Promise<Workload> {
  const t0 = performance.now();
  const nowMs = opts.nowMs ?? Date.now();
  const parts: WorkloadPart[] = [];
  for (const load of [...(opts.loaders ?? WORKLOAD_LOADERS), ...(opts.extraLoaders ?? [])]) parts.push(await load(redis, nowMs));
  return {
    parts,
    queues: parts.flatMap((p) => p.queues),
    components: parts.flatMap((p) => p.components),
    discover: parts.flatMap((p) => p.discover),
    exporterKeys: parts.flatMap((p) => p.exporterKeys),
    exporterStreams: parts.flatMap((p) => p.exporterStreams),
    loadMs: performance.now() - t0,
  };
}
