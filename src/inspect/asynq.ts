/**
 * asynq task inspector (keys: `collect/queues/asynq.ts`, hibiken/asynq
 * v0.26.0 `internal/base/base.go`, `internal/rdb/rdb.go`).
 *
 * | state | read |
 * |---|---|
 * | waiting | `pending` LRANGE -N -1 (LPUSH by enqueue, RPOPLPUSH from the tail by dequeue) |
 * | active | `active` LRANGE -N -1 |
 * | stuck | `lease` ZRANGE -inf now BYSCORE LIMIT 0 N: active tasks whose lease (score = expiry, unix s) ran out — the worker died; asynq's recoverer will retry them |
 * | scheduled / retry | `scheduled` / `retry` ZRANGE 0 N-1 WITHSCORES (score = when it runs, unix s) |
 * | dead | `archived` ZRANGE 0 N-1 WITHSCORES (score = when it was archived) |
 *
 * Second batch: HMGET `t:<id>` `msg` `state` `pending_since` (unix ns) per
 * task; `msg` is the protobuf TaskMessage (`asynq-message.ts`) with the
 * type, payload, retried count and last error.
 */
import type { Command } from '../redis/command.js';
import { asynqKeys, type AsynqQueue } from '../collect/queues/asynq.js';
import { decodeAsynqMessage } from './asynq-message.js';
import { each, hmget, oldestFirstFromTail, score, totalInto, withScores } from './reads.js';
import { makeTask, numField, type TaskFacts } from './task.js';
import type { InspectRequest, InspectStep, Inspector, TaskState } from './types.js';

const TASK_FIELDS = ['msg', 'state', 'pending_since'] as const;

/** asynq's `state` field values → view states. */
const STATE_OF: Record<string, TaskState> = {
  pending: 'waiting', active: 'active', scheduled: 'scheduled', retry: 'retry', archived: 'dead', completed: 'completed', aggregating: 'waiting',
};

interface Candidate {
  state: TaskState;
  id: string;
  /** zset score, unix s */
  score?: number;
}

/** Facts of one task hash (undefined when it is gone). */
export function asynqTaskFacts(c: Candidate, hash: Record<string, string | null> | undefined): TaskFacts | undefined {
  if (!hash) return undefined;
  const msg = hash.msg ? decodeAsynqMessage(hash.msg) : undefined;
  const pendingNs = numField(hash.pending_since);
  const scoreMs = c.score === undefined ? undefined : c.score * 1000;
  const failed = msg?.lastFailedAt !== undefined && msg.lastFailedAt > 0 ? msg.lastFailedAt * 1000 : c.state === 'dead' ? scoreMs : undefined;
  return {
    id: c.id,
    state: c.state,
    name: msg?.type,
    enqueuedAtMs: pendingNs !== undefined ? pendingNs / 1e6 : undefined,
    // `retried` counts retries; the failed executions are one more once it has an error.
    attempts: msg?.retried !== undefined ? msg.retried + (msg.errorMsg ? 1 : 0) : msg?.errorMsg ? 1 : msg ? 0 : undefined,
    error: msg?.errorMsg,
    failedAtMs: msg?.errorMsg ? failed : undefined,
    dueAtMs: c.state === 'scheduled' || c.state === 'retry' || c.state === 'stuck' ? scoreMs : undefined,
    payload: msg?.payload ?? (msg ? null : hash.msg),
  };
}

function hashStep(q: AsynqQueue, candidates: readonly Candidate[], req: InspectRequest): InspectStep {
  const k = asynqKeys(q.name);
  return {
    commands: candidates.map((c): Command => ['HMGET', k.task(c.id), ...TASK_FIELDS]),
    read(replies, sink) {
      candidates.forEach((c, i) =>
        each(sink, [
          () => {
            const facts = asynqTaskFacts(c, hmget(replies[i], TASK_FIELDS, `HMGET ${k.task(c.id)}`));
            if (facts) sink.task(makeTask(facts, req));
          },
        ]),
      );
    },
  };
}

