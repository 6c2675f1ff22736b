/**
 * The exam-scoring list flow from the team's design notes: a producer (the
 * "simulator") writes score tasks into `task:details` / `task:queue` /
 * `task:timeline` with its heartbeat and counter; a consumer LPOPs them,
 * INSERTs the score into MySQL, records `task:done` or `task:failed`, its
 * heartbeat, counters and durations.
 *
 * Bounded for long runs: task ids are sequence numbers (INCRBY on the written
 * counter), so writing task n also deletes task n − keep from the details
 * hash and the done / failed sets; the timeline is trimmed to a time window.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EXAM } from './keys.js';
import type { ScoreStore } from './mysql.js';
import type { DemoOptions } from './options.js';
import { eachLimited, Pacer, randomInt, sleep, throttledWarn } from './pace.js';

/** Task body stored in `task:details` (JSON). `created_at` is unix seconds, as in the design notes. */
export interface ExamTask {
  created_at: number;
  exam_id: number;
  user_id: number;
  username: string;
  score: number;
  /** Set on a fraction of tasks: bad data that always fails (ends in `task:failed`). */
  poison?: true;
}

/** The task id for sequence number `seq`. */
export function examTaskId(seq: number): string {
  return `task_${seq}`;
}

/** Parameters shared by the flows. */
export interface FlowContext {
  readonly redis: Redis;
  readonly options: DemoOptions;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Producer rate multiplier now (1, or the burst factor). */
  readonly rateFactor: () => number;
}

/** Runs the producer loop until `ctx.signal` aborts. */
export async function runExamProducer(ctx: FlowContext): Promise<void> {
  const { redis, options, signal } = ctx;
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  const pacer = new Pacer(() => options.rate * ctx.rateFactor());
  const poisonRatio = options.failRatio / 5;
  while (!signal.aborted) {
    try {
      const n = pacer.take(5000);
      const nowS = Math.floor(Date.now() / 1000);
      const p = redis.pipeline();
      if (n > 0) {
        const last = await redis.incrby(EXAM.producerTotal, n);
        const ids: string[] = [];
        const details: string[] = [];
        const timeline: (string | number)[] = [];
        const expired: string[] = [];
        for (let seq = last - n + 1; seq <= last; seq++) {
          const id = examTaskId(seq);
          const task: ExamTask = {
            created_at: nowS,
            exam_id: randomInt(1, 12),
            user_id: randomInt(10_000, 19_999),
            username: `candidate${randomInt(1, 9999)}`,
            score: randomInt(35, 100),
            ...(Math.random() < poisonRatio ? { poison: true as const } : {}),
          };
          ids.push(id);
          details.push(id, JSON.stringify(task));
          timeline.push(nowS, id);
          if (seq > options.keep) expired.push(examTaskId(seq - options.keep));
        }
        p.hset(EXAM.details, ...details);
        p.rpush(EXAM.queue, ...ids);
        p.zadd(EXAM.timeline, ...timeline);
        if (expired.length > 0) {
          p.hdel(EXAM.details, ...expired);
          p.srem(EXAM.done, ...expired);
          p.srem(EXAM.failed, ...expired);
        }
      }
      // The heartbeat is written every tick, also when nothing was due, so a slow rate is not "down".
      p.set(EXAM.producerHeartbeat, nowS);
      p.zremrangebyscore(EXAM.timeline, '-inf', `(${nowS - Math.floor(options.timing.timelineWindowMs / 1000)}`);
      await p.exec();
    } catch (err) {
      warn(err, 'demo: exam producer write failed');
    }
    await sleep(options.timing.tickMs, signal);
  }
}

/**
 * Runs the consumer until `ctx.signal` aborts. Throughput is capped at twice
 * the base rate (so bursts build a backlog that drains afterwards).
 */
export async function runExamConsumer(ctx: FlowContext, store: ScoreStore | undefined): Promise<void> {
  const { redis, options, signal } = ctx;
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  const capacity = new Pacer(() => options.rate * 2);
  // Enough lanes that simulated work (5-40 ms) plus an INSERT never caps throughput below capacity.
  const lanes = Math.max(4, Math.ceil((options.rate * 2 * 40) / 1000));
  let lastBeat = 0;
  let lastHousekeeping = Date.now();

  const processOne = async (id: string): Promise<void> => {
    const started = Date.now();
    let failed = false;
    try {
      const body = await redis.hget(EXAM.details, id);
      if (body === null) throw new Error('task details missing');
      const task = JSON.parse(body) as ExamTask;
      await sleep(randomInt(5, 40), signal);
      if (task.poison) throw new Error('invalid score record');
      if (Math.random() < options.failRatio) throw new Error('scoring service timed out');
      await store?.insert({ taskId: id, examId: task.exam_id, userId: task.user_id, score: task.score, createdAtS: task.created_at });
    } catch (err) {
      failed = true;
      if (!(err instanceof Error) || !['invalid score record', 'scoring service timed out'].includes(err.message)) warn(err, 'demo: exam task failed');
    }
    const durationMs = Date.now() - started;
    const p = redis.pipeline();
    if (failed) {
      p.sadd(EXAM.failed, id);
      p.incr(EXAM.consumerFailed);
    } else {
      p.sadd(EXAM.done, id);
      p.incr(EXAM.consumerTotal);
    }
    p.set(EXAM.consumerHeartbeat, Math.floor(Date.now() / 1000));
    p.set(EXAM.consumerLastDuration, durationMs);
    p.lpush(EXAM.consumerDurations, durationMs);
    p.ltrim(EXAM.consumerDurations, 0, 19);
    await p.exec();
  };

  while (!signal.aborted) {
    try {
      if (Date.now() - lastBeat >= 1000) {
        lastBeat = Date.now();
        await redis.set(EXAM.consumerHeartbeat, Math.floor(lastBeat / 1000));
      }
      if (store && Date.now() - lastHousekeeping >= 20_000) {
        lastHousekeeping = Date.now();
        void store.housekeeping(options.keep);
      }
      const budget = capacity.take(500);
      if (budget === 0) {
        await sleep(options.timing.tickMs, signal);
        continue;
      }
      const ids = await redis.lpop(EXAM.queue, budget);
      const got = ids?.length ?? 0;
      if (got < budget) capacity.refund(budget - got);
      if (!ids || got === 0) {
        await sleep(options.timing.tickMs, signal);
        continue;
      }
      await eachLimited(ids, lanes, processOne);
    } catch (err) {
      warn(err, 'demo: exam consumer failed');
      await sleep(1000, signal);
    }
  }
}
