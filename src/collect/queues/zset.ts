/**
 * A delay queue in a Redis ZSET: member = task, score = due time (unix seconds
 * or milliseconds). Due tasks (`score <= now`) are waiting; future ones are
 * scheduled. One batch: ZCOUNT for both units plus ZRANGE 0 0 WITHSCORES (the
 * earliest score, which tells the unit and the oldest due task).
 */
import type { ZsetQueueConfig } from '../../config/schema.js';
import { array, int } from '../replies.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A zset queue ready to plan: config with its `name` resolved. */
export type ZsetQueue = QueueIdentity & Omit<ZsetQueueConfig, 'name'>;

/** Scores above this are milliseconds (1e11 s is the year 5138). */
const MS_SCORE = 1e11;

export const zsetLayout: QueueLayout<ZsetQueue> = {
  framework: 'zset',
  plan(q, nowMs) {
    const key = q.key;
    const labels = { queue: q.name, framework: 'zset' };
    const nowS = nowMs / 1000;
    return [
      {
        commands: [
          ['ZRANGE', key, 0, 0, 'WITHSCORES'],
          ['ZCOUNT', key, '-inf', nowS],
          ['ZCOUNT', key, `(${nowS}`, '+inf'],
          ['ZCOUNT', key, '-inf', nowMs],
          ['ZCOUNT', key, `(${nowMs}`, '+inf'],
        ],
        read(replies, sink) {
          const first = array(replies[0], `ZRANGE ${key} 0 0`);
          const earliest = first.length >= 2 ? Number(first[1]) : undefined;
          const inMs = earliest !== undefined && earliest > MS_SCORE;
          const base = inMs ? 3 : 1;
          sink.add('queue_tasks', { ...labels, state: 'waiting' }, int(replies[base], `ZCOUNT ${key}`));
          sink.add('queue_tasks', { ...labels, state: 'scheduled' }, int(replies[base + 1], `ZCOUNT ${key}`));
          const earliestMs = earliest === undefined || !Number.isFinite(earliest) ? undefined : inMs ? earliest : earliest * 1000;
          sink.add('queue_oldest_task_age_seconds', labels, earliestMs === undefined || earliestMs > nowMs ? 0 : ageSeconds(nowMs, earliestMs));
        },
      },
    ];
  },
};
