/**
 * List task inspector: the team's LIST + `details` HASH layout
 * (shared/spec/frameworks.md, "List + companions"; keys: `collect/queues/list.ts`).
 *
 * | state | read |
 * |---|---|
 * | waiting | LRANGE 0 N-1 (`oldestAt: head`) or -N -1 (`tail`); elements are task ids (or task JSON when there is no `details`) |
 * | dead | the `failed` SET, SSCAN 0 COUNT N (one page: a SET has no order, so these are *some* failed tasks, not the oldest) |
 *
 * Second batch: HMGET `details` with the ids read, for the task JSON
 * (`created_at` unix s/ms/ISO, business fields; `type`, `attempts`, `error`…
 * where present). A lookup reads HGET details + SISMEMBER of `failed` / `done`.
 */
import { array, int } from '../collect/replies.js';
import type { Command } from '../redis/command.js';
import type { ListQueue } from '../collect/queues/list.js';
import { parseJsonObject } from '../collect/replies.js';
import { each, oldestFirstFromTail, strings } from './reads.js';
import { bodyFacts, makeTask, str, type TaskFacts } from './task.js';
import type { InspectRequest, InspectStep, Inspector, TaskState } from './types.js';

/** Facts of one list task: `element` is the list element, `body` the details JSON when there is one. */
export function listTaskFacts(element: string, body: string | null | undefined, state: TaskState): TaskFacts {
  const text = body ?? element;
  const o = text.startsWith('{') ? parseJsonObject(text) : undefined;
  const facts = o ? bodyFacts(o) : {};
  const ownId = o && body === undefined ? (o.task_id ?? o.id) : undefined;
  return { id: typeof ownId === 'string' || typeof ownId === 'number' ? String(ownId) : element, state, ...facts, payload: text };
}

function detailsStep(q: ListQueue, items: { state: TaskState; id: string }[], req: InspectRequest): InspectStep {
  const details = q.details!;
  return {
    commands: [['HMGET', details, ...items.map((i) => i.id)]],
    read(r, sink) {
      const bodies = array(r[0], `HMGET ${details}`);
      items.forEach((it, i) => sink.task(makeTask(listTaskFacts(it.id, str(bodies[i]), it.state), req)));
    },
  };
}

export const listInspector: Inspector<ListQueue> = {
  framework: 'list',
  states: ['waiting', 'dead'],
  statesOf: (q) => (q.failed ? ['waiting', 'dead'] : ['waiting']),
  list(q, req) {
    const n = req.limit;
    const commands: Command[] = [];
    const wantWaiting = req.states.has('waiting');
    const wantDead = req.states.has('dead') && q.failed !== undefined;
    if (wantWaiting) commands.push(['LLEN', q.key], q.oldestAt === 'tail' ? ['LRANGE', q.key, -n, -1] : ['LRANGE', q.key, 0, n - 1]);
    if (wantDead) commands.push(['SCARD', q.failed!], ['SSCAN', q.failed!, 0, 'COUNT', n]);
    return [
      {
        commands,
        read(r, sink) {
          const items: { state: TaskState; id: string }[] = [];
          let at = 0;
          if (wantWaiting) {
            each(sink, [
              () => sink.total('waiting', int(r[0], `LLEN ${q.key}`)),
              () => (q.oldestAt === 'tail' ? oldestFirstFromTail(r[1], `LRANGE ${q.key}`) : strings(r[1], `LRANGE ${q.key}`)).forEach((id) => items.push({ state: 'waiting', id })),
            ]);
            at = 2;
          }
          if (wantDead) {
            each(sink, [
              () => sink.total('dead', int(r[at], `SCARD ${q.failed}`)),
              () => {
                const page = array(r[at + 1], `SSCAN ${q.failed}`);
                const ids = Array.isArray(page[1]) ? (page[1] as unknown[]).map((v) => str(v) ?? '') : [];
                ids.slice(0, n).forEach((id) => items.push({ state: 'dead', id }));
              },
            ]);
            sink.note('dead', 'unorderedSet');
          }
          if (items.length === 0) return;
          if (q.details) return detailsStep(q, items, req);
          for (const it of items) sink.task(makeTask(listTaskFacts(it.id, undefined, it.state), req));
          return;
        },
      },
    ];
  },
  lookup(q, id, req) {
    if (!q.details) return [];
    const details = q.details;
    const commands: Command[] = [['HGET', details, id]];
    if (q.failed) commands.push(['SISMEMBER', q.failed, id]);
    if (q.done) commands.push(['SISMEMBER', q.done, id]);
    return [
      {
        commands,
        read(r, sink) {
          const body = str(r[0]?.[1]);
          if (body === null) return;
          let state: TaskState = 'waiting';
          let i = 1;
          if (q.failed && int(r[i++], `SISMEMBER ${q.failed}`) === 1) state = 'dead';
          else if (q.done && int(r[i], `SISMEMBER ${q.done}`) === 1) state = 'completed';
          sink.task(makeTask(listTaskFacts(id, body, state), req));
        },
      },
    ];
  },
};
