/**
 * Sidekiq queues (sidekiq/sidekiq). Key layout from `lib/sidekiq/api.rb` and
 * `lib/sidekiq/client.rb` (checked at 8.1.7), optionally under a
 * redis-namespace prefix `<ns>:`:
 *
 * | key | type | read as |
 * |---|---|---|
 * | `queues` | SET of queue names (`Client#atomic_push` SADDs) | discovery |
 * | `queue:<q>` | LIST of job JSON, LPUSH; `Queue#latency` reads LINDEX -1 (oldest at -1) | waiting |
 * | `paused` | SET of paused queue names (`Stats#queue_summaries` SISMEMBERs it) | `queue_paused` |
 * | `schedule` / `retry` / `dead` | ZSETs, **global** (not per queue) | scheduled / retry / dead with `queue="*"` |
 * | `stat:processed` / `stat:failed` | STRING counters, global; `processed` counts failures too (`Processor` increments PROCESSED in `ensure`) | `queue_processed_total` / `queue_failed_total` with `queue="*"` |
 *
 * A job's `enqueued_at` is a float in unix seconds before Sidekiq 8 and an
 * integer in unix milliseconds from 8.0 (`ApiUtils#calculate_latency` tells them
 * apart the same way: by type; here by magnitude, which agrees for any
 * date after 1973). Sidekiq keeps no per-queue active, scheduled, retry or
 * dead counts: busy jobs live in per-process `<identity>:work` hashes, and
 * those states are reported once, globally.
 */
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { attempt, flag, int, parseJsonObject, parseTimestampMs, stringOrNull } from '../replies.js';
import type { ReadStep } from '../types.js';
import { addNamed, defineFramework } from './framework.js';
import { addCounters, addTaskCounts, ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A Sidekiq queue; `namespace` is the key prefix including its colon (`''` or `myapp:`). */
export type SidekiqQueue = QueueIdentity & { readonly namespace: string };

/** The `queue` label of Sidekiq's global states and counters (shared/spec/metrics.md). */
export const SIDEKIQ_GLOBAL_QUEUE = '*';

/**
 * The key prefix of a configured namespace: `''` stays `''`, `myapp` and
 * `myapp:` both become `myapp:` (redis-namespace joins with a colon).
 */
export function sidekiqPrefix(namespace: string): string {
  const ns = namespace.replace(/:+$/, '');
  return ns === '' ? '' : `${ns}:`;
}

/** Keys of a Sidekiq deployment under key prefix `ns` (see {@link sidekiqPrefix}). */
export function sidekiqKeys(ns: string) {
  return {
    queues: `${ns}queues`,
    queue: (name: string) => `${ns}queue:${name}`,
    paused: `${ns}paused`,
    schedule: `${ns}schedule`,
    retry: `${ns}retry`,
    dead: `${ns}dead`,
    processed: `${ns}stat:processed`,
    failed: `${ns}stat:failed`,
  };
}

/**
 * Reads `enqueued_at` (or `created_at`, as Sidekiq's own latency does) from a
 * job JSON.
 * @returns unix ms, or undefined when the job has neither.
 */
export function sidekiqEnqueuedAtMs(job: string): number | undefined {
  const o = parseJsonObject(job);
  if (!o) return undefined;
  // Seconds (float, Sidekiq < 8) are below 1e11, milliseconds (Sidekiq 8) above.
  return parseTimestampMs(o.enqueued_at ?? o.created_at);
}

/** The Sidekiq per-queue layout: LLEN, the oldest job, pause; and the global states per deployment ({@link sidekiqGlobalStep}). */
export const sidekiqLayout: QueueLayout<SidekiqQueue> = {
  framework: 'sidekiq',
  steps(q) {
    const k = sidekiqKeys(q.namespace);
    const key = k.queue(q.name);
    const labels = { queue: q.name, framework: 'sidekiq' };
    const step: ReadStep<never> = {
      commands: [
        ['LLEN', key],
        ['LINDEX', key, -1],
        ['SISMEMBER', k.paused, q.name],
      ],
      read(r, sink, nowMs) {
        const waiting = attempt(sink, int, r[0], `LLEN ${key}`);
        if (waiting !== undefined) sink.add('queue_tasks', { ...labels, state: 'waiting' }, waiting);
        const job = attempt(sink, stringOrNull, r[1], `LINDEX ${key} -1`);
        if (job === null) {
          sink.add('queue_oldest_task_age_seconds', labels, 0);
        } else if (job !== undefined) {
          const ts = sidekiqEnqueuedAtMs(job);
          if (ts === undefined) sink.fail(`LINDEX ${key} -1: job has no readable enqueued_at`);
          else sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, ts));
        }
        const paused = attempt(sink, flag, r[2], `SISMEMBER ${k.paused}`);
        if (paused !== undefined) sink.add('queue_paused', labels, paused);
        return undefined;
      },
    };
    return [step];
  },
  deploymentSteps: (ns) => [sidekiqGlobalStep(ns)],
};

/** `queue_tasks{state}` of the global ZSETs, in command order. */
const GLOBAL_STATES = ['scheduled', 'retry', 'dead'] as const;

/**
 * The global reads of one Sidekiq deployment, reported with `queue="*"`:
 * `schedule`, `retry`, `dead` ZCARDs and the `stat:processed` /
 * `stat:failed` counters (what `Sidekiq::Stats#fetch_stats_fast!` reads).
 * @param ns key prefix (see {@link sidekiqPrefix})
 */
export function sidekiqGlobalStep(ns: string): ReadStep {
  const k = sidekiqKeys(ns);
  const labels = { queue: SIDEKIQ_GLOBAL_QUEUE, framework: 'sidekiq' };
  const zsets = [k.schedule, k.retry, k.dead].map((key) => `ZCARD ${key}`);
  return {
    commands: [
      ['ZCARD', k.schedule],
      ['ZCARD', k.retry],
      ['ZCARD', k.dead],
      ['GET', k.processed],
      ['GET', k.failed],
    ],
    read(r, sink) {
      addTaskCounts(sink, labels, r, 0, GLOBAL_STATES, zsets);
      addCounters(sink, labels, r[3], `GET ${k.processed}`, r[4], `GET ${k.failed}`);
      return undefined;
    },
  };
}

/**
 * Sidekiq: queues from the `<ns:>queues` registry (`lib/sidekiq/api.rb`); a
 * deployment whose registry is not empty also gets its global reads. Its
 * queue keys are Sidekiq's (pattern discovery skips them).
 */
export const sidekiq = defineFramework({
  name: 'sidekiq',
  layout: sidekiqLayout,
  discover: {
    schema: z.strictObject({ framework: z.literal('sidekiq'), namespace: z.string().default(''), ...thresholds }),
    byDefault: true,
    phase: 'named',
    registryKey: (e) => sidekiqKeys(sidekiqPrefix(e.namespace)).queues,
    find(e, ctx) {
      const ns = sidekiqPrefix(e.namespace);
      const names = ctx.members ?? [];
      if (names.length > 0) ctx.addDeployment(ns);
      const keys = sidekiqKeys(ns);
      addNamed(ctx, names, (name) => ({ name, key: keys.queue(name), namespace: ns, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold }), true);
    },
  },
});
