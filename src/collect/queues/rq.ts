/**
 * RQ queues (rq/rq, `rq/queue.py`, `rq/registry.py`, `rq/worker.py`,
 * `rq/worker_registration.py`; checked at RQ 1.13 as Debian packages it and at
 * 2.10).
 *
 * | key | type | read as |
 * |---|---|---|
 * | `rq:queues` | SET of queue **keys** (`rq:queue:<q>`) | discovery |
 * | `rq:queue:<q>` | LIST of job ids, RPUSH / LPOP (oldest at index 0); `Queue.count` is LLEN | waiting |
 * | `rq:wip:<q>` | ZSET `StartedJobRegistry`, member `<job id>` (1.x) or `<job id>:<execution id>` (2.x), score = expiry: now + min(timeout, 30 s monitoring interval) + 60 s, renewed by the worker's heartbeat (`Worker.get_heartbeat_ttl`, `Job.heartbeat`) | active; past its expiry: stuck |
 * | `rq:finished:<q>` / `rq:failed:<q>` | ZSETs scored by expiry (result / failure TTL) | completed / dead |
 * | `rq:scheduled:<q>` | ZSET scored by the time to enqueue (also a failed job's `Retry` with an interval) | scheduled |
 * | `rq:deferred:<q>` | ZSET `DeferredJobRegistry` (waiting for `depends_on`) | deferred |
 * | `rq:canceled:<q>` | ZSET `CanceledJobRegistry` (`Job.cancel`) | canceled |
 * | `rq:workers:<q>` | SET of the keys of workers listening on the queue (`worker_registration.register`) | `queue_workers` |
 * | `rq:job:<id>` | HASH with `enqueued_at` = UTC `%Y-%m-%dT%H:%M:%S.%fZ` (`utils.utcformat`) | oldest task age |
 *
 * RQ's `registry.count` runs `cleanup()` first, which for the started,
 * finished and failed registries removes entries scored `0 ≤ score ≤ now` —
 * a write, which queuescope never does. The same numbers are read without
 * writing: `ZCARD − ZCOUNT key 0 now` (now in whole unix seconds, as
 * `utils.current_timestamp`). A started entry past its expiry is a job whose
 * worker stopped heart-beating (killed, OOM): RQ's cleanup would move it to
 * failed; queuescope reports it as `stuck` (and not as `active`) until then.
 * `queue_workers` is `Worker.count(queue=q)`: SCARD of `rq:workers:<q>`
 * (a SIGKILLed worker stays in it until RQ's `clean_worker_registry`).
 * RQ keeps no per-queue processed / failed counters (only per worker) and no
 * per-queue pause.
 *
 * First batch: LLEN, LINDEX 0, (ZCARD + ZCOUNT) × 3, ZCARD × 3, SCARD. Second
 * batch: HGET `rq:job:<oldest id>` `enqueued_at`.
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
    canceled: `rq:canceled:${name}`,
    /** SET of the keys of workers listening on the queue (`worker_registration.WORKERS_BY_QUEUE_KEY`) */
    workers: `rq:workers:${name}`,
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
const CLEANED: readonly QueueState[] = ['completed', 'dead'];

/** The RQ layout: the queue and its registries as RQ counts them, then the head job's `enqueued_at`. */
export const rqLayout: QueueLayout<RqQueue> = {
  framework: 'rq',
  steps(q) {
    const k = rqKeys(q.name);
    const labels = { queue: q.name, framework: 'rq' };
    const cleaned = [k.finished, k.failed];
    // now in whole unix seconds, as `utils.current_timestamp`.
    const commands: PlannedCommand[] = [
      ['LLEN', k.queue],
      ['LINDEX', k.queue, 0],
      ['ZCARD', k.wip],
      ['ZCOUNT', k.wip, 0, clock('whole_s')],
    ];
    for (const key of cleaned) commands.push(['ZCARD', key], ['ZCOUNT', key, 0, clock('whole_s')]);
    commands.push(['ZCARD', k.scheduled], ['ZCARD', k.deferred], ['ZCARD', k.canceled], ['SCARD', k.workers]);
    const step: ReadStep<string> = {
      commands,
      read(r, sink, nowMs) {
        const nowS = Math.floor(nowMs / 1000);
        const waiting = attempt(sink, int, r[0], `LLEN ${k.queue}`);
        if (waiting !== undefined) sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
        const oldestId = attempt(sink, stringOrNull, r[1], `LINDEX ${k.queue} 0`);
        // Started entries past their expiry belong to a worker that stopped heart-beating: stuck, not active.
        const started = attempt(sink, int, r[2], `ZCARD ${k.wip}`);
        const expired = attempt(sink, int, r[3], `ZCOUNT ${k.wip} 0 ${nowS}`);
        if (started !== undefined && expired !== undefined) {
          sink.add('queue_tasks', { ...labels, state: 'active' }, Math.max(0, started - expired));
          sink.add('queue_tasks', { ...labels, state: 'stuck' }, expired);
        }
        CLEANED.forEach((state, i) => {
          const key = cleaned[i]!;
          const card = attempt(sink, int, r[4 + 2 * i], `ZCARD ${key}`);
          const gone = attempt(sink, int, r[5 + 2 * i], `ZCOUNT ${key} 0 ${nowS}`);
          // A failed ZCARD or ZCOUNT is already reported.
          if (card !== undefined && gone !== undefined) sink.add('queue_tasks', { ...labels, state }, Math.max(0, card - gone));
        });
        const plain: [QueueState, string][] = [
          ['scheduled', k.scheduled],
          ['deferred', k.deferred],
          ['canceled', k.canceled],
        ];
        plain.forEach(([state, key], i) => {
          const n = attempt(sink, int, r[8 + i], `ZCARD ${key}`);
          if (n !== undefined) sink.add('queue_tasks', { ...labels, state }, n);
        });
        const workers = attempt(sink, int, r[11], `SCARD ${k.workers}`);
        if (workers !== undefined) sink.add('queue_workers', labels, workers);
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
