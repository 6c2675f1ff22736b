/**
 * BullMQ queues (taskforcesh/bullmq). Key layout from `src/classes/queue-keys.ts`
 * (checked against bullmq 6.7.0 as installed): every key of queue `q` is
 * `<prefix>:<q>:<type>`, prefix `bull` by default (`{bull}` hash-tags a queue
 * into one Cluster slot). There is no queue registry; discovery SCANs for
 * `<prefix>:<q>:meta` / `<prefix>:<q>:id`.
 *
 * | key | type | read as |
 * |---|---|---|
 * | `wait` | LIST, LPUSH, workers take from the tail (oldest at -1) | waiting |
 * | `prioritized` | ZSET, score = priority × 2³² + counter (`includes/getPriorityScore.lua`) | waiting |
 * | `paused` | LIST, legacy (before v5 a paused queue's jobs moved here; `pause-7.lua` still drains it on resume) | waiting |
 * | `active` | LIST | active |
 * | `delayed` | ZSET | scheduled |
 * | `failed` / `completed` | ZSET | dead / completed |
 * | `meta` | HASH; field `paused` present ⇔ paused (`includes/isQueuePaused.lua`) | `queue_paused` |
 * | `metrics:completed` / `metrics:failed` | HASH field `count`, only when workers run with the `metrics` option (`includes/collectMetrics.lua`) | `queue_processed_total` (completed + failed) / `queue_failed_total` |
 * | `<jobId>` | HASH with `timestamp` = creation time in unix ms (`includes/storeJob.lua`) | oldest task age |
 *
 * Counts match BullMQ's `Queue.getJobCounts()` (`commands/getCounts-1.lua`),
 * including its rule that a legacy marker (`0:<ts>`, BullMQ < 5) at the tail
 * of `wait` is not a job, but without that script's write (it RPOPs the
 * marker). `waiting-children` (flows) has no row in the state table and is
 * not exported.
 *
 * First batch: LLEN + LRANGE -2 -1 of `wait` and `paused`, ZCARD + ZRANGE 0 0
 * of `prioritized`, LLEN `active`, ZCARD `delayed` `failed` `completed`,
 * HEXISTS `meta` `paused`, HGET both metrics hashes. Second batch: HGET
 * `timestamp` of the oldest job of `wait`, of `paused` and the next
 * prioritized job; the oldest of those gives the age. (The next prioritized
 * job is the one BullMQ serves next, not necessarily the oldest: a
 * low-priority job starved behind newer high-priority ones is not seen.)
 */
import { z } from 'zod';
import type { Command } from '../../redis/command.js';
import { thresholds } from '../../config/fields.js';
import { escapeGlob } from '../../redis/glob.js';
import { array, attempt, flag, int, numericString } from '../replies.js';
import type { ReadStep } from '../types.js';
import { addNamed, defineFramework } from './framework.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A BullMQ queue: `name` is the queue name, `prefix` the key prefix (`bull`). */
export type BullmqQueue = QueueIdentity & { readonly prefix: string };

/** Keys of BullMQ queue `name` under `prefix` (`src/classes/queue-keys.ts`). */
export function bullmqKeys(prefix: string, name: string) {
  const p = `${prefix}:${name}:`;
  return {
    /** `<prefix>:<name>`, BullMQ's qualified name */
    qualified: `${prefix}:${name}`,
    wait: `${p}wait`,
    paused: `${p}paused`,
    prioritized: `${p}prioritized`,
    active: `${p}active`,
    delayed: `${p}delayed`,
    failed: `${p}failed`,
    completed: `${p}completed`,
    meta: `${p}meta`,
    id: `${p}id`,
    metricsCompleted: `${p}metrics:completed`,
    metricsFailed: `${p}metrics:failed`,
    job: (id: string) => `${p}${id}`,
  };
}

/** True for BullMQ < 5's wait-list marker (`0:<timestamp>`), which is not a job (`getCounts-1.lua`). */
export function isLegacyMarker(entry: string): boolean {
  return entry.startsWith('0:');
}

