/**
 * BullMQ task inspector (keys: `collect/queues/bullmq.ts`, checked against
 * bullmq 6.7.0 as installed).
 *
 * | state | read |
 * |---|---|
 * | waiting | `wait` and legacy `paused` LISTs (LRANGE -N -1: oldest at the tail, `moveToActive` RPOPLPUSHes from it), `prioritized` ZRANGE 0 N-1 |
 * | active | `active` LRANGE -N -1 (RPOPLPUSH pushes at the head) |
 * | stuck | active jobs whose `<job>:lock` key is gone (`includes/isLocked.lua`): the worker stopped renewing it, BullMQ's stalled checker will move them |
 * | scheduled | `delayed` ZRANGE 0 N-1 WITHSCORES, score = due ms × 0x1000 + counter (`includes/getDelayedScore.lua`) |
 * | dead | `failed` ZRANGE 0 N-1 WITHSCORES (score = finishedOn ms) |
 *
 * Second batch: HMGET of each job hash (`name`, `data`, `timestamp` ms,
 * `atm` attempts made — `attemptsMade` before v5 —, `failedReason`,
 * `finishedOn`) and EXISTS of each active job's lock. BullMQ has no separate
 * retry state: a job retried with backoff waits in `delayed`.
 */
import type { Command, Reply } from '../redis/command.js';
import { bullmqKeys, isLegacyMarker, type BullmqQueue } from '../collect/queues/bullmq.js';
import { int } from '../collect/replies.js';
import { each, hmget, oldestFirstFromTail, score, strings, totalInto, withScores } from './reads.js';
import { makeTask, numField, type TaskFacts } from './task.js';
import type { InspectRequest, InspectSink, InspectStep, Inspector, TaskState } from './types.js';

/** Job hash fields read per job. */
export const BULL_JOB_FIELDS = ['name', 'data', 'timestamp', 'atm', 'attemptsMade', 'failedReason', 'finishedOn', 'processedOn'] as const;

/** The due time (unix ms) of a `delayed` score. */
export function delayedDueMs(scoreValue: number): number {
  return Math.floor(scoreValue / 0x1000);
}

interface Candidate {
  state: TaskState;
  id: string;
  dueAtMs?: number;
  /** active jobs: read the lock too */
  lock?: boolean;
}

/** Reads a job hash into facts; undefined when the hash is gone (removed between batches). */
export function bullJobFacts(c: Candidate, job: Record<string, string | null> | undefined): TaskFacts | undefined {
  if (!job) return undefined;
  const attempts = numField(job.atm) ?? numField(job.attemptsMade);
  const finished = numField(job.finishedOn);
  return {
    id: c.id,
    state: c.state,
    name: job.name,
    enqueuedAtMs: numField(job.timestamp),
    attempts,
    error: job.failedReason,
    failedAtMs: job.failedReason && finished !== undefined ? finished : undefined,
    dueAtMs: c.dueAtMs,
    payload: job.data,
  };
}

function jobStep(q: BullmqQueue, candidates: readonly Candidate[], req: InspectRequest): InspectStep {
  const k = bullmqKeys(q.prefix, q.name);
  const commands: Command[] = [];
  for (const c of candidates) {
    commands.push(['HMGET', k.job(c.id), ...BULL_JOB_FIELDS]);
    if (c.lock) commands.push(['EXISTS', `${k.job(c.id)}:lock`]);
  }
  return {
    commands,
    read(replies, sink) {
      let i = 0;
      const waiting: TaskFacts[] = [];
      for (const c of candidates) {
        const jobReply = replies[i++];
        const lockReply: Reply | undefined = c.lock ? replies[i++] : undefined;
        each(sink, [
          () => {
            const facts = bullJobFacts(c, hmget(jobReply, BULL_JOB_FIELDS, `HMGET ${k.job(c.id)}`));
            if (!facts) return;
            if (c.state === 'waiting') {
              waiting.push(facts);
              return;
            }
            sink.task(makeTask(facts, req));
            if (c.lock && int(lockReply, `EXISTS ${k.job(c.id)}:lock`) === 0) sink.task(makeTask({ ...facts, state: 'stuck' }, req));
          },
        ]);
      }
      // wait, paused and prioritized together: the N oldest by creation time.
      waiting.sort((a, b) => (a.enqueuedAtMs ?? Infinity) - (b.enqueuedAtMs ?? Infinity));
      for (const f of waiting.slice(0, req.limit)) sink.task(makeTask(f, req));
    },
  };
}

