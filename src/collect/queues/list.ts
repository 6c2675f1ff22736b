/**
 * A Redis LIST queue with the team's companion keys (shared/spec/frameworks.md,
 * "List + companions"): `details` HASH id -> JSON with `created_at`, `done` /
 * `failed` SETs of ids or integer counters, and a `timeline` ZSET scored by
 * enqueue time for sliding-window counts.
 *
 * First batch: LLEN, LINDEX (the oldest element), HLEN, SCARD / GET and
 * ZRANGE -1 -1 WITHSCORES (to tell seconds from milliseconds). Second batch:
 * HGET details <oldest id> when the task body lives in the details hash, and
 * ZCOUNT per window in the timeline's unit.
 */
import { z } from 'zod';
import { emptyMeansUnset, queueCommon, thresholds, windowsSchema } from '../../config/fields.js';
import { formatDuration } from '../../config/durations.js';
import type { Command, Reply } from '../../redis/command.js';
import { array, attempt, counterValue, int, parseJsonObject, parseTimestampMs, stringOrNull } from '../replies.js';
import { put, series } from '../series.js';
import { clock, type FollowUp, type PlannedCommand, type ReadStep, type SampleSink, type Series } from '../types.js';
import { defineFramework, findByPattern } from './framework.js';
import { CountsInUnit, scoreUnit, type ScoreUnit } from './score-unit.js';
import { ageSeconds, type QueueIdentity, type QueueLayout } from './layout.js';

/** A declared list queue (`queues:` entry of `type: list`). */
export const listQueueSchema = z
  .strictObject({
    ...queueCommon,
    type: z.literal('list'),
    /** which end holds the oldest task: `head` (RPUSH/LPOP, index 0) or `tail` (LPUSH/RPOP, index -1) */
    oldestAt: z.enum(['head', 'tail']).default('head'),
    details: z.string().min(1).optional(),
    /** integer counter of tasks ever enqueued (alternative to HLEN of `details`, which stops growing once trimmed) */
    enqueuedCounter: z.string().min(1).optional(),
    done: z.string().min(1).optional(),
    failed: z.string().min(1).optional(),
    processedCounter: emptyMeansUnset,
    failedCounter: emptyMeansUnset,
    timeline: z.string().min(1).optional(),
    windows: windowsSchema,
  })
  .superRefine((v, ctx) => {
    // `done` / `processedCounter` (and `failed` / `failedCounter`) are two ways to say the same count.
    if (v.done && v.processedCounter) ctx.addIssue({ code: 'custom', message: 'at most one of done & processedCounter may be set', path: ['processedCounter'] });
    if (v.failed && v.failedCounter) ctx.addIssue({ code: 'custom', message: 'at most one of failed & failedCounter may be set', path: ['failedCounter'] });
  });
export type ListQueueConfig = z.output<typeof listQueueSchema>;

/** A list queue ready to plan: config with its `name` resolved. */
export type ListQueue = QueueIdentity & Omit<ListQueueConfig, 'name'>;

/** Field names a task JSON may carry its enqueue time in, most specific first. */
const CREATED_FIELDS = ['created_at', 'createdAt', 'enqueued_at', 'enqueuedAt', 'timestamp', 'ts'];

/**
 * Reads the enqueue time out of a task body (JSON object with one of
 * {@link CREATED_FIELDS}: unix s/ms or ISO-8601).
 * @returns unix ms, or undefined when the body has none.
 */
export function createdAtMs(body: string): number | undefined {
  // Cheap check first: most list elements are plain ids, not JSON.
  if (!body.startsWith('{')) return undefined;
  const parsed = parseJsonObject(body);
  if (!parsed) return undefined;
  for (const f of CREATED_FIELDS) {
    const v = parsed[f];
    if (v !== undefined) return parseTimestampMs(v);
  }
  return undefined;
}

/**
 * A list's timeline ZSET: the newest score (ZRANGE -1 -1 WITHSCORES) in the
 * first batch tells seconds from milliseconds, and the follow-up counts each
 * trailing window (ZCOUNT from the scrape clock minus the window to the
 * clock) in that unit into `queue_window_tasks` (score-unit.ts). An empty
 * timeline counts 0 in every window, with no follow-up.
 */
