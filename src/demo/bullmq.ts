/**
 * The BullMQ flow: a real `bullmq` Queue (`exam-notify`: tell candidates their
 * score) with Workers. Some jobs are delayed, some fail and are retried with
 * exponential backoff (so `delayed` and `failed` have members), and workers
 * keep BullMQ's own metrics (`bull:exam-notify:metrics:completed|failed`).
 *
 * Bounded: `removeOnComplete` / `removeOnFail` keep the last 1000 jobs each,
 * metrics keep 120 per-minute data points, and BullMQ trims its events stream.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { FlowContext } from './exam.js';
import { BULL } from './keys.js';
import { Pacer, randomInt, sleep, throttledWarn } from './pace.js';

/** The BullMQ job payload. */
interface NotifyJob {
  candidate: number;
  exam: number;
  poison?: true;
}

/** Handle of the running BullMQ flow. */
export interface BullFlow {
  /** The producer loop; resolves when the signal aborts. */
  readonly producing: Promise<void>;
  /** Closes workers (waiting for active jobs), the queue and their connections. */
  close(): Promise<void>;
}

/** BullMQ's share of the demo rate (each job costs it several Redis round trips). */
export function bullRate(rate: number): number {
  return Math.max(1, rate / 5);
}

/** Starts the queue, two workers and the producer loop. */
export function startBullFlow(ctx: FlowContext): BullFlow {
  const { options, signal } = ctx;
  const warn = throttledWarn((o, m) => ctx.log.warn(o, m));
  const rate = bullRate(options.rate);
  // Workers block on their connection; BullMQ requires maxRetriesPerRequest null for them.
  const connection = (): Redis => new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queueConn = connection();
  const queue = new Queue<NotifyJob>(BULL.queue, {
    connection: queueConn,
    prefix: BULL.prefix,
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
    },
  });
  queue.on('error', (err) => warn(err, 'demo: BullMQ queue error'));

  const workerConns: Redis[] = [];
  const workers = [0, 1].map(() => {
    const conn = connection();
    workerConns.push(conn);
    const w = new Worker<NotifyJob>(
      BULL.queue,
      async (job: Job<NotifyJob>) => {
        await sleep(randomInt(10, 80), signal);
        if (job.data.poison) throw new Error('candidate has no contact address');
        if (Math.random() < options.failRatio) throw new Error('SMS gateway rate limited');
        return { sent: true };
      },
      {
        connection: conn,
        prefix: BULL.prefix,
        concurrency: Math.max(2, Math.ceil(rate / 10)),
        // BullMQ's limiter is global to the queue: twice the base rate, so bursts leave a backlog in `wait`.
        limiter: { max: Math.max(1, Math.ceil(rate * 2)), duration: 1000 },
        metrics: { maxDataPoints: 120 },
      },
    );
    w.on('error', (err) => warn(err, 'demo: BullMQ worker error'));
    return w;
  });

  const producing = (async () => {
    const pacer = new Pacer(() => rate * ctx.rateFactor());
    while (!signal.aborted) {
      try {
        const n = pacer.take(1000);
        if (n > 0) {
          await queue.addBulk(
            Array.from({ length: n }, () => {
              const data: NotifyJob = { candidate: randomInt(10_000, 19_999), exam: randomInt(1, 12), ...(Math.random() < options.failRatio / 5 ? { poison: true as const } : {}) };
              // One job in ten is scheduled for later (a reminder), so `delayed` is never empty.
              return { name: 'notify', data, opts: Math.random() < 0.1 ? { delay: randomInt(5_000, 60_000) } : {} };
            }),
          );
        }
      } catch (err) {
        warn(err, 'demo: BullMQ add failed');
      }
      await sleep(Math.max(options.timing.tickMs, 200), signal);
    }
  })();

  return {
    producing,
    async close() {
      await producing;
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      await queue.close().catch(() => undefined);
      for (const c of [queueConn, ...workerConns]) c.disconnect();
    },
  };
}
