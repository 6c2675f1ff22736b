/**
 * The scale workloads of issue 14: many small queues, to show how a scrape's
 * cost grows with the number of queues (1k / 10k / 50k) rather than with the
 * size of each queue.
 *
 * - lists: `sl:i` (declared) or `dl:i` (discovered), plain LISTs of 5 ids, no
 *   companion keys: the "plain list queue" whose series count the issue caps at 2;
 * - streams: `ss:i` / `ds:i`, 20 entries, one group `g1` that has been
 *   delivered 10 (10 pending, 10 lag), one consumer;
 * - zsets: `sz:i` delay queues (declared only: zsets are not discovered), 5
 *   due members and 5 scheduled in the future, scores in unix seconds.
 *
 * Declared mode writes `queues:` entries with the default thresholds (so no
 * per-queue threshold series are needed); discovered mode writes `discover:`
 * entries matching the keys, and raises `scrape.maxQueues` above the count.
 */
import type { Redis } from 'ioredis';
import { pipelined, type DiscoverInput, type QueueInput } from './workload.js';

type Cmd = [string, ...(string | number)[]];

/** Shape of one scale workload. */
export interface ScaleSizes {
  readonly lists: number;
  readonly streams: number;
  readonly zsets: number;
  /** Discover the queues by pattern instead of declaring them. */
  readonly discovered: boolean;
}

/** What a scale workload wrote and how both exporters are pointed at it. */
export interface ScaleWorkload {
  readonly label: string;
  readonly sizes: ScaleSizes;
  readonly queues: number;
  /** queuescope config (without `redis:`). */
  readonly config: Record<string, unknown>;
  /** redis_exporter `-check-keys` / `-check-streams` patterns. */
  readonly exporterKeyPatterns: string[];
  readonly exporterStreamPatterns: string[];
  readonly loadMs: number;
}

/** `n` lists, `n/10` streams, `n/10` zsets (10,000 lists + 1,000 streams + 1,000 zsets for n = 10,000). */
export function scaleSizes(lists: number, discovered: boolean): ScaleSizes {
  const tenth = Math.max(1, Math.round(lists / 10));
  return { lists, streams: tenth, zsets: discovered ? 0 : tenth, discovered };
}

/**
 * Writes the workload into `redis` (the bench's own server; the caller has
 * flushed it) with pipelines.
 */
export async function loadScaleWorkload(redis: Redis, sizes: ScaleSizes, nowMs = Date.now()): Promise<ScaleWorkload> {
  const t0 = performance.now();
  const nowS = Math.floor(nowMs / 1000);
  const lp = sizes.discovered ? 'dl' : 'sl';
  const sp = sizes.discovered ? 'ds' : 'ss';
  const queues: QueueInput[] = [];
  let cmds: Cmd[] = [];
  const flush = async (): Promise<void> => {
    await pipelined(redis, cmds);
    cmds = [];
  };
  for (let i = 0; i < sizes.lists; i++) {
    const key = `${lp}:${i}`;
    cmds.push(['RPUSH', key, 't1', 't2', 't3', 't4', 't5']);
    if (!sizes.discovered) queues.push({ type: 'list', name: `list-${i}`, key });
    if (cmds.length >= 20_000) await flush();
  }
  const base = nowMs - 60_000;
  for (let i = 0; i < sizes.streams; i++) {
    const key = `${sp}:${i}`;
    for (let k = 0; k < 20; k++) cmds.push(['XADD', key, `${base + k * 1000}-0`, 'task', String(k)]);
    cmds.push(['XGROUP', 'CREATE', key, 'g1', '0']);
    cmds.push(['XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', 10, 'STREAMS', key, '>']);
    if (!sizes.discovered) queues.push({ type: 'stream', name: `stream-${i}`, key });
    if (cmds.length >= 20_000) await flush();
  }
  for (let i = 0; i < sizes.zsets; i++) {
    const key = `sz:${i}`;
    const zadd: Cmd = ['ZADD', key];
    for (let k = 0; k < 10; k++) zadd.push(nowS + (k < 5 ? -600 + k * 60 : 600 + k * 60), `z${k}`);
    cmds.push(zadd);
    queues.push({ type: 'zset', name: `zset-${i}`, key });
    if (cmds.length >= 20_000) await flush();
  }
  await flush();

  const total = sizes.lists + sizes.streams + sizes.zsets;
  const discover: DiscoverInput[] = sizes.discovered
    ? [
        { framework: 'list', match: `${lp}:*` },
        { framework: 'stream', match: `${sp}:*` },
      ]
    : [];
  const config: Record<string, unknown> = {
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    queues,
    discover,
    // Discovery stops at maxQueues (default 5000); the bench wants all of them.
    scrape: { maxQueues: Math.max(5000, total * 2) },
  };
  const keyPatterns = sizes.discovered ? [`${lp}:*`] : [`${lp}:*`, 'sz:*'];
  return {
    label: `${sizes.discovered ? 'discovered' : 'declared'} ${sizes.lists} lists + ${sizes.streams} streams${sizes.zsets ? ` + ${sizes.zsets} zsets` : ''}`,
    sizes,
    queues: total,
    config,
    exporterKeyPatterns: keyPatterns,
    exporterStreamPatterns: [`${sp}:*`],
    loadMs: performance.now() - t0,
  };
}
