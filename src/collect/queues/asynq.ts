/**
 * asynq queues (hibiken/asynq). Key layout from `internal/base/base.go`
 * (v0.26.0): every key of queue `q` starts with `asynq:{q}:` (hash-tagged, one
 * Cluster slot), queues are registered in the `asynq:queues` SET.
 *
 * | key | type | read as |
 * |---|---|---|
 * | `pending` | LIST, LPUSH by `enqueueCmd`, RPOPLPUSH from the tail by `dequeueCmd` (oldest at -1) | waiting |
 * | `active` | LIST | active |
 * | `lease` | ZSET task id → lease expiry (unix s), ZADD now + 30 s by `dequeueCmd`, extended by the worker's heartbeat (`RDB.ExtendLease`); the recoverer re-queues tasks scored ≤ now (`listLeaseExpiredCmd`) | stuck: active tasks whose lease expired (the worker is gone) |
 * | `groups` | SET of group names (`addToGroupCmd`) | aggregating, with… |
 * | `g:<group>` | ZSET task id → time added (`addToGroupCmd`) | …the sum of ZCARD over the groups (`currentStatsCmd`'s `aggregating_count`) |
 * | `scheduled` / `retry` / `archived` / `completed` | ZSET | scheduled / retry / dead / completed |
 * | `processed` / `failed` | STRING all-time counters; `processed` counts failures too (`retryCmd`, `archiveCmd` INCR both); reset to 1 at max int64 | `queue_processed_total` / `queue_failed_total` |
 * | `paused` | STRING, SETNX by `RDB.Pause`; exists ⇔ paused | `queue_paused` |
 * | `t:<id>` | HASH with `pending_since` = unix **nanoseconds** (`enqueueCmd`, `forwardCmd`) | oldest task age |
 *
 * These are the reads asynq's own `CurrentStats` (`internal/rdb/inspect.go`)
 * makes in Lua, sent here as plain commands. A task with an expired lease is
 * counted as `stuck` and not again as `active` (active = LLEN active − stuck).
 * Daily counters are not exported.
 *
 * First batch: LLEN, LINDEX -1, LLEN, ZCOUNT lease -inf now, 4 × ZCARD, 2 × GET,
 * EXISTS, SMEMBERS groups. Second batch: HGET `t:<oldest id>` `pending_since`
 * and one ZCARD per group (at most {@link MAX_GROUPS}; more are not counted).
 */
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { array, attempt, flag, int, parseNumber, stringOrNull } from '../replies.js';
import { clock, ReplyError, type ReadStep } from '../types.js';
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
    lease: `${p}lease`,
    groups: `${p}groups`,
    /** aggregation group ZSET of `group` (`base.GroupKey`) */
    group: (group: string) => `${p}g:${group}`,
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

/** `queue_tasks{state}` of the ZCARD replies, in command order. */
const COUNTED = ['scheduled', 'retry', 'dead', 'completed'] as const;

/** Aggregation groups counted per queue per scrape (one ZCARD each in the second batch). */
export const MAX_GROUPS = 1000;

/** The asynq layout: one batch of counts, counters and pause, then the oldest task's `pending_since`. */
export const asynqLayout: QueueLayout<AsynqQueue> = {
  framework: 'asynq',
  steps(q) {
    const k = asynqKeys(q.name);
    const labels = { queue: q.name, framework: 'asynq' };
    const counted = [k.scheduled, k.retry, k.archived, k.completed];
    const what = counted.map((key) => `ZCARD ${key}`);
    const step: ReadStep<string> = {
      commands: [
        ['LLEN', k.pending],
        ['LINDEX', k.pending, -1],
        ['LLEN', k.active],
        ['ZCOUNT', k.lease, '-inf', clock('s')],
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
        const active = attempt(sink, int, r[2], `LLEN ${k.active}`);
        const expired = attempt(sink, int, r[3], `ZCOUNT ${k.lease} -inf now`);
        if (active !== undefined && expired !== undefined) {
          // A lease can outlive its task for an instant (done, lease not yet removed): never above active.
          const stuck = Math.min(active, expired);
          sink.add('queue_tasks', { ...labels, state: 'active' }, active - stuck);
          sink.add('queue_tasks', { ...labels, state: 'stuck' }, stuck);
        }
        addTaskCounts(sink, labels, r, 4, COUNTED, what);
        addCounters(sink, labels, r[8], `GET ${k.processed}`, r[9], `GET ${k.failed}`);
        const paused = attempt(sink, flag, r[10], `EXISTS ${k.paused}`);
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
    const groups: ReadStep<string[]> = {
      commands: [['SMEMBERS', k.groups]],
      read(r, sink) {
        const names = attempt(sink, array, r[0], `SMEMBERS ${k.groups}`);
        if (names === undefined) return undefined;
        if (names.length === 0) {
          sink.add('queue_tasks', { ...labels, state: 'aggregating' }, 0);
          return undefined;
        }
        return names.slice(0, MAX_GROUPS).map((g) => String(g));
      },
      then: {
        commands: (names) => names.map((g) => ['ZCARD', k.group(g)]),
        read(r, names, sink) {
          let sum = 0;
          for (let i = 0; i < names.length; i++) sum += int(r[i], `ZCARD ${k.group(names[i]!)}`);
          sink.add('queue_tasks', { ...labels, state: 'aggregating' }, sum);
        },
      },
    };
    return [step, groups];
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
