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
import { int, parseJsonObject, parseTimestampMs, stringOrNull, type ReplyReader } from '../replies.js';
import type { Command, ReadStep } from '../types.js';
import { countInto, counterValue, eachStep } from './framework-reads.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

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

/** The Sidekiq per-queue layout: LLEN, the oldest job, pause (global states: {@link sidekiqGlobalStep}). */
export const sidekiqLayout: QueueLayout<SidekiqQueue> = {
  framework: 'sidekiq',
  plan(q, nowMs) {
    const k = sidekiqKeys(q.namespace);
    const key = k.queue(q.name);
    const labels = { queue: q.name, framework: 'sidekiq' };
    const commands: Command[] = [
      ['LLEN', key],
      ['LINDEX', key, -1],
      ['SISMEMBER', k.paused, q.name],
    ];
    const readers: ReplyReader[] = [
      countInto(labels, 'waiting', `LLEN ${key}`),
      (r, sink) => {
        const job = stringOrNull(r, `LINDEX ${key} -1`);
        if (job === null) {
          sink.add('queue_oldest_task_age_seconds', labels, 0);
          return;
        }
        const ts = sidekiqEnqueuedAtMs(job);
        if (ts === undefined) {
          sink.fail(`LINDEX ${key} -1: job has no readable enqueued_at`);
          return;
        }
        sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, ts));
      },
      (r, sink) => sink.add('queue_paused', labels, int(r, `SISMEMBER ${k.paused}`) > 0 ? 1 : 0),
    ];
    return [eachStep(commands, readers)];
  },
};

/**
 * The global reads of one Sidekiq deployment, reported with `queue="*"`:
 * `schedule`, `retry`, `dead` ZCARDs and the `stat:processed` /
 * `stat:failed` counters (what `Sidekiq::Stats#fetch_stats_fast!` reads).
 * @param ns key prefix (see {@link sidekiqPrefix})
 */
export function sidekiqGlobalStep(ns: string): ReadStep {
  const k = sidekiqKeys(ns);
  const labels = { queue: SIDEKIQ_GLOBAL_QUEUE, framework: 'sidekiq' };
  return eachStep(
    [
      ['ZCARD', k.schedule],
      ['ZCARD', k.retry],
      ['ZCARD', k.dead],
      ['GET', k.processed],
      ['GET', k.failed],
    ],
    [
      countInto(labels, 'scheduled', `ZCARD ${k.schedule}`),
      countInto(labels, 'retry', `ZCARD ${k.retry}`),
      countInto(labels, 'dead', `ZCARD ${k.dead}`),
      (r, sink) => sink.add('queue_processed_total', labels, counterValue(r, `GET ${k.processed}`)),
      (r, sink) => sink.add('queue_failed_total', labels, counterValue(r, `GET ${k.failed}`)),
    ],
  );
}
