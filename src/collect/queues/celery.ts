/**
 * Celery queues on the Redis broker (celery/kombu, `kombu/transport/redis.py`,
 * checked at kombu 5.6.2). A queue `q` is a LIST (`Channel._put` LPUSHes,
 * `_brpop_start` BRPOPs: oldest at -1); messages with a priority go to
 * separate LISTs `q\x06\x16<step>` (`Channel.sep`, `_q_for_pri`), priority 0
 * being the bare name. Default steps are `PRIORITY_STEPS = [0, 3, 6, 9]`.
 *
 * waiting = the sum of LLEN over the base list and its priority sub-lists,
 * exactly what kombu's own `Channel._size` adds up. Nothing else is per queue:
 * `unacked` (HASH) and `unacked_index` (ZSET) are global to the broker, and a
 * message carries no enqueue time, so there is no active state, no oldest-task
 * age and no pause flag for Celery.
 *
 * One batch: one LLEN per priority step.
 */
import { z } from 'zod';
import { thresholds } from '../../config/fields.js';
import { isGlob, unescapeGlob } from '../../redis/glob.js';
import { attempt, int } from '../replies.js';
import type { ReadStep } from '../types.js';
import { defineFramework } from './framework.js';
import type { QueueIdentity, QueueLayout } from './layout.js';

/** A Celery queue: `name` is the queue name, also its base LIST key. */
export type CeleryQueue = QueueIdentity & {
  /** priority steps (`priority_steps` transport option); 0 is the bare name and always read */
  readonly prioritySteps: readonly number[];
};

/** kombu's separator between a queue name and its priority step (`Channel.sep`). */
export const CELERY_PRIORITY_SEP = '\x06\x16';

/**
 * The LIST keys holding queue `name`'s messages: the bare name, then
 * `name\x06\x16<step>` for every step > 0 (`Channel._q_for_pri`).
 */
export function celeryKeys(name: string, prioritySteps: readonly number[]): string[] {
  const steps = [...new Set(prioritySteps.filter((s) => s > 0))].sort((a, b) => a - b);
  return [name, ...steps.map((s) => `${name}${CELERY_PRIORITY_SEP}${s}`)];
}

/** The queue a Celery LIST key belongs to (`q\x06\x163` → `q`). */
export function celeryBaseName(key: string): string {
  const i = key.indexOf(CELERY_PRIORITY_SEP);
  return i < 0 ? key : key.slice(0, i);
}

/** The Celery layout: waiting = sum of LLEN over the base list and its priority sub-lists. */
export const celeryLayout: QueueLayout<CeleryQueue> = {
  framework: 'celery',
  steps(q) {
    const labels = { queue: q.name, framework: 'celery' };
    const keys = celeryKeys(q.name, q.prioritySteps);
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
};

/**
 * Celery: the `queues:` names as given; entries with glob characters are
 * SCAN MATCH … TYPE list (priority sub-lists map to their queue). A queue's
 * lists, and any key with kombu's priority separator, are Celery's.
 */
export const celery = defineFramework({
  name: 'celery',
  layout: celeryLayout,
  discover: {
    schema: z.strictObject({
      framework: z.literal('celery'),
      queues: z.array(z.string().min(1)).default(['celery']),
      prioritySteps: z.array(z.number().int().min(0).max(255)).default([0, 3, 6, 9]),
      ...thresholds,
    }),
    byDefault: true,
    phase: 'listed',
    // Celery's priority sub-lists (`q\x06\x16<step>`) are Celery's even when no pattern found their queue.
    ownsKey: (key) => key.includes(CELERY_PRIORITY_SEP),
    async find(e, ctx) {
      const addCelery = (name: string): void => {
        if (name === '' || ctx.seen(name) || ctx.declaredKey(name) || ctx.full()) return;
        if (!ctx.admit(name)) return;
        ctx.add({ name, key: name, prioritySteps: e.prioritySteps, backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold });
        for (const k of celeryKeys(name, e.prioritySteps)) ctx.own(k);
      };
      for (const q of e.queues) {
        if (ctx.full()) break;
        if (!isGlob(q)) {
          addCelery(unescapeGlob(q));
          continue;
        }
        const found = new Set<string>();
        await ctx.scan(q, 'list', (key) => {
          if (!ctx.ownedByOther(key)) found.add(celeryBaseName(key));
        });
        for (const name of [...found].sort()) addCelery(name);
      }
    },
  },
});
