/**
 * Sidekiq task inspector (keys: `collect/queues/sidekiq.ts`, sidekiq 8.1.7
 * `lib/sidekiq/api.rb`, `job_retry.rb`).
 *
 * | state | read |
 * |---|---|
 * | waiting | `queue:<q>` LRANGE -N -1 (LPUSH by the client; oldest at the tail) |
 * | scheduled / retry / dead | the global `schedule` / `retry` / `dead` ZSETs, ZRANGE 0 M-1 WITHSCORES |
 *
 * The three sets are global: for the pseudo-queue `*` (the `queue="*"`
 * series) they are listed whole; for a named queue, the oldest M entries
 * (M = 5 × limit, at most 500) are filtered by the job's `queue` and the
 * view says so. Jobs are JSON: `jid`, `class` (or `wrapped` for ActiveJob),
 * `args`, `enqueued_at` / `created_at` (float unix s before 8.0, integer ms
 * from 8.0), `retry_count` (0 after the first failure), `error_message`,
 * `failed_at`.
 *
 * active: busy jobs live in each process's `<identity>:work` HASH (tid →
 * JSON `{queue, payload: job JSON, run_at}`, `Launcher#heartbeat`; Sidekiq
 * 6 named it `<identity>:workers`), processes in the `processes` SET. The
 * first batch SSCANs `processes` (one page, COUNT 100), the second HGETALLs
 * both work hashes of at most {@link MAX_PROCESSES} processes: each holds at
 * most the process's concurrency. Sidekiq has no index by jid: a lookup
 * searches the same windows.
 */
import { array, parseJsonObject, value } from '../collect/replies.js';
import type { Command } from '../redis/command.js';
import { SIDEKIQ_GLOBAL_QUEUE, sidekiqKeys, type SidekiqQueue } from '../collect/queues/sidekiq.js';
import { each, oldestFirstFromTail, totalInto, withScores } from './reads.js';
import { makeTask, numField, tsMs, type TaskFacts } from './task.js';
import type { InspectStep, Inspector, ListState, TaskState } from './types.js';

/** Processes whose work hashes a view reads. */
export const MAX_PROCESSES = 20;

/**
 * Busy jobs of one work hash as facts; `queue` filters unless undefined.
 * @param hash the HGETALL reply: a flat field/value list, or the object the executors make of it (as ioredis does)
 */
export function sidekiqBusyFacts(hash: unknown, identity: string, queue: string | undefined): TaskFacts[] {
  const flat = Array.isArray(hash) ? hash : typeof hash === 'object' && hash !== null ? Object.entries(hash).flat() : [];
  const out: TaskFacts[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const work = typeof flat[i + 1] === 'string' ? parseJsonObject(flat[i + 1] as string) : undefined;
    if (!work || (queue !== undefined && work.queue !== queue)) continue;
    const payload = typeof work.payload === 'string' ? work.payload : JSON.stringify(work.payload ?? null);
    out.push({ ...sidekiqJobFacts(payload, 'active'), consumer: identity });
  }
  return out;
}

/** Entries of a global set examined for one named queue. */
export function sidekiqWindow(limit: number): number {
  return Math.min(500, limit * 5);
}

/** Facts of one Sidekiq job JSON (undefined when it is not a job object). */
export function sidekiqJobFacts(json: string, state: TaskState, scoreS?: number): TaskFacts & { queue?: string } {
  const o = parseJsonObject(json);
  if (!o) return { id: json.slice(0, 64), state, payload: json, ...(scoreS !== undefined && state !== 'dead' ? { dueAtMs: scoreS * 1000 } : {}) };
  const retryCount = numField(o.retry_count);
  const error = typeof o.error_message === 'string' ? (typeof o.error_class === 'string' ? `${o.error_class}: ${o.error_message}` : o.error_message) : undefined;
  return {
    id: typeof o.jid === 'string' ? o.jid : json.slice(0, 64),
    state,
    name: typeof o.wrapped === 'string' ? o.wrapped : o.class,
    enqueuedAtMs: tsMs(o.enqueued_at ?? o.created_at),
    attempts: retryCount !== undefined ? retryCount + 1 : error ? 1 : 0,
    error,
    failedAtMs: error ? (tsMs(o.failed_at) ?? (state === 'dead' && scoreS !== undefined ? scoreS * 1000 : undefined)) : undefined,
    dueAtMs: (state === 'scheduled' || state === 'retry') && scoreS !== undefined ? scoreS * 1000 : undefined,
    payload: o.args === undefined ? null : JSON.stringify(o.args),
    ...(typeof o.queue === 'string' ? { queue: o.queue } : {}),
  };
}