export class TimelineStep implements ReadStep<ScoreUnit> {
  readonly commands: readonly PlannedCommand[];
  readonly then: CountsInUnit;

  /** @param windowSeries one per window of `windowsMs`, in order */
  constructor(private readonly key: string, windowsMs: readonly number[], windowSeries: readonly Series[]) {
    this.commands = [['ZRANGE', key, -1, -1, 'WITHSCORES']];
    this.then = new CountsInUnit(
      key,
      windowsMs.map((w): PlannedCommand => ['ZCOUNT', key, clock('whole_s', -Math.floor(w / 1000)), clock('whole_s')]),
      windowsMs.map((w): PlannedCommand => ['ZCOUNT', key, clock('ms', -w), clock('ms')]),
      windowSeries,
    );
  }

  read(replies: readonly Reply[], sink: SampleSink, nowMs: number): ScoreUnit | undefined {
    const newest = array(replies[0], 'ZRANGE', this.key, '-1 -1');
    if (newest.length < 2) {
      this.then.none(sink);
      return undefined;
    }
    return scoreUnit(Number(newest[1]), nowMs);
  }
}

/** The `queue_window_tasks` series of `q`'s windows, in order (build once per plan). */
export function timelineSeries(q: { name: string; windows: readonly number[] }, framework: string): Series[] {
  return q.windows.map((w) => series('queue_window_tasks', { queue: q.name, framework, window: formatDuration(w) }));
}

/** How the counters step reads one reply: into which number, with which parser. */
interface CounterRead {
  readonly into: 'enqueued' | 'ok' | 'failed';
  readonly parse: (reply: Reply | undefined, what: string) => number;
  readonly what: string;
}

/**
 * LLEN and LINDEX of the oldest element; the carry is that element (a task
 * id) when its body lives in `details`, read by {@link DetailsAge}. Objects
 * of a class rather than closures: every list queue has one (issue 14: a
 * closure and its context per queue were ~2× the memory of these fields).
 */
class ListHeadStep implements ReadStep<string> {
  readonly commands: readonly PlannedCommand[];
  readonly then: DetailsAge | undefined;

  constructor(
    private readonly key: string,
    oldestAt: 'head' | 'tail',
    private readonly details: string | undefined,
    private readonly waiting: Series,
    private readonly age: Series,
  ) {
    this.commands = [
      ['LLEN', key],
      ['LINDEX', key, oldestAt === 'head' ? 0 : -1],
    ];
    this.then = details !== undefined ? new DetailsAge(details, age) : undefined;
  }

  read(replies: readonly Reply[], sink: SampleSink, nowMs: number): string | undefined {
    put(sink, this.waiting, int(replies[0], 'LLEN', this.key));
    const oldest = stringOrNull(replies[1], 'LINDEX', this.key);
    if (oldest === null) {
      put(sink, this.age, 0);
      return undefined;
    }
    if (this.details !== undefined) return oldest;
    // Without a details hash the element itself may be the task JSON.
    const ts = createdAtMs(oldest);
    if (ts !== undefined) put(sink, this.age, ageSeconds(nowMs, ts));
    return undefined;
  }
}

/** The counter series of one list queue. */
interface CounterSeries {
  readonly enqueued: Series;
  readonly processed: Series;
  readonly failed: Series;
}

/**
 * The enqueued / done / failed counts (HLEN, SCARD or GET each): an object
 * of a class, like {@link ListHeadStep}, with a plain loop (a closure per
 * queue and one per count read were a measurable part of a scrape).
 */
class ListCountersStep implements ReadStep {
  constructor(
    readonly commands: readonly PlannedCommand[],
    private readonly reads: readonly CounterRead[],
    private readonly series: CounterSeries,
  ) {}

  read(replies: readonly Reply[], sink: SampleSink): undefined {
    let ok: number | undefined;
    let failed: number | undefined;
    for (let i = 0; i < this.reads.length; i++) {
      const c = this.reads[i]!;
      const n = attempt(sink, c.parse, replies[i], c.what);
      if (n === undefined) continue;
      if (c.into === 'enqueued') put(sink, this.series.enqueued, n);
      else if (c.into === 'ok') ok = n;
      else failed = n;
    }
    // processed = successes + failures (metrics.md: failure ratio = failed / processed).
    if (ok !== undefined) put(sink, this.series.processed, ok + (failed ?? 0));
    if (failed !== undefined) put(sink, this.series.failed, failed);
    return undefined;
  }
}

