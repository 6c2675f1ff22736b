/**
 * What a queue layout is: for one queue, the read steps it needs. Layouts are
 * pure (no I/O, no clock but the `nowMs` their reads are given); the engine
 * does the rest. A layout is one part of a framework module (`framework.ts`).
 */
import { DEFAULT_BACKLOG_THRESHOLD, DEFAULT_LATENCY_THRESHOLD_MS } from '../../config/fields.js';
import type { Reply } from '../../redis/command.js';
import { attempt, counterValue, int, stringOrNull } from '../replies.js';
import { put, series } from '../series.js';
import type { FollowUp, Labels, PlannedCommand, ReadStep, SampleSink, Series } from '../types.js';

/** The normalised states of `queue_tasks` (shared/spec/metrics.md, state table). */
export type QueueState = 'waiting' | 'active' | 'scheduled' | 'retry' | 'dead' | 'completed' | 'stuck' | 'deferred' | 'aggregating' | 'canceled';

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

/** A queue layout: the read steps of one queue. */
export interface QueueLayout<Q extends QueueIdentity> {
  /** `framework` label value. */
  readonly framework: string;
  /**
   * The read steps of `queue`, built once per queue set (not per scrape): the
   * scrape clock reaches them as `nowMs` in `read` and as {@link ClockArg}s
   * in their commands.
   */
  steps(queue: Q): ReadStep[];
  /**
   * Reads of one deployment rather than one queue (Sidekiq's global
   * `schedule` / `retry` / `dead` and counters), by deployment key prefix.
   */
  deploymentSteps?(deployment: string): ReadStep[];
}

/**
 * Adds the samples every queue carries: `queue_info`, and the thresholds the
 * alert rules compare against where they differ from the sidecar's defaults
 * ({@link addDefaultThresholds}; one series per sidecar instead of two per queue).
 */
export function addQueueBase(sink: SampleSink, framework: string, q: QueueIdentity): void {
  baseStep(framework, q).read([], sink, 0);
}

/**
 * The sidecar-wide defaults the rules fall back to for queues without their
 * own threshold series: `queue_default_backlog_threshold` and
 * `queue_default_latency_threshold_seconds` (from the config schema's
 * defaults; present on every page, also when Redis is down).
 */
export function addDefaultThresholds(sink: Pick<SampleSink, 'add'>): void {
  sink.add('queue_default_backlog_threshold', {}, DEFAULT_BACKLOG_THRESHOLD);
  sink.add('queue_default_latency_threshold_seconds', {}, DEFAULT_LATENCY_THRESHOLD_MS / 1000);
}

/**
 * The step of {@link addQueueBase}, its series built once: no commands, so it
 * is on the page even when Redis is down.
 */
function baseStep(framework: string, q: QueueIdentity): ReadStep {
  const labels = { queue: q.name, framework };
  const info = series('queue_info', { queue: q.name, framework, key: q.key });
  const backlog = q.backlogThreshold !== DEFAULT_BACKLOG_THRESHOLD ? series('queue_backlog_threshold', labels) : undefined;
  const latency = q.latencyThreshold !== DEFAULT_LATENCY_THRESHOLD_MS ? series('queue_latency_threshold_seconds', labels) : undefined;
  return new BaseStep(info, backlog, latency, q);
}

/** A step without commands (see {@link ReadStep}). */
const NO_COMMANDS: readonly PlannedCommand[] = [];

/**
 * {@link baseStep} as an object of a class rather than a closure: every
 * queue has one, and a closure with its context is about twice the memory
 * of these fields (issue 14: ~10,000 of them in a 10,000-queue plan).
 */
class BaseStep implements ReadStep {
  readonly commands = NO_COMMANDS;

  constructor(
    private readonly info: Series,
    private readonly backlog: Series | undefined,
    private readonly latency: Series | undefined,
    private readonly q: QueueIdentity,
  ) {}

  read(_replies: readonly Reply[], sink: SampleSink): undefined {
    put(sink, this.info, 1);
    if (this.backlog) put(sink, this.backlog, this.q.backlogThreshold);
    if (this.latency) put(sink, this.latency, this.q.latencyThreshold / 1000);
    return undefined;
  }
}

