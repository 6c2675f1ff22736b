/**
 * What a queue layout is: for one queue, the read steps it needs. Layouts are
 * pure (no I/O, no clock but the `nowMs` given); the engine does the rest.
 * Adding a framework is one file exporting a {@link QueueLayout} plus its test.
 */
import type { RedisCollector, ReadStep, SampleSink } from '../types.js';

/** Layout label values (`framework` label). */
export type Framework = 'list' | 'stream' | 'zset' | 'asynq' | 'bullmq' | 'sidekiq' | 'celery' | 'rq';

/** What every queue has, whatever its layout. */
export interface QueueIdentity {
  /** `queue` label. */
  readonly name: string;
  /** Main Redis key or key prefix (`queue_info{key}`). */
  readonly key: string;
  /** Waiting tasks above which QueueBacklogHigh fires. */
  readonly backlogThreshold: number;
  /** Oldest-task age above which QueueLatencyHigh fires, milliseconds. */
  readonly latencyThreshold: number;
}

/** A queue layout: plans the read steps of one queue. */
export interface QueueLayout<Q extends QueueIdentity> {
  readonly framework: Framework;
  /**
   * @param queue the queue (config or discovery result)
   * @param nowMs scrape wall clock, unix milliseconds
   */
  plan(queue: Q, nowMs: number): ReadStep[];
}

/**
 * Adds the samples every queue carries: `queue_info`, and the two thresholds
 * the alert rules compare against.
 */
export function addQueueBase(sink: SampleSink, framework: Framework, q: QueueIdentity): void {
  sink.add('queue_info', { queue: q.name, framework, key: q.key }, 1);
  const labels = { queue: q.name, framework };
  sink.add('queue_backlog_threshold', labels, q.backlogThreshold);
  sink.add('queue_latency_threshold_seconds', labels, q.latencyThreshold / 1000);
}

/**
 * A collector over all queues of one layout. The queue list is read per scrape
 * (discovery swaps it between scrapes). The base samples are added from the
 * config, so they are present even when Redis is down.
 */
export class LayoutCollector<Q extends QueueIdentity> implements RedisCollector {
  readonly name: string;

  constructor(
    private readonly layout: QueueLayout<Q>,
    private readonly queues: () => readonly Q[],
    name?: string,
  ) {
    this.name = name ?? layout.framework;
  }

  plan(nowMs: number): ReadStep[] {
    const steps: ReadStep[] = [];
    for (const q of this.queues()) {
      steps.push(baseStep(this.layout.framework, q));
      for (const s of this.layout.plan(q, nowMs)) steps.push(s);
    }
    return steps;
  }
}

function baseStep(framework: Framework, q: QueueIdentity): ReadStep {
  return {
    commands: [],
    read: (_replies, sink) => addQueueBase(sink, framework, q),
  };
}

/** Age in seconds of an event at `tsMs` seen at `nowMs`, never negative (clock skew). */
export function ageSeconds(nowMs: number, tsMs: number): number {
  return Math.max(0, (nowMs - tsMs) / 1000);
}
