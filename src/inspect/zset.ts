/**
 * Zset task inspector: a delay queue, member = task, score = due time in
 * unix seconds or milliseconds (keys: `collect/queues/zset.ts`). Due
 * members are waiting, future ones scheduled.
 *
 * First batch: ZRANGE 0 N-1 WITHSCORES (the earliest: tells the unit and
 * gives the oldest due tasks) and ZCOUNTs in both units. Second batch, for
 * scheduled: ZRANGE (now +inf BYSCORE LIMIT 0 N WITHSCORES in the unit found.
 */
import { int, parseJsonObject } from '../collect/replies.js';
import type { Command } from '../redis/command.js';
import type { ZsetQueue } from '../collect/queues/zset.js';
import { each, score, withScores } from './reads.js';
import { bodyFacts, makeTask, type TaskFacts } from './task.js';
import type { Inspector, TaskState } from './types.js';

const MS_SCORE = 1e11;

/** Facts of one member; `dueMs` its score in ms. */
export function zsetMemberFacts(member: string, dueMs: number, state: TaskState): TaskFacts {
  const o = member.startsWith('{') ? parseJsonObject(member) : undefined;
  const facts = o ? bodyFacts(o) : {};
  const ownId = o ? (o.task_id ?? o.id) : undefined;
  return { id: typeof ownId === 'string' || typeof ownId === 'number' ? String(ownId) : member, state, ...facts, dueAtMs: dueMs, payload: member };
}

export const zsetInspector: Inspector<ZsetQueue> = {
  framework: 'zset',
  states: ['waiting', 'scheduled'],
  list(q, req) {
    const n = req.limit;
    const nowS = req.nowMs / 1000;
    const commands: Command[] = [
      ['ZRANGE', q.key, 0, n - 1, 'WITHSCORES'],
      ['ZCOUNT', q.key, '-inf', nowS],
      ['ZCOUNT', q.key, '-inf', req.nowMs],
      ['ZCARD', q.key],
    ];
    return [
      {
        commands,
        read(r, sink) {
          const first = withScores(r[0], `ZRANGE ${q.key}`);
          const inMs = first.length > 0 && first[0]!.score > MS_SCORE;
          const now = inMs ? req.nowMs : nowS;
          const toMs = (s: number): number => (inMs ? s : s * 1000);
          each(sink, [
            () => {
              const due = int(r[inMs ? 2 : 1], `ZCOUNT ${q.key}`);
              sink.total('waiting', due);
              sink.total('scheduled', int(r[3], `ZCARD ${q.key}`) - due);
            },
          ]);
          if (req.states.has('waiting')) for (const m of first) if (m.score <= now) sink.task(makeTask(zsetMemberFacts(m.member, toMs(m.score), 'waiting'), req));
          if (!req.states.has('scheduled')) return;
          return {
            commands: [['ZRANGE', q.key, `(${now}`, '+inf', 'BYSCORE', 'LIMIT', 0, n, 'WITHSCORES']],
            read(r2, sink2) {
              for (const m of withScores(r2[0], `ZRANGE ${q.key}`)) sink2.task(makeTask(zsetMemberFacts(m.member, toMs(m.score), 'scheduled'), req));
            },
          };
        },
      },
    ];
  },
  lookup(q, id, req) {
    return [
      {
        commands: [['ZSCORE', q.key, id]],
        read(r, sink) {
          const s = score(r[0], `ZSCORE ${q.key}`);
          if (s === undefined) return;
          const ms = s > MS_SCORE ? s : s * 1000;
          sink.task(makeTask(zsetMemberFacts(id, ms, ms <= req.nowMs ? 'waiting' : 'scheduled'), req));
        },
      },
    ];
  },
};
