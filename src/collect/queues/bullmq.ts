/**
 * BullMQ queues (taskforcesh/bullmq). Key layout from `src/classes/queue-keys.ts`
 * (checked against bullmq 6.7.0 as installed): every key of queue `q` is
 * `<prefix>:<q>:<type>`, prefix `bull` by default (`{bull}` hash-tags a queue
 * into one Cluster slot). There is no queue registry; discovery SCANs for
 * `<prefix>:<q>:meta` / `<prefix>:<q>:id`.
 *
 * | key | type | read as |
 * |---|---|---|
 * | `wait` | LIST, LPUSH, workers take from the tail (oldest at -1) | waiting |
 * | `prioritized` | ZSET, score = priority × 2³² + counter (`includes/getPriorityScore.lua`) | waiting |
 * | `paused` | LIST, legacy (before v5 a paused queue's jobs moved here; `pause-7.lua` still drains it on resume) | waiting |
 * | `active` | LIST | active |
 * | `delayed` | ZSET | scheduled |
 * | `failed` / `completed` | ZSET | dead / completed |
 * | `meta` | HASH; field `paused` present ⇔ paused (`includes/isQueuePaused.lua`) | `queue_paused` |
 * | `metrics:completed` / `metrics:failed` | HASH field `count`, only when workers run with the `metrics` option (`includes/collectMetrics.lua`) | `queue_processed_total` (completed + failed) / `queue_failed_total` |
 * | `<jobId>` | HASH with `timestamp` = creation time in unix ms (`includes/storeJob.lua`) | oldest task age |
 *
 * Counts match BullMQ's `Queue.getJobCounts()` (`commands/getCounts-1.lua`),
 * including its rule that a legacy marker (`0:<ts>`, BullMQ < 5) at the tail
 * of `wait` is not a job, but without that script's write (it RPOPs the
 * marker). `waiting-children` (flows) has no row in the state table and is
 * not exported.
 *
 * First batch: LLEN + LRANGE -2 -1 of `wait` and `paused`, ZCARD + ZRANGE 0 0
 * of `prioritized`, LLEN `active`, ZCARD `delayed` `failed` `completed`,
 * HEXISTS `meta` `paused`, HGET both metrics hashes. Second batch: HGET
 * `timestamp` of the oldest job of `wait`, of `paused` and the next
 * prioritized job; the oldest of those gives the age. (The next prioritized
 * job is the one BullMQ serves next, not necessarily the oldest: a
 * low-priority job starved behind newer high-priority ones is not seen.)
 */
import { z } from 'zod';
import type { Command } from '../../redis/command.js';
import { thresholds } from '../../config/fields.js';
import { escapeGlob } from '../../redis/glob.js';
import { array, attempt, flag, int, numericString, stringOrNull } from '../replies.js';
import { bandBounds, bandOf, MAX_BANDS, oldestHead, PRIORITY_BAND, scoredMembers } from './bullmq-priority.js';
import { clientNames, countWorkers } from './bullmq-workers.js';
import type { ReadStep } from '../types.js';
import { defineFramework } from './framework.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/**
 * A BullMQ queue. `queueName` is BullMQ's name, `prefix` the key prefix
 * (`bull`); `name` (the `queue` label) is `queueName`, or `<prefix>:<queueName>`
 * when an earlier `discover:` entry already has that name under another
 * prefix. `bands`: the priorities in use, learned by discovery (see
 * `bullmq-priority.ts`).
 */
export type BullmqQueue = QueueIdentity & { readonly prefix: string; readonly queueName?: string; readonly bands?: readonly number[] };

