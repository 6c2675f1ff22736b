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
import { array, int, numericString, readEach, type ReplyReader } from '../replies.js';
import type { Command, ReadStep } from '../types.js';
import { countInto, eachStep } from './framework-reads.js';
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

/** The BullMQ layout: one batch of counts, pause and metrics, then the oldest jobs' `timestamp`. */
export const bullmqLayout: QueueLayout<BullmqQueue> = {
  framework: 'bullmq',
  plan(q, nowMs) {
    const k = bullmqKeys(q.prefix, q.name);
    const labels = { queue: q.name, framework: 'bullmq' };
    const lens: { wait?: number; paused?: number; prioritized?: number } = {};
    const tails: { wait?: readonly unknown[]; paused?: readonly unknown[]; prioritized?: readonly unknown[] } = {};
    const metrics: { completed?: number | undefined; failed?: number | undefined; read: number } = { read: 0 };

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
    const readers: ReplyReader[] = [
      (r) => (lens.wait = int(r, `LLEN ${k.wait}`)),
      (r) => (tails.wait = array(r, `LRANGE ${k.wait} -2 -1`)),
      (r) => (lens.paused = int(r, `LLEN ${k.paused}`)),
      (r) => (tails.paused = array(r, `LRANGE ${k.paused} -2 -1`)),
      (r) => (lens.prioritized = int(r, `ZCARD ${k.prioritized}`)),
      (r) => (tails.prioritized = array(r, `ZRANGE ${k.prioritized} 0 0`)),
      countInto(labels, 'active', `LLEN ${k.active}`),
      countInto(labels, 'scheduled', `ZCARD ${k.delayed}`),
      countInto(labels, 'dead', `ZCARD ${k.failed}`),
      countInto(labels, 'completed', `ZCARD ${k.completed}`),
      (r, sink) => sink.add('queue_paused', labels, int(r, `HEXISTS ${k.meta} paused`) > 0 ? 1 : 0),
      (r) => {
        metrics.completed = numericString(r, `HGET ${k.metricsCompleted} count`);
        metrics.read++;
      },
      (r) => {
        metrics.failed = numericString(r, `HGET ${k.metricsFailed} count`);
        metrics.read++;
      },
    ];

    const step = eachStep(commands, readers, (sink): ReadStep | void => {
      // Metrics hashes exist only when workers enable metrics; one of them may not exist yet.
      if (metrics.read === 2 && (metrics.completed !== undefined || metrics.failed !== undefined)) {
        const failed = metrics.failed ?? 0;
        sink.add('queue_processed_total', labels, (metrics.completed ?? 0) + failed);
        sink.add('queue_failed_total', labels, failed);
      }
      if (lens.wait === undefined || lens.paused === undefined || lens.prioritized === undefined) return; // already reported
      if (!tails.wait || !tails.paused || !tails.prioritized) return;
      const wait = oldestOfTail(tails.wait);
      const paused = oldestOfTail(tails.paused);
      const waiting = lens.wait - (wait.marker ? 1 : 0) + lens.paused - (paused.marker ? 1 : 0) + lens.prioritized;
      sink.add('queue_tasks', { ...labels, state: 'waiting' }, Math.max(0, waiting));
      const ids = [wait.id, paused.id, tails.prioritized[0] === undefined ? undefined : String(tails.prioritized[0])].filter(
        (id): id is string => id !== undefined,
      );
      if (ids.length === 0) {
        sink.add('queue_oldest_task_age_seconds', labels, 0);
        return;
      }
      return {
        commands: ids.map((id): Command => ['HGET', k.job(id), 'timestamp']),
        read(replies, s) {
          let oldest: number | undefined;
          const readTs = (id: string): ReplyReader => (r) => {
            // A job taken or removed between the batches is skipped.
            const ts = numericString(r, `HGET ${k.job(id)} timestamp`);
            if (ts !== undefined && ts > 0 && (oldest === undefined || ts < oldest)) oldest = ts;
          };
          readEach(ids.map(readTs), replies, s);
          if (oldest !== undefined) s.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, oldest));
        },
      };
    });
    return [step];
  },
};
