/**
 * A delay queue in a Redis ZSET: member = task, score = due time (unix seconds
 * or milliseconds). Due tasks (`score <= now`) are waiting; future ones are
 * scheduled. First batch: ZRANGE 0 0 WITHSCORES (the earliest score, which
 * tells the unit and the oldest due task); second batch: ZCOUNT of the due
 * and the future tasks in that unit (none when the ZSET is empty).
 */
import { z } from 'zod';
import { queueCommon } from '../../config/fields.js';
import { array } from '../replies.js';
import { put, series } from '../series.js';
import { clock, type ReadStep } from '../types.js';
import { defineFramework } from './framework.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';
import { CountsInUnit, scoreUnit, type ScoreUnit } from './score-unit.js';

/** A declared delay queue (`queues:` entry of `type: zset`). */
export const zsetQueueSchema = z.strictObject({
  ...queueCommon,
  type: z.literal('zset'),
});
export type ZsetQueueConfig = z.output<typeof zsetQueueSchema>;

/** A zset queue ready to plan: config with its `name` resolved. */
export type ZsetQueue = QueueIdentity & Omit<ZsetQueueConfig, 'name'>;

export const zsetLayout: QueueLayout<ZsetQueue> = {
  framework: 'zset',
  steps(q) {
    const key = q.key;
    const labels = { queue: q.name, framework: 'zset' };
    const waiting = series('queue_tasks', { ...labels, state: 'waiting' });
    const scheduled = series('queue_tasks', { ...labels, state: 'scheduled' });
    const age = series('queue_oldest_task_age_seconds', labels);
    // Due (score <= now) and future (score > now), in the unit the earliest score is in.
    const counts = new CountsInUnit(
      key,
      [['ZCOUNT', key, '-inf', clock('s')], ['ZCOUNT', key, clock('s', 0, true), '+inf']],
      [['ZCOUNT', key, '-inf', clock('ms')], ['ZCOUNT', key, clock('ms', 0, true), '+inf']],
      [waiting, scheduled],
    );
    const step: ReadStep<ScoreUnit> = {
      commands: [['ZRANGE', key, 0, 0, 'WITHSCORES']],
      read(replies, sink, nowMs) {
        const first = array(replies[0], 'ZRANGE', key, '0 0');
        if (first.length < 2) {
          counts.none(sink);
          put(sink, age, 0);
          return undefined;
        }
        const earliest = Number(first[1]);
        const unit = scoreUnit(earliest, nowMs);
        const earliestMs = !Number.isFinite(earliest) ? undefined : unit.inMs ? earliest : earliest * 1000;
        put(sink, age, earliestMs === undefined || earliestMs > nowMs ? 0 : ageSeconds(nowMs, earliestMs));
        return unit;
      },
      then: counts,
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
