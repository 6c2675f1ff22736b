/**
 * RQ task inspector (RQ 2.x `rq/queue.py`, `rq/registry.py`,
 * `rq/results.py`; keys: `collect/queues/rq.ts`).
 *
 * | state | read |
 * |---|---|
 * | waiting | `rq:queue:<q>` LRANGE 0 N-1 (RPUSH / LPOP: oldest at the head) |
 * | active | `rq:wip:<q>` ZRANGE (now +inf BYSCORE LIMIT 0 N (score = expiry; members `<job id>:<execution id>` in RQ 2) |
 * | stuck | `rq:wip:<q>` ZRANGE 0 now BYSCORE LIMIT 0 N: expired entries of a worker that died (RQ's cleanup would fail them) |
 * | scheduled | `rq:scheduled:<q>` ZRANGE 0 N-1 WITHSCORES (score = when to enqueue, unix s) |
 * | dead | `rq:failed:<q>` ZRANGE 0 N-1 |
 *
 * Second batch per job: HMGET `rq:job:<id>` (`description` — the call, as
 * `module.func(args)` —, `enqueued_at` / `created_at` ISO UTC, `ended_at`,
 * `status`); for dead jobs also XREVRANGE `rq:results:<id>` + - COUNT 1, the
 * last result, whose `exc_string` is base64 of zlib-compressed traceback
 * text (`Result.serialize`). The job's `data` is a pickle and is not shown.
 */
import { inflateSync } from 'node:zlib';
import type { Command, Reply } from '../redis/command.js';
import { int } from '../collect/replies.js';
import { rqKeys, type RqQueue } from '../collect/queues/rq.js';
import { each, hmget, strings, streamEntries, withScores } from './reads.js';
import { lastLine } from './text.js';
import { makeTask, tsMs, type TaskFacts } from './task.js';
import type { InspectSink, Inspector, TaskState } from './types.js';

const JOB_FIELDS = ['description', 'enqueued_at', 'created_at', 'ended_at', 'status', 'origin'] as const;

/** The job id of a started-registry member (`<id>:<execution id>` in RQ 2, plain `<id>` before). */
export function rqJobIdOfMember(member: string): string {
  const i = member.lastIndexOf(':');
  return i > 0 ? member.slice(0, i) : member;
}

/** The traceback text of an `exc_string` (base64 of zlib), or undefined when it does not decode. */
export function rqExcString(b64: string): string | undefined {
  try {
    return inflateSync(Buffer.from(b64, 'base64')).toString('utf8');
  } catch {
    return undefined;
  }
}

/** `module.func(args…)` → `module.func`. */
function funcName(description: string | null | undefined): string | undefined {
  if (!description) return undefined;
  const i = description.indexOf('(');
  return i > 0 ? description.slice(0, i) : description;
}

interface Candidate {
  state: TaskState;
  id: string;
  score?: number;
}

/** Facts of one job hash and its last result (undefined when the hash is gone). */
export function rqJobFacts(c: Candidate, job: Record<string, string | null> | undefined, lastResult?: Record<string, string>): TaskFacts | undefined {
  if (!job) return undefined;
  const exc = lastResult?.exc_string ? rqExcString(lastResult.exc_string) : undefined;
  const failed = c.state === 'dead' || job.status === 'failed';
  return {
    id: c.id,
    state: c.state,
    name: funcName(job.description),
    enqueuedAtMs: tsMs(job.enqueued_at) ?? tsMs(job.created_at),
    error: exc !== undefined ? lastLine(exc) : undefined,
    failedAtMs: failed ? tsMs(job.ended_at) : undefined,
    dueAtMs: c.state === 'scheduled' && c.score !== undefined ? c.score * 1000 : undefined,
    payload: job.description,
  };
}

function jobStep(candidates: readonly Candidate[], req: Parameters<Inspector<RqQueue>['list']>[1]) {
  const commands: Command[] = [];
  for (const c of candidates) {
    commands.push(['HMGET', rqKeys('').job(c.id), ...JOB_FIELDS]);
    if (c.state === 'dead') commands.push(['XREVRANGE', `rq:results:${c.id}`, '+', '-', 'COUNT', 1]);
  }
  return {
    commands,
    read(r: readonly Reply[], sink: InspectSink) {
      let i = 0;
      for (const c of candidates) {
        const jobReply = r[i++];
        const resultReply = c.state === 'dead' ? r[i++] : undefined;
        each(sink, [
          () => {
            const result = resultReply ? streamEntries(resultReply, `XREVRANGE rq:results:${c.id}`)[0]?.fields : undefined;
            const facts = rqJobFacts(c, hmget(jobReply, JOB_FIELDS, `HMGET rq:job:${c.id}`), result);
            if (facts) sink.task(makeTask(facts, req));
          },
        ]);
      }
    },
  };
}