/** Keys of BullMQ queue `name` under `prefix` (`src/classes/queue-keys.ts`). */
export function bullmqKeys(prefix: string, name: string) {
  const p = `${prefix}:${name}:`;
  return {
    /** `<prefix>:<name>`, BullMQ's qualified name */
    qualified: `${prefix}:${name}`,
    wait: `${p}wait`,
    paused: `${p}paused`,
    prioritized: `${p}prioritized`,
    active: `${p}active`,
    delayed: `${p}delayed`,
    failed: `${p}failed`,
    completed: `${p}completed`,
    waitingChildren: `${p}waiting-children`,
    meta: `${p}meta`,
    id: `${p}id`,
    metricsCompleted: `${p}metrics:completed`,
    metricsFailed: `${p}metrics:failed`,
    job: (id: string) => `${p}${id}`,
    /** the lock a worker holds on an active job, SET … PX lockDuration (`prepareJobForProcessing.lua`) */
    lock: (id: string) => `${p}${id}:lock`,
  };
}

/** True for BullMQ < 5's wait-list marker (`0:<timestamp>`), which is not a job (`getCounts-1.lua`). */
export function isLegacyMarker(entry: string): boolean {
  return entry.startsWith('0:');
}

/**
 * The job ids at the oldest end of a wait/paused list from `LRANGE key -2 -1`
 * ([second oldest, oldest]), skipping a legacy marker at the tail.
 * @returns the oldest job id and whether the tail was a marker.
 */
export function oldestOfTail(tail: readonly unknown[]): { id: string | undefined; marker: boolean } {
  const ids = tail.map((v) => String(v));
  const last = ids[ids.length - 1];
  if (last === undefined) return { id: undefined, marker: false };
  if (isLegacyMarker(last)) return { id: ids.length > 1 ? ids[ids.length - 2] : undefined, marker: true };
  return { id: last, marker: false };
}

/** A counter reply that may be missing (`null`) or a number; `undefined` is kept for "could not read". */
function optionalCount(reply: Parameters<typeof numericString>[0], what: string): number | null {
  return numericString(reply, what) ?? null;
}

/** `queue_tasks{state}` read from replies 7–10, in command order (active is read apart: stuck jobs are taken out). */
const COUNTED = [
  [7, 'scheduled'],
  [8, 'dead'],
  [9, 'completed'],
  [10, 'deferred'],
] as const;

/** Active jobs whose lock is checked per scrape (the oldest ones: the tail of `active`). */
export const MAX_LOCK_CHECKS = 1000;

/** What the first read hands the second batch. */
interface BullmqCarry {
  /** jobs whose `timestamp` is read: wait's oldest, paused's oldest, the oldest prioritized head */
  readonly ts: readonly string[];
  /** active job ids whose lock is checked */
  readonly active: readonly string[];
  /** LLEN active */
  readonly activeLen: number;
}

