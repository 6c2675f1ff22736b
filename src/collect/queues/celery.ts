/**
 * Celery queues on the Redis broker (celery/kombu, `kombu/transport/redis.py`,
 * checked at kombu 5.2.4 as Debian packages it and at 5.6.2). A queue `q` is a
 * LIST (`Channel._put` LPUSHes, `_brpop_start` BRPOPs: oldest at -1);
 * messages with a priority go to separate LISTs `q<sep><step>`
 * (`Channel._q_for_pri`: the step is the largest of `priority_steps` not above
 * the priority), step 0 being the bare name (read whatever the steps). Defaults:
 * `Channel.sep = '\x06\x16'`, `PRIORITY_STEPS = [0, 3, 6, 9]`; Celery's docs
 * recommend `priority_steps: list(range(10))`, `sep: ':'` (transport options,
 * configured here as `sep` and `prioritySteps`). kombu's `global_keyprefix`
 * transport option (`GlobalKeyPrefixMixin`) prefixes every key it writes,
 * the lists and `unacked` alike (`globalKeyprefix` here).
 *
 * waiting = the sum of LLEN over the base list and its priority sub-lists,
 * exactly what kombu's own `Channel._size` adds up. `unacked` (HASH
 * delivery tag → message, HSET by `QoS.append`, HDEL on ack) is global to the
 * broker: its HLEN is `queue_broker_unacked{framework="celery"}` (one series:
 * with several `globalKeyprefix` entries the first prefix's is reported). A
 * message carries no enqueue time and kombu no per-queue in-progress count,
 * so there is no active state, no oldest-task age and no pause flag.
 *
 * Per queue one batch: one LLEN per priority step; per prefix: HLEN unacked.
 */
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { isGlob, unescapeGlob, escapeGlob } from '../../redis/glob.js';
import { attempt, int } from '../replies.js';
import type { ReadStep } from '../types.js';
import { defineFramework } from './framework.js';
import type { QueueIdentity, QueueLayout } from './layout.js';

/** A Celery queue: `name` is the queue name; its base LIST key is `keyPrefix + name`. */
export type CeleryQueue = QueueIdentity & {
  /** priority steps (`priority_steps` transport option); 0 is the bare name and always read */
  readonly prioritySteps: readonly number[];
  /** separator between name and step (`sep` transport option) */
  readonly sep: string;
  /** kombu's `global_keyprefix` ('' for none) */
  readonly keyPrefix: string;
};

/** kombu's default separator between a queue name and its priority step (`Channel.sep`). */
export const CELERY_PRIORITY_SEP = '\x06\x16';

/** The queue name Celery uses when none is configured (`task_default_queue`). */
export const CELERY_DEFAULT_QUEUE = 'celery';

/**
 * The LIST keys holding queue `name`'s messages: `prefix + name`, then
 * `prefix + name + sep + step` for every step > 0 (`Channel._q_for_pri`).
 */
export function celeryKeys(name: string, prioritySteps: readonly number[], sep = CELERY_PRIORITY_SEP, prefix = ''): string[] {
  const steps = [...new Set(prioritySteps.filter((s) => s > 0))].sort((a, b) => a - b);
  return [`${prefix}${name}`, ...steps.map((s) => `${prefix}${name}${sep}${s}`)];
}

/** kombu's `unacked` hash under `prefix`. */
export function celeryUnackedKey(prefix = ''): string {
  return `${prefix}unacked`;
}

/**
 * The queue a Celery LIST key belongs to: `prefix` removed, and a trailing
 * `sep<step>` removed when step is one of `prioritySteps` (`q:3` → `q` with sep ':').
 */
export function celeryBaseName(key: string, sep = CELERY_PRIORITY_SEP, prioritySteps: readonly number[] = [0, 3, 6, 9], prefix = ''): string {
  const k = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  const i = k.lastIndexOf(sep);
  if (i <= 0) return k;
  const step = k.slice(i + sep.length);
  return /^\d+$/.test(step) && prioritySteps.includes(Number(step)) ? k.slice(0, i) : k;
}