/**
 * The job ids at the oldest end of a wait/paused list from `LRANGE key -2 -1`
 * ([second oldest, oldest]), skipping a legacy marker at the tail.
 * @returns the oldest job id and whether the tail was a marker.
 */
export function oldestOfTail(tail: readonly unknown[]): { id: string | undefined; marker: boolean } {
  const ids = tail.map((v) => String(v));
  const last = ids[ids.length - 1];
  if (last === undefined) return { id: undefined, marker: false };
  if (isLegacyMarker(last)) return { id: ids.length > 1 ? ids[ids.length - 2] : undefined, marker: true };
  return { id: last, marker: false };
}

/** A counter reply that may be missing (`null`) or a number; `undefined` is kept for "could not read". */
function optionalCount(reply: Parameters<typeof numericString>[0], what: string): number | null {
  return numericString(reply, what) ?? null;
}

/** `queue_tasks{state}` read from replies 6–9, in command order. */
const COUNTED = [
  [6, 'active'],
  [7, 'scheduled'],
  [8, 'dead'],
  [9, 'completed'],
] as const;

/** The BullMQ layout: one batch of counts, pause and metrics, then the oldest jobs' `timestamp`. */
export const bullmqLayout: QueueLayout<BullmqQueue> = {
  framework: 'bullmq',
  steps(q) {
    const k = bullmqKeys(q.prefix, q.name);
    const labels = { queue: q.name, framework: 'bullmq' };
    const commands: Command[] = [
      ['LLEN', k.wait],
      ['LRANGE', k.wait, -2, -1],
      ['LLEN', k.paused],
      ['LRANGE', k.paused, -2, -1],
      ['ZCARD', k.prioritized],
      ['ZRANGE', k.prioritized, 0, 0],
      ['LLEN', k.active],
      ['ZCARD', k.delayed],
      ['ZCARD', k.failed],
      ['ZCARD', k.completed],
      ['HEXISTS', k.meta, 'paused'],
      ['HGET', k.metricsCompleted, 'count'],
      ['HGET', k.metricsFailed, 'count'],
    ];
    const counted = [`LLEN ${k.active}`, `ZCARD ${k.delayed}`, `ZCARD ${k.failed}`, `ZCARD ${k.completed}`];
    /** Carry: the job ids whose `timestamp` the second batch reads (wait's oldest, paused's oldest, next prioritized). */
    const step: ReadStep<string[]> = {
      commands,
      read(r, sink) {
        const waitLen = attempt(sink, int, r[0], `LLEN ${k.wait}`);
        const waitTail = attempt(sink, array, r[1], `LRANGE ${k.wait} -2 -1`);
        const pausedLen = attempt(sink, int, r[2], `LLEN ${k.paused}`);
        const pausedTail = attempt(sink, array, r[3], `LRANGE ${k.paused} -2 -1`);
        const prioritizedLen = attempt(sink, int, r[4], `ZCARD ${k.prioritized}`);
        const prioritizedHead = attempt(sink, array, r[5], `ZRANGE ${k.prioritized} 0 0`);
        COUNTED.forEach(([i, state], n) => {
          const v = attempt(sink, int, r[i], counted[n]!);
          if (v !== undefined) sink.add('queue_tasks', { ...labels, state }, v);
        });
        const paused = attempt(sink, flag, r[10], `HEXISTS ${k.meta} paused`);
        if (paused !== undefined) sink.add('queue_paused', labels, paused);
        const completed = attempt(sink, optionalCount, r[11], `HGET ${k.metricsCompleted} count`);
        const failedCount = attempt(sink, optionalCount, r[12], `HGET ${k.metricsFailed} count`);

        // Metrics hashes exist only when workers enable metrics; one of them may not exist yet.
        if (completed !== undefined && failedCount !== undefined && (completed !== null || failedCount !== null)) {
          const failed = failedCount ?? 0;
          sink.add('queue_processed_total', labels, (completed ?? 0) + failed);
          sink.add('queue_failed_total', labels, failed);
        }
        if (waitLen === undefined || pausedLen === undefined || prioritizedLen === undefined) return undefined; // already reported
        if (!waitTail || !pausedTail || !prioritizedHead) return undefined;
        const wait = oldestOfTail(waitTail);
        const pausedList = oldestOfTail(pausedTail);
        const waiting = waitLen - (wait.marker ? 1 : 0) + pausedLen - (pausedList.marker ? 1 : 0) + prioritizedLen;
        sink.add('queue_tasks', { ...labels, state: 'waiting' }, Math.max(0, waiting));
        const ids = [wait.id, pausedList.id, prioritizedHead[0] === undefined ? undefined : String(prioritizedHead[0])].filter(
          (id): id is string => id !== undefined,
        );
        if (ids.length === 0) {
          sink.add('queue_oldest_task_age_seconds', labels, 0);
          return undefined;
        }
        return ids;
      },
      then: {
        commands: (ids) => ids.map((id): Command => ['HGET', k.job(id), 'timestamp']),
        read(r, ids, sink, nowMs) {
          let oldest: number | undefined;
          ids.forEach((id, i) => {
            // A job taken or removed between the batches is skipped.
            const ts = attempt(sink, numericString, r[i], `HGET ${k.job(id)} timestamp`);
            if (ts !== undefined && ts > 0 && (oldest === undefined || ts < oldest)) oldest = ts;
          });
          if (oldest !== undefined) sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, oldest));
        },
      },
    };
    return [step];
  },
};

