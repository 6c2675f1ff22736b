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
import { ReplyError, type Command, type ReadStep } from '../types.js';
import { int, parseTimestampMs, stringOrNull, type ReplyReader } from '../replies.js';
import { eachStep, type QueueState } from './framework-reads.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

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

/** The RQ layout: the queue and its registries as RQ counts them, then the head job's `enqueued_at`. */
export const rqLayout: QueueLayout<RqQueue> = {
  framework: 'rq',
  plan(q, nowMs) {
    const k = rqKeys(q.name);
    const labels = { queue: q.name, framework: 'rq' };
    const nowS = Math.floor(nowMs / 1000);
    let oldestId: string | null = null;
    let waiting: number | undefined;
    const commands: Command[] = [['LLEN', k.queue], ['LINDEX', k.queue, 0]];
    const readers: ReplyReader[] = [
      (r, sink) => {
        waiting = int(r, `LLEN ${k.queue}`);
        sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
      },
      (r) => {
        oldestId = stringOrNull(r, `LINDEX ${k.queue} 0`);
      },
    ];
    // Registries RQ cleans up on count(): live entries = all − those scored in [0, now].
    const cleaned: [QueueState, string][] = [
      ['active', k.wip],
      ['completed', k.finished],
      ['dead', k.failed],
    ];
    for (const [state, key] of cleaned) {
      let card: number | undefined;
      commands.push(['ZCARD', key], ['ZCOUNT', key, 0, nowS]);
      readers.push(
        (r) => (card = int(r, `ZCARD ${key}`)),
        (r, sink) => {
          const expired = int(r, `ZCOUNT ${key} 0 ${nowS}`);
          if (card === undefined) return; // the ZCARD failure is already reported
          sink.add('queue_tasks', { ...labels, state }, Math.max(0, card - expired));
        },
      );
    }
    const scheduled: (number | undefined)[] = [];
    commands.push(['ZCARD', k.scheduled], ['ZCARD', k.deferred]);
    readers.push(
      (r) => (scheduled[0] = int(r, `ZCARD ${k.scheduled}`)),
      (r) => (scheduled[1] = int(r, `ZCARD ${k.deferred}`)),
    );

    return [
      eachStep(commands, readers, (sink): ReadStep | void => {
        if (scheduled[0] !== undefined && scheduled[1] !== undefined) {
          sink.add('queue_tasks', { ...labels, state: 'scheduled' }, scheduled[0] + scheduled[1]);
        }
        if (oldestId === null) {
          if (waiting === 0) sink.add('queue_oldest_task_age_seconds', labels, 0);
          return;
        }
        const jobKey = k.job(oldestId);
        return {
          commands: [['HGET', jobKey, 'enqueued_at']],
          read(r, s) {
            const at = stringOrNull(r[0], `HGET ${jobKey} enqueued_at`);
            // Dequeued and deleted between the batches, or a stale id RQ would skip: unknown this scrape.
            if (at === null) return;
            const ms = parseTimestampMs(at);
            if (ms === undefined) throw new ReplyError(`HGET ${jobKey} enqueued_at: ${JSON.stringify(at.slice(0, 40))} is not a timestamp`);
            s.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, ms));
          },
        };
      }),
    ];
  },
};
