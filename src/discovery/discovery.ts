/**
 * Discovery of framework queues (asynq, BullMQ, Sidekiq, Celery, RQ, streams
 * and lists by pattern) on its own interval (`scrape.discoveryInterval`),
 * never per scrape. Each pass replaces the cached result that every scrape
 * plans from, so queues that disappear drop out at the next pass. A pass that
 * cannot reach Redis keeps the last result, logs once, and the next interval
 * tries again; nothing here throws into a scrape.
 *
 * How queues are found: {@link discoverQueues} in `find.ts`.
 */
import type { Logger } from 'pino';
import type { CollectionBuilder } from '../collect/collection.js';
import { LayoutCollector, type QueueIdentity } from '../collect/queues/layout.js';
import { DISCOVERABLE, type DiscoverConfig, type DiscoveredFramework } from '../collect/queues/registry.js';
import type { RedisCollector } from '../collect/types.js';
import { DEFAULT_DISCOVERY, type Config } from '../config/schema.js';
import { Outage, SeenOnce } from '../log-once.js';
import type { BatchExecutor } from '../redis/batch.js';
import { countQueues, discoverQueues, type DiscoveredQueues } from './find.js';

/** What `src/runtime.ts` hands discovery. */
export interface DiscoveryOptions {
  /** `discover:` entries; undefined = the built-in default ({@link DEFAULT_DISCOVERY}); `[]` = none. */
  readonly discover: readonly DiscoverConfig[] | undefined;
  /** Declared queues (they win over discovered ones with the same key). */
  readonly declared: readonly { name: string; key: string }[];
  /** `discoveryInterval`, `scanCount`, `maxQueues` (ms, count, count); `timeout` bounds each registry batch. */
  readonly scrape: Config['scrape'];
  readonly executor: BatchExecutor;
  readonly log: Logger;
  /** Clock, unix ms (tests). */
  readonly now?: () => number;
}


/**
 * Finds queues on an interval and hands the scrape engine collectors over the
 * last result (see the module comment). Never throws into a scrape.
 */
export class Discovery {
  private readonly entries: readonly DiscoverConfig[];
  private queuesFound: DiscoveredQueues = new Map();
  private cachedCollectors: RedisCollector[] = [];
  private firstPass: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private passes = 0;
  private lastDurationSeconds = 0;
  private truncated = false;
  private readonly outage = new Outage();
  private readonly loggedProblems = new SeenOnce();
  private readonly now: () => number;

  constructor(private readonly opts: DiscoveryOptions) {
    this.entries = opts.discover ?? DEFAULT_DISCOVERY;
    this.now = opts.now ?? Date.now;
  }

  /** Starts the first pass and the interval. Idempotent; nothing happens without `discover:` entries. */
  start(): void {
    if (this.started || this.closed || this.entries.length === 0) return;
    this.started = true;
    this.firstPass = this.refresh();
  }

  /**
   * Resolves when the first pass has finished, or when half the time left
   * until `deadlineMs` (absolute unix ms) has passed, whichever is first, so
   * a slow first discovery never costs the first scrape its deadline: that
   * scrape then carries declared queues only and the next includes the
   * discovered ones. Never rejects; resolves at once when not started.
   */
  async ready(deadlineMs: number): Promise<void> {
    const first = this.firstPass;
    if (!first) return;
    const waitMs = Math.max(0, (deadlineMs - this.now()) / 2);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /**
   * Runs a pass now (or joins the one running) and resolves when it is done.
   * Never rejects: a failed pass keeps the last result. Once started, the
   * next pass is scheduled `discoveryInterval` after this one started.
   */
  refresh(): Promise<void> {
    if (this.running) return this.running;
    if (this.closed) return Promise.resolve();
    const run = this.pass().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Queues found by the last successful pass. */
  get queues(): DiscoveredQueues {
    return this.queuesFound;
  }

  /** Collectors over the queues found by the last pass; layouts with no queue are left out. */
  collectors(): RedisCollector[] {
    return this.cachedCollectors;
  }

  /**
   * Adds discovery's own gauges once a pass has run: `queuescope_discovered_queues{framework}`
   * for every configured layout, `queuescope_discovery_duration_seconds` (last pass) and
   * `queuescope_discovery_truncated`.
   */
  addSamples(builder: CollectionBuilder): void {
    if (this.passes === 0) return;
    const counts = countQueues(this.queuesFound);
    const frameworks = new Set<DiscoveredFramework>(this.entries.map((e) => e.framework));
    for (const f of frameworks) builder.add('queuescope_discovered_queues', { framework: f }, counts[f] ?? 0);
    builder.add('queuescope_discovery_duration_seconds', {}, this.lastDurationSeconds);
    builder.add('queuescope_discovery_truncated', {}, this.truncated ? 1 : 0);
  }

  /** Stops the interval and waits for a running pass (which stops at its next SCAN page). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(): Promise<void> {
    const started = this.now();
    const t0 = performance.now();
    const { scrape, log } = this.opts;
    try {
      const result = await discoverQueues(this.entries, this.opts.executor, {
        scanCount: scrape.scanCount,
        maxQueues: scrape.maxQueues,
        batchDeadlineMs: () => this.now() + scrape.timeout,
        declared: this.opts.declared,
        stopped: () => this.closed,
      });
      if (this.closed) return;
      this.queuesFound = result.queues;
      this.cachedCollectors = buildCollectors(result.queues);
      for (const p of result.problems) this.logProblem(p);
      if (result.truncated && !this.truncated) {
        log.warn({ maxQueues: scrape.maxQueues }, 'discovery stopped at scrape.maxQueues; raise it or narrow the discover: patterns');
      } else if (!result.truncated && this.truncated) {
        log.info({ maxQueues: scrape.maxQueues }, 'discovery no longer reaches scrape.maxQueues');
      }
      this.truncated = result.truncated;
      if (this.outage.recover()) log.info('discovery pass succeeded again');
      log.debug({ queues: countQueues(result.queues), seconds: (performance.now() - t0) / 1000 }, 'discovery pass done');
    } catch (err) {
      // Redis unreachable (or a bug): keep the last result, say so once, retry next interval.
      // Said once per outage, not once per changed reason: the pass is retried every interval.
      if (!this.outage.failing) log.warn({ err: (err as Error).message }, 'discovery pass failed; keeping the last result until the next pass');
      this.outage.fail((err as Error).message);
    } finally {
      this.passes++;
      this.lastDurationSeconds = (performance.now() - t0) / 1000;
      this.schedule(started);
    }
  }

  private schedule(startedMs: number): void {
    if (this.closed || !this.started) return;
    clearTimeout(this.timer);
    const delay = Math.max(0, startedMs + this.opts.scrape.discoveryInterval - this.now());
    this.timer = setTimeout(() => void this.refresh(), delay);
    this.timer.unref();
  }

  private logProblem(problem: string): void {
    if (!this.loggedProblems.first(problem)) return;
    this.opts.log.warn({ problem }, 'discovery skipped something it could not read');
  }
}

/**
 * One collector per framework that found queues (or deployments), in registry
 * order, named by its `discover.collector` (default: the framework name).
 */
export function buildCollectors(q: DiscoveredQueues): RedisCollector[] {
  const out: RedisCollector[] = [];
  for (const f of DISCOVERABLE) {
    const found = q.get(f.name);
    if (!found || (found.queues.length === 0 && found.deployments.length === 0)) continue;
    const { queues, deployments } = found;
    out.push(new LayoutCollector<QueueIdentity>(f.layout, () => queues, f.discover?.collector, () => deployments));
  }
  return out;
}