export const asynqInspector: Inspector<AsynqQueue> = {
  framework: 'asynq',
  states: ['waiting', 'active', 'stuck', 'scheduled', 'retry', 'dead'],
  list(q, req) {
    const k = asynqKeys(q.name);
    const n = req.limit;
    const nowS = Math.floor(req.nowMs / 1000);
    const commands: Command[] = [];
    const readers: ((r: readonly import('../redis/command.js').Reply[], at: number, out: Candidate[], sink: import('./types.js').InspectSink) => number)[] = [];
    for (const [state, key] of [['waiting', k.pending], ['active', k.active]] as const) {
      if (!req.states.has(state)) continue;
      commands.push(['LLEN', key], ['LRANGE', key, -n, -1]);
      readers.push((r, at, out, sink) => {
        each(sink, [() => totalInto(sink, state, r[at], `LLEN ${key}`), () => oldestFirstFromTail(r[at + 1], `LRANGE ${key}`).forEach((id) => out.push({ state, id }))]);
        return 2;
      });
    }
    if (req.states.has('stuck')) {
      commands.push(['ZCOUNT', k.prefix + 'lease', '-inf', nowS], ['ZRANGE', k.prefix + 'lease', '-inf', nowS, 'BYSCORE', 'LIMIT', 0, n, 'WITHSCORES']);
      readers.push((r, at, out, sink) => {
        each(sink, [
          () => totalInto(sink, 'stuck', r[at], `ZCOUNT ${k.prefix}lease`),
          () => withScores(r[at + 1], `ZRANGE ${k.prefix}lease`).forEach((m) => out.push({ state: 'stuck', id: m.member, score: m.score })),
        ]);
        return 2;
      });
    }
    for (const [state, key] of [['scheduled', k.scheduled], ['retry', k.retry], ['dead', k.archived]] as const) {
      if (!req.states.has(state)) continue;
      commands.push(['ZCARD', key], ['ZRANGE', key, 0, n - 1, 'WITHSCORES']);
      readers.push((r, at, out, sink) => {
        each(sink, [() => totalInto(sink, state, r[at], `ZCARD ${key}`), () => withScores(r[at + 1], `ZRANGE ${key}`).forEach((m) => out.push({ state, id: m.member, score: m.score }))]);
        return 2;
      });
    }
    return [
      {
        commands,
        read(replies, sink) {
          const out: Candidate[] = [];
          let at = 0;
          for (const read of readers) at += read(replies, at, out, sink);
          return out.length > 0 ? hashStep(q, out, req) : undefined;
        },
      },
    ];
  },
  lookup(q, id, req) {
    const k = asynqKeys(q.name);
    const nowS = req.nowMs / 1000;
    const zsets = [['lease', k.prefix + 'lease'], ['scheduled', k.scheduled], ['retry', k.retry], ['dead', k.archived]] as const;
    return [
      {
        commands: [['HMGET', k.task(id), ...TASK_FIELDS], ...zsets.map(([, key]): Command => ['ZSCORE', key, id])],
        read(r, sink) {
          const hash = hmget(r[0], TASK_FIELDS, `HMGET ${k.task(id)}`);
          if (!hash) return;
          let state: TaskState = STATE_OF[hash.state ?? ''] ?? 'waiting';
          const scores = zsets.map(([, key], i) => score(r[1 + i], `ZSCORE ${key}`));
          const lease = scores[0];
          let sc: number | undefined = state === 'scheduled' ? scores[1] : state === 'retry' ? scores[2] : state === 'dead' ? scores[3] : undefined;
          if (state === 'active' && lease !== undefined && lease <= nowS) {
            state = 'stuck';
            sc = lease;
          }
          const facts = asynqTaskFacts({ state, id, ...(sc !== undefined ? { score: sc } : {}) }, hash);
          if (facts) sink.task(makeTask(facts, req));
        },
      },
    ];
  },
};
