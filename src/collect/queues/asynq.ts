/**
 * asynq queues (hibiken/asynq). Key layout from `internal/base/base.go`
 * (v0.26.0): every key of queue `q` starts with `asynq:{q}:` (hash-tagged, one
 * Cluster slot), queues are registered in the `asynq:queues` SET.
 *
 * | key | type | read as |
 * |---|---|---|
 * | `pending` | LIST, LPUSH by `enqueueCmd`, RPOPLPUSH from the tail by `dequeueCmd` (oldest at -1) | waiting |
 * | `active` | LIST | active |
 * | `scheduled` / `retry` / `archived` / `completed` | ZSET | scheduled / retry / dead / completed |
 * | `processed` / `failed` | STRING all-time counters; `processed` counts failures too (`retryCmd`, `archiveCmd` INCR both); reset to 1 at max int64 | `queue_processed_total` / `queue_failed_total` |
 * | `paused` | STRING, SETNX by `RDB.Pause`; exists ⇔ paused | `queue_paused` |
 * | `t:<id>` | HASH with `pending_since` = unix **nanoseconds** (`enqueueCmd`, `forwardCmd`) | oldest task age |
 *
 * These are the reads asynq's own `CurrentStats` (`internal/rdb/inspect.go`)
 * makes in Lua, sent here as plain commands. The `aggregating` state (task
 * groups) and daily counters are not exported.
 *
 * First batch: LLEN, LINDEX -1, LLEN, 4 × ZCARD, 2 × GET, EXISTS. Second
 * batch: HGET `t:<oldest id>` `pending_since`.
 */
import { ReplyError } from '../types.js';
import { int, parseNumber, stringOrNull, type ReplyReader } from '../replies.js';
import type { Command, ReadStep } from '../types.js';
import { countInto, counterValue, eachStep } from './framework-reads.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** An asynq queue: `name` is the asynq queue name (the `queue` label). */
export type AsynqQueue = QueueIdentity;

/** Keys of asynq queue `name` (`internal/base/base.go`). */
export function asynqKeys(name: string) {
  const p = `asynq:{${name}}:`;
  return {
    prefix: p,
    pending: `${p}pending`,
    active: `${p}active`,
    scheduled: `${p}scheduled`,
    retry: `${p}retry`,
    archived: `${p}archived`,
    completed: `${p}completed`,
    processed: `${p}processed`,
    failed: `${p}failed`,
    paused: `${p}paused`,
    /** task hash of `id` */
    task: (id: string) => `${p}t:${id}`,
  };
}

/** The SET of asynq queue names (`base.AllQueues`). */
export const ASYNQ_QUEUES = 'asynq:queues';

/**
 * Reads `pending_since` (unix nanoseconds, a decimal string up to 19 digits).
 * @returns unix milliseconds
 * @throws ReplyError when it is not a number
 */
export function pendingSinceMs(v: string, what: string): number {
  const ns = parseNumber(v, what);
  if (ns <= 0) throw new ReplyError(`${what}: pending_since ${v} is not a timestamp`);
  return ns / 1e6;
}

/** The asynq layout: one batch of counts, counters and pause, then the oldest task's `pending_since`. */
export const asynqLayout: QueueLayout<AsynqQueue> = {
  framework: 'asynq',
  plan(q, nowMs) {
    const k = asynqKeys(q.name);
    const labels = { queue: q.name, framework: 'asynq' };
    let oldestId: string | null = null;
    let waiting: number | undefined;
    const commands: Command[] = [
      ['LLEN', k.pending],
      ['LINDEX', k.pending, -1],
      ['LLEN', k.active],
      ['ZCARD', k.scheduled],
      ['ZCARD', k.retry],
      ['ZCARD', k.archived],
      ['ZCARD', k.completed],
      ['GET', k.processed],
      ['GET', k.failed],
      ['EXISTS', k.paused],
    ];
    const readers: ReplyReader[] = [
      (r, sink) => {
        waiting = int(r, `LLEN ${k.pending}`);
        sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
      },
      (r) => {
        oldestId = stringOrNull(r, `LINDEX ${k.pending} -1`);
      },
      countInto(labels, 'active', `LLEN ${k.active}`),
      countInto(labels, 'scheduled', `ZCARD ${k.scheduled}`),
      countInto(labels, 'retry', `ZCARD ${k.retry}`),
      countInto(labels, 'dead', `ZCARD ${k.archived}`),
      countInto(labels, 'completed', `ZCARD ${k.completed}`),
      (r, sink) => sink.add('queue_processed_total', labels, counterValue(r, `GET ${k.processed}`)),
      (r, sink) => sink.add('queue_failed_total', labels, counterValue(r, `GET ${k.failed}`)),
      (r, sink) => sink.add('queue_paused', labels, counterValue(r, `EXISTS ${k.paused}`) > 0 ? 1 : 0),
    ];
    const step = eachStep(commands, readers, (sink): ReadStep | void => {
      if (oldestId === null) {
        if (waiting === 0) sink.add('queue_oldest_task_age_seconds', labels, 0);
        return;
      }
      const taskKey = k.task(oldestId);
      return {
        commands: [['HGET', taskKey, 'pending_since']],
        read(r, s) {
          const since = stringOrNull(r[0], `HGET ${taskKey} pending_since`);
          // Dequeued between the batches (dequeueCmd HDELs pending_since): unknown this scrape.
          if (since === null) return;
          s.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, pendingSinceMs(since, `HGET ${taskKey} pending_since`)));
        },
      };
    });
    return [step];
  },
};