/** The key prefix of BullMQ under `prefix`: every key of every queue starts with it. */
function bullmqOwnedPrefix(prefix: string): string {
  return `${prefix}:`;
}

/** `<prefix>:<name>:meta` or `:id` → name; BullMQ refuses names containing `:` (`QueueBase` constructor). */
export function bullmqMarker(prefix: string, key: string): { name: string; marker: 'meta' | 'id' } | undefined {
  const head = bullmqOwnedPrefix(prefix);
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const marker = rest.endsWith(':meta') ? 'meta' : rest.endsWith(':id') ? 'id' : undefined;
  if (!marker) return undefined;
  const name = rest.slice(0, rest.length - marker.length - 1);
  if (name === '' || name.includes(':')) return undefined;
  return { name, marker };
}

/**
 * BullMQ: no registry; one SCAN for both marker keys (`<prefix>:*:[im][de]*`
 * matches `…:meta` and `…:id` and a few others, filtered exactly by
 * {@link bullmqMarker}), then one TYPE batch: `meta` must be a HASH (`Queue`
 * writes it on creation) or `id` a STRING (INCR per added job). Every key
 * under `<prefix>:` is BullMQ's (its `events` streams are not stream queues).
 */
export const bullmq = defineFramework({
  name: 'bullmq',
  layout: bullmqLayout,
  discover: {
    schema: z.strictObject({ framework: z.literal('bullmq'), prefix: z.string().min(1).default('bull'), ...thresholds }),
    byDefault: true,
    phase: 'named',
    ownedPrefix: (e) => bullmqOwnedPrefix(e.prefix),
    async find(e, ctx) {
      const candidates = new Map<string, { name: string; marker: 'meta' | 'id' }>();
      const names = new Set<string>();
      await ctx.scan(`${escapeGlob(e.prefix)}:*:[im][de]*`, undefined, (key) => {
        const m = bullmqMarker(e.prefix, key);
        if (!m || candidates.has(key)) return;
        candidates.set(key, m);
        names.add(m.name);
        // Twice the cap in candidates is enough to fill it (a few may fail the TYPE check): stop reading the keyspace.
        return names.size < 2 * ctx.maxQueues;
      });
      if (candidates.size === 0) return;
      const keys = [...candidates.keys()];
      const replies = await ctx.exec(keys.map((key): Command => ['TYPE', key]), 'check BullMQ marker keys');
      const ok = new Set<string>();
      keys.forEach((key, i) => {
        const c = candidates.get(key);
        const type = replies[i]?.[1];
        if (!c) return;
        if ((c.marker === 'meta' && type === 'hash') || (c.marker === 'id' && type === 'string')) ok.add(c.name);
      });
      addNamed(ctx, [...ok].sort(), (name) => ({ name, key: bullmqKeys(e.prefix, name).wait, prefix: e.prefix, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold }));
    },
  },
});