/** The BullMQ layout: one batch of counts, pause and metrics, then the oldest jobs' `timestamp` and the active jobs' locks. */
export const bullmqLayout: QueueLayout<BullmqQueue> = {
  framework: 'bullmq',
  steps(q) {
    const k = bullmqKeys(q.prefix, q.queueName ?? q.name);
    const labels = { queue: q.name, framework: 'bullmq' };
    const bands = (q.bands ?? []).slice(0, MAX_BANDS);
    const commands: Command[] = [
      ['LLEN', k.wait],
      ['LRANGE', k.wait, -2, -1],
      ['LLEN', k.paused],
      ['LRANGE', k.paused, -2, -1],
      ['ZCARD', k.prioritized],
      ['ZRANGE', k.prioritized, 0, 0, 'WITHSCORES'],
      ['LLEN', k.active],
      ['ZCARD', k.delayed],
      ['ZCARD', k.failed],
      ['ZCARD', k.completed],
      ['ZCARD', k.waitingChildren],
      ['HEXISTS', k.meta, 'paused'],
      ['HGET', k.metricsCompleted, 'count'],
      ['HGET', k.metricsFailed, 'count'],
      ['LRANGE', k.active, -MAX_LOCK_CHECKS, -1],
      ...bands.map((b): Command => ['ZRANGEBYSCORE', k.prioritized, ...bandBounds(b), 'WITHSCORES', 'LIMIT', 0, 1]),
    ];
    const counted = [`ZCARD ${k.delayed}`, `ZCARD ${k.failed}`, `ZCARD ${k.completed}`, `ZCARD ${k.waitingChildren}`];
    const step: ReadStep<BullmqCarry> = {
      commands,
      read(r, sink) {
        const waitLen = attempt(sink, int, r[0], `LLEN ${k.wait}`);
        const waitTail = attempt(sink, array, r[1], `LRANGE ${k.wait} -2 -1`);
        const pausedLen = attempt(sink, int, r[2], `LLEN ${k.paused}`);
        const pausedTail = attempt(sink, array, r[3], `LRANGE ${k.paused} -2 -1`);
        const prioritizedLen = attempt(sink, int, r[4], `ZCARD ${k.prioritized}`);
        const prioritizedHead = attempt(sink, array, r[5], `ZRANGE ${k.prioritized} 0 0 WITHSCORES`);
        const activeLen = attempt(sink, int, r[6], `LLEN ${k.active}`);
        COUNTED.forEach(([i, state], n) => {
          const v = attempt(sink, int, r[i], counted[n]!);
          if (v !== undefined) sink.add('queue_tasks', { ...labels, state }, v);
        });
        const paused = attempt(sink, flag, r[11], `HEXISTS ${k.meta} paused`);
        if (paused !== undefined) sink.add('queue_paused', labels, paused);
        const completed = attempt(sink, optionalCount, r[12], `HGET ${k.metricsCompleted} count`);
        const failedCount = attempt(sink, optionalCount, r[13], `HGET ${k.metricsFailed} count`);
        const activeIds = attempt(sink, array, r[14], `LRANGE ${k.active} -${MAX_LOCK_CHECKS} -1`);
        const heads = prioritizedHead ? scoredMembers(prioritizedHead) : [];
        bands.forEach((b, i) => {
          const head = attempt(sink, array, r[15 + i], `ZRANGEBYSCORE ${k.prioritized} band ${b}`);
          if (head) heads.push(...scoredMembers(head));
        });

        // Metrics hashes exist only when workers enable metrics; one of them may not exist yet.
        if (completed !== undefined && failedCount !== undefined && (completed !== null || failedCount !== null)) {
          const failed = failedCount ?? 0;
          sink.add('queue_processed_total', labels, (completed ?? 0) + failed);
          sink.add('queue_failed_total', labels, failed);
        }
        const locks = activeLen !== undefined && activeIds ? activeIds.map((id) => String(id)) : [];
        if (activeLen !== undefined && !activeIds) sink.add('queue_tasks', { ...labels, state: 'active' }, activeLen);
        const ts: string[] = [];
        if (waitLen !== undefined && pausedLen !== undefined && prioritizedLen !== undefined && waitTail && pausedTail && prioritizedHead) {
          const wait = oldestOfTail(waitTail);
          const pausedList = oldestOfTail(pausedTail);
          const waiting = waitLen - (wait.marker ? 1 : 0) + pausedLen - (pausedList.marker ? 1 : 0) + prioritizedLen;
          sink.add('queue_tasks', { ...labels, state: 'waiting' }, Math.max(0, waiting));
          for (const id of [wait.id, pausedList.id, oldestHead(heads)]) if (id !== undefined && !ts.includes(id)) ts.push(id);
          if (ts.length === 0) sink.add('queue_oldest_task_age_seconds', labels, 0);
        }
        if (activeLen !== undefined && activeIds && locks.length === 0) {
          sink.add('queue_tasks', { ...labels, state: 'active' }, activeLen);
          sink.add('queue_tasks', { ...labels, state: 'stuck' }, 0);
        }
        if (ts.length === 0 && locks.length === 0) return undefined;
        return { ts, active: locks, activeLen: activeLen ?? 0 };
      },
      then: {
        commands: (c) => [...c.ts.map((id): Command => ['HGET', k.job(id), 'timestamp']), ...c.active.map((id): Command => ['EXISTS', k.lock(id)])],
        read(r, c, sink, nowMs) {
          let oldest: number | undefined;
          c.ts.forEach((id, i) => {
            // A job taken or removed between the batches is skipped.
            const ts = attempt(sink, numericString, r[i], `HGET ${k.job(id)} timestamp`);
            if (ts !== undefined && ts > 0 && (oldest === undefined || ts < oldest)) oldest = ts;
          });
          if (oldest !== undefined) sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, oldest));
          if (c.active.length === 0) return;
          // An active job without its lock: the worker that took it stopped renewing (killed) — stuck until BullMQ's stalled check moves it.
          let stuck = 0;
          let complete = true;
          c.active.forEach((id, i) => {
            const n = attempt(sink, int, r[c.ts.length + i], `EXISTS ${k.lock(id)}`);
            if (n === undefined) complete = false;
            else if (n === 0) stuck++;
          });
          if (!complete) return;
          sink.add('queue_tasks', { ...labels, state: 'active' }, Math.max(0, c.activeLen - stuck));
          sink.add('queue_tasks', { ...labels, state: 'stuck' }, stuck);
        },
      },
    };
    return [step];
  },
  deploymentSteps(deployment) {
    const d = JSON.parse(deployment) as BullmqDeployment;
    return [
      {
        commands: [['CLIENT', 'LIST']],
        read(r, sink) {
          // A user without +client|list (or a managed Redis without CLIENT, as BullMQ notes for GCP): no worker count, not a failure.
          const err = r[0]?.[0];
          if (err && /NOPERM|unknown command|not allowed|unknown subcommand/i.test(err.message)) return undefined;
          const list = attempt(sink, stringOrNull, r[0], 'CLIENT LIST');
          if (list === undefined || list === null) return undefined;
          const counts = countWorkers(clientNames(list), d.queues.map(([name]) => ({ prefix: d.prefix, name })));
          d.queues.forEach(([, label], i) => sink.add('queue_workers', { queue: label, framework: 'bullmq' }, counts[i]!));
          return undefined;
        },
      },
    ];
  },
};

