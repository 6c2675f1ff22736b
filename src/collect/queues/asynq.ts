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
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { attempt, flag, int, parseNumber, stringOrNull } from '../replies.js';
import { ReplyError, type ReadStep } from '../types.js';
import { addNamed, defineFramework } from './framework.js';
import { addCounters, addTaskCounts, oldestTaskAge, type QueueIdentity, type QueueLayout } from './layout.js';

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

/** `queue_tasks{state}` of the replies after the first two, in command order. */
const COUNTED = ['active', 'scheduled', 'retry', 'dead', 'completed'] as const;

/** The asynq layout: one batch of counts, counters and pause, then the oldest task's `pending_since`. */
export const asynqLayout: QueueLayout<AsynqQueue> = {
  framework: 'asynq',
  steps(q) {
    const k = asynqKeys(q.name);
    const labels = { queue: q.name, framework: 'asynq' };
    const counted = [k.active, k.scheduled, k.retry, k.archived, k.completed];
    const what = ['LLEN', 'ZCARD', 'ZCARD', 'ZCARD', 'ZCARD'].map((cmd, i) => `${cmd} ${counted[i]}`);
    const step: ReadStep<string> = {
      commands: [
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
      ],
      read(r, sink) {
        const waiting = attempt(sink, int, r[0], `LLEN ${k.pending}`);
        if (waiting !== undefined) sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
        const oldestId = attempt(sink, stringOrNull, r[1], `LINDEX ${k.pending} -1`);
        addTaskCounts(sink, labels, r, 2, COUNTED, what);
        addCounters(sink, labels, r[7], `GET ${k.processed}`, r[8], `GET ${k.failed}`);
        const paused = attempt(sink, flag, r[9], `EXISTS ${k.paused}`);
        if (paused !== undefined) sink.add('queue_paused', labels, paused);
        if (oldestId === null || oldestId === undefined) {
          if (waiting === 0) sink.add('queue_oldest_task_age_seconds', labels, 0);
          return undefined;
        }
        return oldestId;
      },
      // A task dequeued between the batches (dequeueCmd HDELs pending_since) has no age this scrape.
      then: oldestTaskAge(labels, k.task, 'pending_since', pendingSinceMs),
    };
    return [step];
  },
};

/**
 * asynq: queues from the `asynq:queues` registry; every key under `asynq:` is
 * asynq's (stream and list patterns skip them).
 */
export const asynq = defineFramework({
  name: 'asynq',
  layout: asynqLayout,
  discover: {
    schema: z.strictObject({ framework: z.literal('asynq'), ...thresholds }),
    byDefault: true,
    phase: 'named',
    registryKey: () => ASYNQ_QUEUES,
    ownedPrefix: () => 'asynq:',
    find(e, ctx) {
      addNamed(ctx, ctx.members ?? [], (name) => ({ name, key: asynqKeys(name).pending, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold }));
    },
  },
});