export const sidekiqInspector: Inspector<SidekiqQueue> = {
  framework: 'sidekiq',
  states: ['waiting', 'active', 'scheduled', 'retry', 'dead'],
  // The `*` pseudo-queue is the global sets (and every busy job).
  statesOf: (q) => (q.name === SIDEKIQ_GLOBAL_QUEUE ? ['active', 'scheduled', 'retry', 'dead'] : ['waiting', 'active', 'scheduled', 'retry', 'dead']),
  list(q, req) {
    const k = sidekiqKeys(q.namespace);
    const global = q.name === SIDEKIQ_GLOBAL_QUEUE;
    const n = req.limit;
    const m = global ? n : sidekiqWindow(n);
    const commands: Command[] = [];
    const plan: { state: ListState; key: string; list: boolean }[] = [];
    if (!global && req.states.has('waiting')) plan.push({ state: 'waiting', key: k.queue(q.name), list: true });
    for (const [state, key] of [['scheduled', k.schedule], ['retry', k.retry], ['dead', k.dead]] as const) if (req.states.has(state)) plan.push({ state, key, list: false });
    for (const p of plan) commands.push(p.list ? ['LLEN', p.key] : ['ZCARD', p.key], p.list ? ['LRANGE', p.key, -n, -1] : ['ZRANGE', p.key, 0, m - 1, 'WITHSCORES']);
    const busy: InspectStep[] = !req.states.has('active')
      ? []
      : [
          {
            commands: [['SSCAN', `${q.namespace}processes`, 0, 'COUNT', 100]],
            read(r, sink) {
              const page = array(r[0], `SSCAN ${q.namespace}processes`);
              const ids = (Array.isArray(page[1]) ? (page[1] as unknown[]) : []).map(String).sort().slice(0, MAX_PROCESSES);
              sink.note('active', 'busyProcesses', ids.length);
              if (ids.length === 0) return;
              return {
                commands: ids.flatMap((id): Command[] => [['HGETALL', `${q.namespace}${id}:work`], ['HGETALL', `${q.namespace}${id}:workers`]]),
                read(r2, sink2) {
                  const jobs: TaskFacts[] = [];
                  ids.forEach((id, i) =>
                    each(sink2, [
                      () => {
                        for (const w of [2 * i, 2 * i + 1]) jobs.push(...sidekiqBusyFacts(value(r2[w], `HGETALL ${q.namespace}${id}:work`), id, global ? undefined : q.name));
                      },
                    ]),
                  );
                  jobs.sort((a, b) => (a.enqueuedAtMs ?? Infinity) - (b.enqueuedAtMs ?? Infinity));
                  for (const j of jobs.slice(0, n)) sink2.task(makeTask(j, req));
                },
              };
            },
          },
        ];
    return [
      ...busy,
      {
        commands,
        read(r, sink) {
          plan.forEach((p, i) => {
            each(sink, [
              () => {
                if (p.list) {
                  totalInto(sink, p.state, r[2 * i], `LLEN ${p.key}`);
                  for (const job of oldestFirstFromTail(r[2 * i + 1], `LRANGE ${p.key}`)) sink.task(makeTask(sidekiqJobFacts(job, p.state), req));
                  return;
                }
                const entries = withScores(r[2 * i + 1], `ZRANGE ${p.key}`);
                if (global) totalInto(sink, p.state, r[2 * i], `ZCARD ${p.key}`);
                else sink.note(p.state, 'globalFiltered', Math.min(m, entries.length));
                let shown = 0;
                for (const e of entries) {
                  const facts = sidekiqJobFacts(e.member, p.state, e.score);
                  if (!global && facts.queue !== q.name) continue;
                  if (shown++ >= n) break;
                  sink.task(makeTask(facts, req));
                }
              },
            ]);
          });
        },
      },
    ];
  },
};
