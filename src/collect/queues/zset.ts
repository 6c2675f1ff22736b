/**
 * A delay queue in a Redis ZSET: member = task, score = due time (unix seconds
 * or milliseconds). Due tasks (`score <= now`) are waiting; future ones are
 * scheduled. One batch: ZCOUNT for both units plus ZRANGE 0 0 WITHSCORES (the
 * earliest score, which tells the unit and the oldest due task).
 */
import { z } from 'zod';
import { queueCommon } from '../../config/fields.js';
import { array, int } from '../replies.js';
import { put, series } from '../series.js';
import { clock, type ReadStep } from '../types.js';
import { defineFramework } from './framework.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A declared delay queue (`queues:` entry of `type: zset`). */
export const zsetQueueSchema = z.strictObject({
  ...queueCommon,
  type: z.literal('zset'),
});
export type ZsetQueueConfig = z.output<typeof zsetQueueSchema>;

/** A zset queue ready to plan: config with its `name` resolved. */
export type ZsetQueue = QueueIdentity & Omit<ZsetQueueConfig, 'name'>;

/** Scores above this are milliseconds (1e11 s is the year 5138). */
const MS_SCORE = 1e11;

export const zsetLayout: QueueLayout<ZsetQueue> = {
  framework: 'zset',
  steps(q) {
    const key = q.key;
    const labels = { queue: q.name, framework: 'zset' };
    const waiting = series('queue_tasks', { ...labels, state: 'waiting' });
    const scheduled = series('queue_tasks', { ...labels, state: 'scheduled' });
    const age = series('queue_oldest_task_age_seconds', labels);
    const step: ReadStep<never> = {
      commands: [
        ['ZRANGE', key, 0, 0, 'WITHSCORES'],
        ['ZCOUNT', key, '-inf', clock('s')],
        ['ZCOUNT', key, clock('s', 0, true), '+inf'],
        ['ZCOUNT', key, '-inf', clock('ms')],
        ['ZCOUNT', key, clock('ms', 0, true), '+inf'],
      ],
      read(replies, sink, nowMs) {
        const first = array(replies[0], 'ZRANGE', key, '0 0');
        const earliest = first.length >= 2 ? Number(first[1]) : undefined;
        const inMs = earliest !== undefined && earliest > MS_SCORE;
        const base = inMs ? 3 : 1;
        put(sink, waiting, int(replies[base], 'ZCOUNT', key));
        put(sink, scheduled, int(replies[base + 1], 'ZCOUNT', key));
        const earliestMs = earliest === undefined || !Number.isFinite(earliest) ? undefined : inMs ? earliest : earliest * 1000;
        put(sink, age, earliestMs === undefined || earliestMs > nowMs ? 0 : ageSeconds(nowMs, earliestMs));
        return undefined;
      },
    };
    return [step];
  },
};

/** A delay queue in a ZSET: declared only (nothing tells a delay queue from any other ZSET). */
export const zset = defineFramework({
  name: 'zset',
  layout: zsetLayout,
  declare: { schema: zsetQueueSchema },
});
