/**
 * RQ queues (rq/rq, `rq/queue.py` and `rq/registry.py`, checked at RQ 2.10.0).
 *
 * | key | type | read as |
 * |---|---|---|
 * | `rq:queues` | SET of queue **keys** (`rq:queue:<q>`) | discovery |
 * | `rq:queue:<q>` | LIST of job ids, RPUSH / LPOP (oldest at index 0); `Queue.count` is LLEN | waiting |
 * | `rq:wip:<q>` | ZSET `StartedJobRegistry`, member `<job id>:<execution id>`, score = expiry (now + timeout + 60 s, or `+inf`) | active |
 * | `rq:finished:<q>` / `rq:failed:<q>` | ZSETs scored by expiry (result / failure TTL) | completed / dead |
 * | `rq:scheduled:<q>` | ZSET scored by the time to enqueue | scheduled |
 * | `rq:deferred:<q>` | ZSET (waiting for dependencies), scored by creation time | scheduled |
 * | `rq:job:<id>` | HASH with `enqueued_at` = UTC `%Y-%m-%dT%H:%M:%S.%fZ` (`utils.utcformat`) | oldest task age |
 *
 * RQ's `registry.count` runs `cleanup()` first, which for the started,
 * finished and failed registries removes entries scored `0 ≤ score ≤ now`
 * (expired: a crashed worker's job, results past their TTL) — a write, which
 * queuescope never does. The same number is read without writing:
 * `ZCARD − ZCOUNT key 0 now` (now in whole unix seconds, as
 * `utils.current_timestamp`), so an expired entry a scrape would otherwise
 * count as active is left out, as RQ's own `rq info` leaves it out. The
 * scheduled and deferred registries have no cleanup (ZCARD). `rq:canceled:<q>`
 * has no row in the state table; RQ keeps no per-queue processed / failed
 * counters (only per worker) and no per-queue pause.
 *
 * First batch: LLEN, LINDEX 0, (ZCARD + ZCOUNT) × 3, ZCARD × 2. Second batch:
 * HGET `rq:job:<oldest id>` `enqueued_at`.
 */
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { attempt, int, parseTimestampMs, stringOrNull } from '../replies.js';
import { clock, ReplyError, type PlannedCommand, type ReadStep } from '../types.js';
import { addNamed, defineFramework } from './framework.js';
import { oldestTaskAge, type QueueIdentity, type QueueLayout, type QueueState } from './layout.js';

/** An RQ queue: `name` is the queue name (`rq:queue:<name>`). */
export type RqQueue = QueueIdentity;

/** The SET of registered queue keys (`Queue.redis_queues_keys`). */
export const RQ_QUEUES = 'rq:queues';
/** Prefix of queue keys (`Queue.redis_queue_namespace_prefix`). */
export const RQ_QUEUE_PREFIX = 'rq:queue:';

/** Keys of RQ queue `name` (`rq/queue.py`, `rq/registry.py` key templates). */
export function rqKeys(name: string) {
  return {
    queue: `${RQ_QUEUE_PREFIX}${name}`,
    wip: `rq:wip:${name}`,
    finished: `rq:finished:${name}`,
    failed: `rq:failed:${name}`,
    scheduled: `rq:scheduled:${name}`,
    deferred: `rq:deferred:${name}`,
    job: (id: string) => `rq:job:${id}`,
  };
}

/**
 * Reads a job's `enqueued_at` (`utils.utcformat`, UTC without zone).
 * @returns unix ms
 * @throws ReplyError when it is not a timestamp
 */
function enqueuedAtMs(at: string, what: string): number {
  const ms = parseTimestampMs(at);
  if (ms === undefined) throw new ReplyError(`${what}: ${JSON.stringify(at.slice(0, 40))} is not a timestamp`);
  return ms;
}

/** Registries RQ cleans up on count(), in command order: live entries = all − those scored in [0, now]. */
const CLEANED: readonly QueueState[] = ['active', 'completed', 'dead'];

/** The RQ layout: the queue and its registries as RQ counts them, then the head job's `enqueued_at`. */
export const rqLayout: QueueLayout<RqQueue> = {
  framework: 'rq',
  steps(q) {
    const k = rqKeys(q.name);
    const labels = { queue: q.name, framework: 'rq' };
    const cleaned = [k.wip, k.finished, k.failed];
    const commands: PlannedCommand[] = [['LLEN', k.queue], ['LINDEX', k.queue, 0]];
    // now in whole unix seconds, as `utils.current_timestamp`.
    for (const key of cleaned) commands.push(['ZCARD', key], ['ZCOUNT', key, 0, clock('whole_s')]);
    commands.push(['ZCARD', k.scheduled], ['ZCARD', k.deferred]);
    const step: ReadStep<string> = {
      commands,
      read(r, sink, nowMs) {
        const nowS = Math.floor(nowMs / 1000);
        const waiting = attempt(sink, int, r[0], `LLEN ${k.queue}`);
        if (waiting !== undefined) sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
        const oldestId = attempt(sink, stringOrNull, r[1], `LINDEX ${k.queue} 0`);
        CLEANED.forEach((state, i) => {
          const key = cleaned[i]!;
          const card = attempt(sink, int, r[2 + 2 * i], `ZCARD ${key}`);
          const expired = attempt(sink, int, r[3 + 2 * i], `ZCOUNT ${key} 0 ${nowS}`);
          // A failed ZCARD or ZCOUNT is already reported.
          if (card !== undefined && expired !== undefined) sink.add('queue_tasks', { ...labels, state }, Math.max(0, card - expired));
        });
        const scheduled = attempt(sink, int, r[8], `ZCARD ${k.scheduled}`);
        const deferred = attempt(sink, int, r[9], `ZCARD ${k.deferred}`);
        if (scheduled !== undefined && deferred !== undefined) sink.add('queue_tasks', { ...labels, state: 'scheduled' }, scheduled + deferred);
        if (oldestId === null || oldestId === undefined) {
          if (waiting === 0) sink.add('queue_oldest_task_age_seconds', labels, 0);
          return undefined;
        }
        return oldestId;
      },
      // A job dequeued and deleted between the batches, or a stale id RQ would skip, has no age this scrape.
      then: oldestTaskAge(labels, k.job, 'enqueued_at', enqueuedAtMs),
    };
    return [step];
  },
};

/** RQ: queues from the `rq:queues` registry (members are queue keys); every key under `rq:` is RQ's. */
export const rq = defineFramework({
  name: 'rq',
  layout: rqLayout,
  discover: {
    schema: z.strictObject({ framework: z.literal('rq'), ...thresholds }),
    byDefault: true,
    phase: 'named',
    registryKey: () => RQ_QUEUES,
    ownedPrefix: () => 'rq:',
    find(e, ctx) {
      const names = (ctx.members ?? []).filter((m) => m.startsWith(RQ_QUEUE_PREFIX) && m.length > RQ_QUEUE_PREFIX.length).map((m) => m.slice(RQ_QUEUE_PREFIX.length));
      addNamed(ctx, names, (name) => ({ name, key: rqKeys(name).queue, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold }));
    },
  },
});