export const rqInspector: Inspector<RqQueue> = {
  framework: 'rq',
  states: ['waiting', 'active', 'stuck', 'scheduled', 'dead'],
  list(q, req) {
    const k = rqKeys(q.name);
    const n = req.limit;
    const nowS = Math.floor(req.nowMs / 1000);
    const commands: Command[] = [];
    const readers: ((r: readonly Reply[], at: number, out: Candidate[], sink: InspectSink) => number)[] = [];
    if (req.states.has('waiting')) {
      commands.push(['LLEN', k.queue], ['LRANGE', k.queue, 0, n - 1]);
      readers.push((r, at, out, sink) => {
        each(sink, [() => sink.total('waiting', int(r[at], `LLEN ${k.queue}`)), () => strings(r[at + 1], `LRANGE ${k.queue}`).forEach((id) => out.push({ state: 'waiting', id }))]);
        return 2;
      });
    }
    const wip: [TaskState, string | number, string | number][] = [];
    if (req.states.has('active')) wip.push(['active', `(${nowS}`, '+inf']);
    if (req.states.has('stuck')) wip.push(['stuck', 0, nowS]);
    for (const [state, min, max] of wip) {
      commands.push(['ZCOUNT', k.wip, min, max], ['ZRANGE', k.wip, min, max, 'BYSCORE', 'LIMIT', 0, n, 'WITHSCORES']);
      readers.push((r, at, out, sink) => {
        each(sink, [
          () => sink.total(state, int(r[at], `ZCOUNT ${k.wip}`)),
          () => withScores(r[at + 1], `ZRANGE ${k.wip}`).forEach((m) => out.push({ state, id: rqJobIdOfMember(m.member), score: m.score })),
        ]);
        return 2;
      });
    }
    for (const [state, key] of [['scheduled', k.scheduled], ['dead', k.failed]] as const) {
      if (!req.states.has(state)) continue;
      commands.push(['ZCARD', key], ['ZRANGE', key, 0, n - 1, 'WITHSCORES']);
      readers.push((r, at, out, sink) => {
        each(sink, [() => sink.total(state, int(r[at], `ZCARD ${key}`)), () => withScores(r[at + 1], `ZRANGE ${key}`).forEach((m) => out.push({ state, id: m.member, score: m.score }))]);
        return 2;
      });
    }
    return [
      {
        commands,
        read(r, sink) {
          const out: Candidate[] = [];
          let at = 0;
          for (const read of readers) at += read(r, at, out, sink);
          return out.length > 0 ? jobStep(out, req) : undefined;
        },
      },
    ];
  },
  lookup(q, id, req) {
    const k = rqKeys(q.name);
    return [
      {
        commands: [['HMGET', k.job(id), ...JOB_FIELDS], ['XREVRANGE', `rq:results:${id}`, '+', '-', 'COUNT', 1], ['ZSCORE', k.scheduled, id], ['ZSCORE', k.failed, id]],
        read(r, sink) {
          const job = hmget(r[0], JOB_FIELDS, `HMGET ${k.job(id)}`);
          if (!job) return;
          const STATUS: Record<string, TaskState> = { queued: 'waiting', started: 'active', failed: 'dead', scheduled: 'scheduled', deferred: 'scheduled', finished: 'completed' };
          const state = STATUS[job.status ?? ''] ?? 'waiting';
          const sc = state === 'scheduled' ? Number(r[2]?.[1]) : undefined;
          const result = streamEntries(r[1], `XREVRANGE rq:results:${id}`)[0]?.fields;
          const facts = rqJobFacts({ state, id, ...(sc !== undefined && Number.isFinite(sc) ? { score: sc } : {}) }, job, result);
          if (facts) sink.task(makeTask(facts, req));
        },
      },
    ];
  },
};