/**
 * A collector over all queues of one layout. The queue list is asked for on
 * every scrape (discovery swaps it between scrapes) and the steps are rebuilt
 * only when it is a different list. The base samples come from the config, so
 * they are present even when Redis is down.
 */
export class LayoutCollector<Q extends QueueIdentity> {
  readonly name: string;
  private planned: { queues: readonly Q[]; deployments: readonly string[]; steps: ReadStep[] } | undefined;

  /**
   * @param queues the queues of this scrape (same array = same steps)
   * @param name `collector` label; default the layout's framework
   * @param deployments deployment key prefixes whose {@link QueueLayout.deploymentSteps} run after the queues'
   */
  constructor(
    private readonly layout: QueueLayout<Q>,
    private readonly queues: () => readonly Q[],
    name?: string,
    private readonly deployments: () => readonly string[] = () => NO_DEPLOYMENTS,
  ) {
    this.name = name ?? layout.framework;
  }

  steps(): readonly ReadStep[] {
    const queues = this.queues();
    const deployments = this.deployments();
    if (this.planned && this.planned.queues === queues && this.planned.deployments === deployments) return this.planned.steps;
    const steps: ReadStep[] = [];
    // A queue name or key planned twice would write the same series twice: the first one wins.
    const names = new Set<string>();
    const keys = new Set<string>();
    for (const q of queues) {
      if (names.has(q.name) || keys.has(q.key)) continue;
      names.add(q.name);
      keys.add(q.key);
      steps.push(baseStep(this.layout.framework, q));
      for (const s of this.layout.steps(q)) steps.push(s);
    }
    for (const d of deployments) for (const s of this.layout.deploymentSteps?.(d) ?? []) steps.push(s);
    this.planned = { queues, deployments, steps };
    return steps;
  }
}

const NO_DEPLOYMENTS: readonly string[] = [];

/** Age in seconds of an event at `tsMs` seen at `nowMs`, never negative (clock skew). */
export function ageSeconds(nowMs: number, tsMs: number): number {
  return Math.max(0, (nowMs - tsMs) / 1000);
}

/**
 * Adds `queue_tasks{state}` for integer replies (LLEN, ZCARD) `replies[from + i]`
 * of `states[i]`; an unreadable reply is reported and its sample left out.
 * @param what per state, the command text failures name
 */
export function addTaskCounts(sink: SampleSink, labels: Labels, replies: readonly Reply[], from: number, states: readonly QueueState[], what: readonly string[]): void {
  states.forEach((state, i) => {
    const n = attempt(sink, int, replies[from + i], what[i] ?? '');
    if (n !== undefined) sink.add('queue_tasks', { ...labels, state }, n);
  });
}

/**
 * Adds `queue_processed_total` and `queue_failed_total` from two GET replies
 * of all-time counters (a missing key reads 0; processed counts failures too).
 */
export function addCounters(sink: SampleSink, labels: Labels, processed: Reply | undefined, processedWhat: string, failed: Reply | undefined, failedWhat: string): void {
  const p = attempt(sink, counterValue, processed, processedWhat);
  if (p !== undefined) sink.add('queue_processed_total', labels, p);
  const f = attempt(sink, counterValue, failed, failedWhat);
  if (f !== undefined) sink.add('queue_failed_total', labels, f);
}

/**
 * The follow-up that reads the oldest task's enqueue time from its hash:
 * HGET `keyOf(id)` `field`, parsed by `toMs` into unix ms, into
 * `queue_oldest_task_age_seconds`. A missing field (the task was taken
 * between the batches) leaves the age unknown this scrape, without a failure.
 * @param toMs parses the field; throws ReplyError when it is not a timestamp
 */
export function oldestTaskAge(labels: Labels, keyOf: (id: string) => string, field: string, toMs: (text: string, what: string) => number): FollowUp<string> {
  return {
    commands: (id) => [['HGET', keyOf(id), field]],
    read(replies, id, sink, nowMs) {
      const what = `HGET ${keyOf(id)} ${field}`;
      const text = stringOrNull(replies[0], what);
      if (text === null) return;
      sink.add('queue_oldest_task_age_seconds', labels, ageSeconds(nowMs, toMs(text, what)));
    },
  };
}