/** One prefix's queues, as the deployment string (JSON) the worker count reads: `[BullMQ name, queue label]` pairs. */
interface BullmqDeployment {
  readonly prefix: string;
  readonly queues: readonly (readonly [string, string])[];
}

/**
 * Learns the priority bands in use of `queues` by skip-scan (see
 * `bullmq-priority.ts`): round 0 reads each queue's lowest band
 * (`ZRANGE prioritized 0 0 WITHSCORES`), each further round the next band
 * up (`ZRANGEBYSCORE prioritized <next band start> +inf WITHSCORES LIMIT 0 1`),
 * one batch per round for all queues, at most {@link MAX_BANDS} rounds.
 * @returns the bands per queue, in the order of `queues`
 * @throws DiscoveryError (from `exec`) when a batch fails as a whole
 */
async function learnBands(prioritized: readonly string[], exec: (c: readonly Command[], what: string) => Promise<readonly (readonly [Error | null, unknown])[]>): Promise<number[][]> {
  const bands = prioritized.map((): number[] => []);
  let open = prioritized.map((_, i) => i);
  for (let round = 0; round < MAX_BANDS && open.length > 0; round++) {
    const commands = open.map((i): Command => {
      const last = bands[i]!.at(-1);
      return last === undefined ? ['ZRANGE', prioritized[i]!, 0, 0, 'WITHSCORES'] : ['ZRANGEBYSCORE', prioritized[i]!, (last + 1) * PRIORITY_BAND, '+inf', 'WITHSCORES', 'LIMIT', 0, 1];
    });
    const replies = await exec(commands, 'learn BullMQ priority bands');
    const next: number[] = [];
    open.forEach((i, n) => {
      const [err, v] = replies[n] ?? [new Error('no reply'), null];
      const head = !err && Array.isArray(v) ? scoredMembers(v)[0] : undefined;
      if (!head) return;
      bands[i]!.push(bandOf(head.score));
      next.push(i);
    });
    open = next;
  }
  return bands;
}