export const bullmqInspector: Inspector<BullmqQueue> = {
  framework: 'bullmq',
  states: ['waiting', 'active', 'stuck', 'scheduled', 'dead'],
  list(q, req) {
    const k = bullmqKeys(q.prefix, q.name);
    const n = req.limit;
    const s = req.states;
    const commands: Command[] = [];
    const readers: ((r: readonly Reply[], at: number, sink: InspectSink, out: Candidate[]) => number)[] = [];
    if (s.has('waiting')) {
      commands.push(['LLEN', k.wait], ['LRANGE', k.wait, -n, -1], ['LLEN', k.paused], ['LRANGE', k.paused, -n, -1], ['ZCARD', k.prioritized], ['ZRANGE', k.prioritized, 0, n - 1]);
      readers.push((r, at, sink, out) => {
        let total = 0;
        each(sink, [
          () => {
            const wait = oldestFirstFromTail(r[at + 1], `LRANGE ${k.wait}`);
            const paused = oldestFirstFromTail(r[at + 3], `LRANGE ${k.paused}`);
            // A legacy (BullMQ < 5) marker `0:<ts>` in the lists is not a job.
            const markers = [...wait, ...paused].filter(isLegacyMarker).length;
            total = int(r[at], `LLEN ${k.wait}`) + int(r[at + 2], `LLEN ${k.paused}`) + int(r[at + 4], `ZCARD ${k.prioritized}`) - markers;
            for (const id of [...wait, ...paused, ...strings(r[at + 5], `ZRANGE ${k.prioritized}`)]) if (!isLegacyMarker(id)) out.push({ state: 'waiting', id });
            sink.total('waiting', Math.max(0, total));
          },
        ]);
        return 6;
      });
    }
    if (s.has('active') || s.has('stuck')) {
      commands.push(['LLEN', k.active], ['LRANGE', k.active, -n, -1]);
      readers.push((r, at, sink, out) => {
        each(sink, [
          () => totalInto(sink, 'active', r[at], `LLEN ${k.active}`),
          () => {
            for (const id of oldestFirstFromTail(r[at + 1], `LRANGE ${k.active}`)) out.push({ state: 'active', id, lock: true });
          },
        ]);
        if (s.has('stuck')) sink.note('stuck', 'stuckAmongActive', n);
        return 2;
      });
    }
    for (const [state, key] of [['scheduled', k.delayed], ['dead', k.failed]] as const) {
      if (!s.has(state)) continue;
      commands.push(['ZCARD', key], ['ZRANGE', key, 0, n - 1, 'WITHSCORES']);
      readers.push((r, at, sink, out) => {
        each(sink, [
          () => totalInto(sink, state, r[at], `ZCARD ${key}`),
          () => {
            for (const m of withScores(r[at + 1], `ZRANGE ${key}`)) out.push({ state, id: m.member, ...(state === 'scheduled' ? { dueAtMs: delayedDueMs(m.score) } : {}) });
          },
        ]);
        return 2;
      });
    }
    return [
      {
        commands,
        read(replies, sink) {
          const candidates: Candidate[] = [];
          let at = 0;
          for (const read of readers) at += read(replies, at, sink, candidates);
          // Active jobs are read for `stuck` too; the view keeps only the states asked for.
          if (candidates.length === 0) return;
          return jobStep(q, candidates, req);
        },
      },
    ];
  },
  lookup(q, id, req) {
    const k = bullmqKeys(q.prefix, q.name);
    const sets = [
      ['dead', k.failed],
      ['scheduled', k.delayed],
      ['completed', k.completed],
      ['waiting', k.prioritized],
    ] as const;
    return [
      {
        commands: [['HMGET', k.job(id), ...BULL_JOB_FIELDS], ['EXISTS', `${k.job(id)}:lock`], ...sets.map(([, key]): Command => ['ZSCORE', key, id])],
        read(r, sink) {
          const job = hmget(r[0], BULL_JOB_FIELDS, `HMGET ${k.job(id)}`);
          if (!job) return;
          let state: TaskState | undefined;
          let dueAtMs: number | undefined;
          sets.forEach(([st, key], i) => {
            const sc = score(r[2 + i], `ZSCORE ${key}`);
            if (sc !== undefined && state === undefined) {
              state = st;
              if (st === 'scheduled') dueAtMs = delayedDueMs(sc);
            }
          });
          if (state === undefined) {
            // Not in a ZSET: in `active` while processed and unfinished (stuck without its lock), else in `wait`.
            const locked = int(r[1], `EXISTS ${k.job(id)}:lock`) === 1;
            state = job.processedOn && !job.finishedOn ? (locked ? 'active' : 'stuck') : 'waiting';
          }
          const facts = bullJobFacts({ state, id, ...(dueAtMs !== undefined ? { dueAtMs } : {}) }, job);
          if (facts) sink.task(makeTask(facts, req));
        },
      },
    ];
  },
};