/** The Celery layout: waiting = sum of LLEN over the base list and its priority sub-lists. */
export const celeryLayout: QueueLayout<CeleryQueue> = {
  framework: 'celery',
  steps(q) {
    const labels = { queue: q.name, framework: 'celery' };
    const keys = celeryKeys(q.name, q.prioritySteps, q.sep, q.keyPrefix);
    const what = keys.map((key) => `LLEN ${JSON.stringify(key)}`);
    const step: ReadStep<never> = {
      commands: keys.map((key) => ['LLEN', key]),
      read(r, sink) {
        let sum = 0;
        let complete = true;
        for (let i = 0; i < keys.length; i++) {
          const n = attempt(sink, int, r[i], what[i]!);
          if (n === undefined) complete = false;
          else sum += n;
        }
        // A partial sum would be a wrong number: the failed key is already reported.
        if (complete) sink.add('queue_tasks', { ...labels, state: 'waiting' }, sum);
        return undefined;
      },
    };
    return [step];
  },
  deploymentSteps(prefix) {
    const key = celeryUnackedKey(prefix);
    return [
      {
        commands: [['HLEN', key]],
        read(r, sink) {
          const n = attempt(sink, int, r[0], `HLEN ${JSON.stringify(key)}`);
          if (n !== undefined) sink.add('queue_broker_unacked', { framework: 'celery' }, n);
          return undefined;
        },
      },
    ];
  },
};

/**
 * Celery: the `queues:` names as given (always reported); entries with glob
 * characters are SCAN MATCH … TYPE list (priority sub-lists map to their
 * queue). Without `queues:` (and in the built-in defaults) the `celery` queue
 * is reported only when one of its lists or kombu's binding set
 * `_kombu.binding.celery` exists, so a Redis without Celery shows none. A
 * queue's lists, and any key with kombu's default priority separator, are
 * Celery's.
 */
export const celery = defineFramework({
  name: 'celery',
  layout: celeryLayout,
  discover: {
    schema: z.strictObject({
      framework: z.literal('celery'),
      queues: z.array(z.string().min(1)).optional(),
      prioritySteps: z.array(z.number().int().min(0).max(255)).min(1).default([0, 3, 6, 9]),
      sep: z.string().min(1).default(CELERY_PRIORITY_SEP),
      globalKeyprefix: z.string().default(''),
      ...thresholds,
    }),
    byDefault: true,
    phase: 'listed',
    // Celery's priority sub-lists (`q\x06\x16<step>`) are Celery's even when no pattern found their queue.
    ownsKey: (key) => key.includes(CELERY_PRIORITY_SEP),
    async find(e, ctx) {
      const prefix = e.globalKeyprefix;
      let added = false;
      const addCelery = (name: string): void => {
        if (name === '' || ctx.seen(name) || ctx.declaredKey(`${prefix}${name}`) || ctx.full()) return;
        if (!ctx.admit(name)) return;
        ctx.add({ name, key: `${prefix}${name}`, prioritySteps: e.prioritySteps, sep: e.sep, keyPrefix: prefix, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold });
        for (const k of celeryKeys(name, e.prioritySteps, e.sep, prefix)) ctx.own(k);
        added = true;
      };
      if (e.queues === undefined) {
        // Not named by the user: report `celery` only when Celery has left a trace of it.
        const keys = [...celeryKeys(CELERY_DEFAULT_QUEUE, e.prioritySteps, e.sep, prefix), `${prefix}_kombu.binding.${CELERY_DEFAULT_QUEUE}`];
        const replies = await ctx.exec(keys.map((k) => ['EXISTS', k]), 'check for the celery queue');
        if (replies.some(([err, v]) => !err && Number(v) > 0)) addCelery(CELERY_DEFAULT_QUEUE);
      }
      for (const q of e.queues ?? []) {
        if (ctx.full()) break;
        if (!isGlob(q)) {
          addCelery(unescapeGlob(q));
          continue;
        }
        const found = new Set<string>();
        await ctx.scan(`${escapeGlob(prefix)}${q}`, 'list', (key) => {
          if (!ctx.ownedByOther(key)) found.add(celeryBaseName(key, e.sep, e.prioritySteps, prefix));
        });
        for (const name of [...found].sort()) addCelery(name);
      }
      if (added) ctx.addDeployment(prefix);
    },
  },
});