/** The key prefix of BullMQ under `prefix`: every key of every queue starts with it. */
function bullmqOwnedPrefix(prefix: string): string {
  return `${prefix}:`;
}

/** `<prefix>:<name>:meta` or `:id` → name; BullMQ refuses names containing `:` (`QueueBase` constructor). */
export function bullmqMarker(prefix: string, key: string): { name: string; marker: 'meta' | 'id' } | undefined {
  const head = bullmqOwnedPrefix(prefix);
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const marker = rest.endsWith(':meta') ? 'meta' : rest.endsWith(':id') ? 'id' : undefined;
  if (!marker) return undefined;
  const name = rest.slice(0, rest.length - marker.length - 1);
  if (name === '' || name.includes(':')) return undefined;
  return { name, marker };
}

/**
 * BullMQ: no registry; one SCAN for both marker keys (`<prefix>:*:[im][de]*`
 * matches `…:meta` and `…:id` and a few others, filtered exactly by
 * {@link bullmqMarker}), then one TYPE batch: `meta` must be a HASH (`Queue`
 * writes it on creation) or `id` a STRING (INCR per added job). Every key
 * under `<prefix>:` is BullMQ's (its `events` streams are not stream queues).
 */
export const bullmq = defineFramework({
  name: 'bullmq',
  layout: bullmqLayout,
  discover: {
    schema: z.strictObject({ framework: z.literal('bullmq'), prefix: z.string().min(1).default('bull'), ...thresholds }),
    byDefault: true,
    phase: 'named',
    ownedPrefix: (e) => bullmqOwnedPrefix(e.prefix),
    async find(e, ctx) {
      const candidates = new Map<string, { name: string; marker: 'meta' | 'id' }>();
      const names = new Set<string>();
      await ctx.scan(`${escapeGlob(e.prefix)}:*:[im][de]*`, undefined, (key) => {
        const m = bullmqMarker(e.prefix, key);
        if (!m || candidates.has(key)) return;
        candidates.set(key, m);
        names.add(m.name);
        // Twice the cap in candidates is enough to fill it (a few may fail the TYPE check): stop reading the keyspace.
        return names.size < 2 * ctx.maxQueues;
      });
      if (candidates.size === 0) return;
      const keys = [...candidates.keys()];
      const replies = await ctx.exec(keys.map((key): Command => ['TYPE', key]), 'check BullMQ marker keys');
      const ok = new Set<string>();
      keys.forEach((key, i) => {
        const c = candidates.get(key);
        const type = replies[i]?.[1];
        if (!c) return;
        if ((c.marker === 'meta' && type === 'hash') || (c.marker === 'id' && type === 'string')) ok.add(c.name);
      });
      const added: { name: string; label: string }[] = [];
      for (const name of [...ok].sort()) {
        const key = bullmqKeys(e.prefix, name).wait;
        if (ctx.declaredKey(key)) continue;
        // The same name under an earlier entry's prefix keeps its plain label; this one is qualified.
        const label = ctx.seen(name) ? bullmqKeys(e.prefix, name).qualified : name;
        if (label !== name && ctx.seen(label)) continue;
        if (!ctx.admit(label)) break;
        added.push({ name, label });
      }
      if (added.length === 0) return;
      const bands = await learnBands(added.map((a) => bullmqKeys(e.prefix, a.name).prioritized), ctx.exec);
      added.forEach((a, i) => {
        ctx.add({ name: a.label, queueName: a.name, key: bullmqKeys(e.prefix, a.name).wait, prefix: e.prefix, bands: bands[i]!, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold });
      });
      const deployment: BullmqDeployment = { prefix: e.prefix, queues: added.map((a) => [a.name, a.label] as const) };
      ctx.addDeployment(JSON.stringify(deployment));
    },
  },
});
