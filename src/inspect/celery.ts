/**
 * Celery task inspector, Redis broker (kombu 5.6.2 `kombu/transport/redis.py`,
 * keys: `collect/queues/celery.ts`). Only waiting: kombu keeps a queue as
 * LISTs (the bare name and `<q>\x06\x16<step>` per priority step, LPUSH,
 * BRPOP from the tail) and nothing else per queue — delivered messages go
 * to the global `unacked` hash, results to the result backend.
 *
 * One batch: LLEN + LRANGE -N -1 per priority list. A message is kombu's
 * JSON envelope; Celery's protocol 2 puts the task name, id and retries in
 * `headers` (`task`, `id`, `retries`) and the arguments, base64, in `body`.
 * There is no enqueue time (an `eta` is the scheduled run time).
 */
import { parseJsonObject } from '../collect/replies.js';
import type { Command } from '../redis/command.js';
import { celeryKeys, type CeleryQueue } from '../collect/queues/celery.js';
import { int } from '../collect/replies.js';
import { each, oldestFirstFromTail } from './reads.js';
import { makeTask, numField, tsMs, type TaskFacts } from './task.js';
import type { Inspector } from './types.js';

/** Facts of one kombu message (protocol 2 headers; protocol 1 body fields as fallback). */
export function celeryMessageFacts(text: string): TaskFacts {
  const o = parseJsonObject(text);
  if (!o) return { id: text.slice(0, 64), state: 'waiting', payload: text };
  const headers = (typeof o.headers === 'object' && o.headers !== null ? o.headers : {}) as Record<string, unknown>;
  const props = (typeof o.properties === 'object' && o.properties !== null ? o.properties : {}) as Record<string, unknown>;
  let body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body ?? null);
  if (props.body_encoding === 'base64' && typeof o.body === 'string') body = Buffer.from(o.body, 'base64').toString('utf8');
  const legacy = headers.task === undefined ? parseJsonObject(body) : undefined;
  const id = headers.id ?? legacy?.id ?? props.correlation_id;
  return {
    id: typeof id === 'string' ? id : text.slice(0, 64),
    state: 'waiting',
    name: headers.task ?? legacy?.task,
    attempts: numField(headers.retries ?? legacy?.retries),
    dueAtMs: tsMs(headers.eta ?? legacy?.eta),
    payload: body,
  };
}

export const celeryInspector: Inspector<CeleryQueue> = {
  framework: 'celery',
  states: ['waiting'],
  list(q, req) {
    if (!req.states.has('waiting')) return [];
    const keys = celeryKeys(q.name, q.prioritySteps);
    const commands: Command[] = keys.flatMap((key): Command[] => [['LLEN', key], ['LRANGE', key, -req.limit, -1]]);
    return [
      {
        commands,
        read(r, sink) {
          let total = 0;
          let shown = 0;
          // Priority 0 (the bare name) is served first, then the steps in order: that is the order shown.
          keys.forEach((key, i) =>
            each(sink, [
              () => {
                total += int(r[2 * i], `LLEN ${JSON.stringify(key)}`);
                for (const m of oldestFirstFromTail(r[2 * i + 1], `LRANGE ${JSON.stringify(key)}`)) {
                  if (shown++ >= req.limit) break;
                  sink.task(makeTask(celeryMessageFacts(m), req));
                }
              },
            ]),
          );
          sink.total('waiting', total);
        },
      },
    ];
  },
};
