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
import { int, type ReplyReader } from '../replies.js';
import type { Command } from '../types.js';
import { eachStep } from './framework-reads.js';
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
  plan(q) {
    const labels = { queue: q.name, framework: 'celery' };
    const keys = celeryKeys(q.name, q.prioritySteps);
    const sizes: (number | undefined)[] = [];
    const commands: Command[] = keys.map((key) => ['LLEN', key]);
    const readers: ReplyReader[] = keys.map((key, i) => (r) => {
      sizes[i] = int(r, `LLEN ${JSON.stringify(key)}`);
    });
    return [
      eachStep(commands, readers, (sink) => {
        // A partial sum would be a wrong number: the failed key is already reported.
        if (sizes.length !== keys.length || sizes.some((n) => n === undefined)) return;
        sink.add('queue_tasks', { ...labels, state: 'waiting' }, sizes.reduce<number>((a, n) => a + (n ?? 0), 0));
      }),
    ];
  },
};