/** The follow-up of {@link ListHeadStep}: HGET `details` <oldest id> → the oldest task's age. */
class DetailsAge implements FollowUp<string> {
  constructor(
    private readonly details: string,
    private readonly age: Series,
  ) {}

  commands(oldest: string): readonly Command[] {
    return [['HGET', this.details, oldest]];
  }

  read(replies: readonly Reply[], _oldest: string, sink: SampleSink, nowMs: number): void {
    const body = stringOrNull(replies[0], 'HGET', this.details);
    // The head id may have been popped between the batches; its age is then unknown this scrape.
    if (body === null) return;
    const ts = createdAtMs(body);
    if (ts === undefined) {
      sink.fail(`HGET ${this.details} <head id>: task has no readable created_at`);
      return;
    }
    put(sink, this.age, ageSeconds(nowMs, ts));
  }
}

export const listLayout: QueueLayout<ListQueue> = {
  framework: 'list',
  steps(q) {
    const labels = { queue: q.name, framework: 'list' };
    // Built once per queue set: a scrape only writes values.
    const waitingSeries = series('queue_tasks', { ...labels, state: 'waiting' });
    const ageSeries = series('queue_oldest_task_age_seconds', labels);
    const steps: ReadStep[] = [];
    const details = q.details;

    steps.push(new ListHeadStep(q.key, q.oldestAt, details, waitingSeries, ageSeries));

    // Each count has two sources; the first configured one is read (a SET / HASH size, or a GET counter).
    const commands: PlannedCommand[] = [];
    const reads: CounterRead[] = [];
    const sources: [CounterRead['into'], string | undefined, 'HLEN' | 'SCARD', string | undefined][] = [
      ['enqueued', q.enqueuedCounter, 'HLEN', q.details],
      ['ok', q.processedCounter, 'SCARD', q.done],
      ['failed', q.failedCounter, 'SCARD', q.failed],
    ];
    for (const [into, counter, sizeCommand, sized] of sources) {
      // `enqueuedCounter` wins over HLEN of `details` (which stops growing once trimmed); `done` / `failed` sets win over counters.
      const useCounter = into === 'enqueued' ? counter !== undefined : sized === undefined && counter !== undefined;
      if (useCounter) {
        commands.push(['GET', counter!]);
        reads.push({ into, parse: counterValue, what: `GET ${counter}` });
      } else if (sized !== undefined) {
        commands.push([sizeCommand, sized]);
        reads.push({ into, parse: int, what: `${sizeCommand} ${sized}` });
      }
    }
    if (commands.length > 0) {
      steps.push(new ListCountersStep(commands, reads, {
        enqueued: series('queue_enqueued_total', labels),
        processed: series('queue_processed_total', labels),
        failed: series('queue_failed_total', labels),
      }));
    }

    if (q.timeline) steps.push(new TimelineStep(q.timeline, q.windows, timelineSeries(q, 'list')));
    return steps;
  },
};

/**
 * Lists: declared with their companion keys, or discovered by `match`
 * (SCAN … TYPE list, keys other configured frameworks own skipped).
 */
export const list = defineFramework({
  name: 'list',
  layout: listLayout,
  declare: { schema: listQueueSchema },
  discover: {
    schema: z.strictObject({
      framework: z.literal('list'),
      match: z.string().min(1),
      /** as on declared list queues: `head` for RPUSH/LPOP, `tail` for LPUSH/RPOP */
      oldestAt: z.enum(['head', 'tail']).default('head'),
      ...thresholds,
    }),
    byDefault: false,
    phase: 'pattern',
    collector: 'discovered_list',
    find: (e, ctx) =>
      findByPattern(ctx, e.match, 'list', (key) => ({
        name: key, key, type: 'list' as const, oldestAt: e.oldestAt, windows: [60_000], backlogThreshold: e.backlogThreshold, latencyThreshold: e.latencyThreshold,
      })),
  },
});
