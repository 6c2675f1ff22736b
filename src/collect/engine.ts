/**
 * The scrape engine: plans every collector's read steps, sends them as one
 * pipelined batch per Redis node (plus at most one dependent batch), turns
 * replies into samples, and runs the MySQL collector alongside. Concurrent
 * scrapes share the in-flight collection; `scrape.cacheFor` reuses a finished
 * one for a while. A failing source never fails the collection.
 */
import type { Logger } from 'pino';
import { keyOf, type BatchExecutor, type RoutedCommand } from '../redis/batch.js';
import { Collection, CollectionBuilder } from './collection.js';
import { ReplyError, type ReadStep, type RedisCollector, type SampleSink } from './types.js';

/** A non-Redis source collected beside the Redis batches (MySQL). */
export interface SideCollector {
  readonly name: string;
  /** Adds samples; must resolve by `deadlineMs` (absolute unix ms) and never reject. */
  collect(sink: SampleSink, deadlineMs: number): Promise<void>;
}

/** Static samples added to every collection (discovery state, thresholds…). */
export type StaticSamples = (builder: CollectionBuilder) => void;

export interface EngineOptions {
  readonly executor: BatchExecutor;
  /** Returns the Redis collectors of this scrape (discovery may change them between scrapes). */
  readonly collectors: () => readonly RedisCollector[];
  readonly side?: readonly SideCollector[];
  readonly extra?: StaticSamples;
  /**
   * Awaited before planning, bounded by the scrape deadline (discovery's first
   * pass: the first scrape includes discovered queues when discovery is quick,
   * and never waits past the deadline when it is slow).
   */
  readonly prepare?: (deadlineMs: number) => Promise<void>;
  /** Reuse a finished collection this long, ms (0 = only share in-flight ones). */
  readonly cacheForMs: number;
  readonly log: Logger;
  /** Clock, unix ms (tests pin it). */
  readonly now?: () => number;
}

interface Planned {
  readonly collector: string;
  readonly step: ReadStep;
}

/** Upper bound on distinct failure reasons logged per collector before going quiet. */
const MAX_LOGGED_REASONS = 1000;

export class ScrapeEngine {
  private inFlight: Promise<Collection> | undefined;
  private last: Collection | undefined;
  private lastFinishedAt = 0;
  private readonly loggedReasons = new Set<string>();
  private readonly now: () => number;
  /** Number of collections actually run (tests and the load benchmark read it). */
  collections = 0;

  constructor(private readonly opts: EngineOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The last finished collection, if any (the monitor API reads it). */
  get latest(): Collection | undefined {
    return this.last;
  }

  /**
   * A collection no older than `cacheFor`: shares one in flight, else starts one.
   * @param deadlineMs absolute unix ms by which the collection resolves; sources
   *   still busy then are reported down, not waited for.
   */
  collect(deadlineMs: number): Promise<Collection> {
    if (this.inFlight) return this.inFlight;
    if (this.last && this.opts.cacheForMs > 0 && this.now() - this.lastFinishedAt < this.opts.cacheForMs) {
      return Promise.resolve(this.last);
    }
    const run = this.run(deadlineMs).then(
      (c) => {
        this.last = c;
        this.lastFinishedAt = this.now();
        return c;
      },
    );
    this.inFlight = run;
    const clear = () => {
      if (this.inFlight === run) this.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  private async run(deadlineMs: number): Promise<Collection> {
    this.collections++;
    const started = this.now();
    if (this.opts.prepare) {
      try {
        await this.opts.prepare(deadlineMs);
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'preparing the collection failed');
      }
    }
    const builder = new CollectionBuilder(started);
    const sideDone = Promise.all(
      (this.opts.side ?? []).map(async (side) => {
        const t0 = performance.now();
        const sink = builder.sink(side.name);
        try {
          await side.collect(sink, deadlineMs);
        } catch (err) {
          sink.fail(`${side.name}: ${(err as Error).message}`);
        }
        builder.collector(side.name).durationSeconds = (performance.now() - t0) / 1000;
      }),
    );
    await this.collectRedis(builder, started, deadlineMs);
    await sideDone;
    try {
      this.opts.extra?.(builder);
    } catch (err) {
      this.opts.log.error({ err }, 'static samples failed');
    }
    const collection = builder.finish();
    this.logFailures(collection);
    return collection;
  }

  private async collectRedis(builder: CollectionBuilder, nowMs: number, deadlineMs: number): Promise<void> {
    const t0 = performance.now();
    let planned: Planned[] = [];
    for (const collector of this.opts.collectors()) {
      const state = builder.collector(collector.name);
      try {
        for (const step of collector.plan(nowMs)) planned.push({ collector: collector.name, step });
      } catch (err) {
        state.success = false;
        state.failures.push(`planning failed: ${(err as Error).message}`);
      }
    }
    // Steps without commands need no Redis (config-derived samples such as thresholds): read
    // them first, so they are on the page even when Redis is down.
    planned = planned.filter((p) => {
      if (p.step.commands.length > 0) return true;
      const sink = builder.sink(p.collector);
      try {
        p.step.read([], sink);
      } catch (err) {
        sink.fail((err as Error).message);
      }
      return false;
    });
    let commands = 0;
    let roundtrips = 0;
    let up = true;
    // Two batches at most: the first, and one of steps that depend on its replies.
    for (let batch = 0; batch < 2 && planned.length > 0; batch++) {
      const routed: RoutedCommand[] = [];
      for (const p of planned) {
        for (const command of p.step.commands) routed.push({ command, routingKey: p.step.routingKey ?? keyOf(command) });
      }
      const result = await this.opts.executor.exec(routed, deadlineMs);
      commands += routed.length;
      roundtrips += result.roundtrips;
      if (!result.ok) {
        up = false;
        for (const p of planned) {
          const state = builder.collector(p.collector);
          state.success = false;
          if (state.failures.length === 0) state.failures.push(`redis batch failed: ${result.error ?? 'unknown error'}`);
        }
        break;
      }
      const next: Planned[] = [];
      let offset = 0;
      for (const p of planned) {
        const replies = result.replies.slice(offset, offset + p.step.commands.length);
        offset += p.step.commands.length;
        const sink = builder.sink(p.collector);
        let follow: ReadStep | ReadStep[] | void;
        try {
          follow = p.step.read(replies, sink);
        } catch (err) {
          if (!(err instanceof ReplyError)) this.opts.log.error({ err, collector: p.collector }, 'collector bug while reading replies');
          sink.fail((err as Error).message);
          continue;
        }
        if (!follow) continue;
        const steps = Array.isArray(follow) ? follow : [follow];
        if (batch === 1 && steps.length > 0) {
          sink.fail('a third dependent batch was refused (two round trips per scrape at most)');
          continue;
        }
        for (const step of steps) next.push({ collector: p.collector, step });
      }
      planned = next;
      const elapsed = (performance.now() - t0) / 1000;
      for (const p of planned) builder.collector(p.collector).durationSeconds = elapsed;
    }
    const elapsed = (performance.now() - t0) / 1000;
    for (const collector of this.opts.collectors()) {
      const state = builder.collector(collector.name);
      if (state.durationSeconds === 0) state.durationSeconds = elapsed;
    }
    builder.add('redis_up', {}, up ? 1 : 0);
    builder.add('queuescope_scrape_redis_commands', {}, commands);
    builder.add('queuescope_scrape_redis_roundtrips', {}, roundtrips);
  }

  /** Logs each distinct failure reason once (a broken key would otherwise log on every scrape). */
  private logFailures(collection: Collection): void {
    for (const [collector, state] of collection.collectors) {
      for (const reason of state.failures) {
        const key = `${collector}\u0000${reason}`;
        if (this.loggedReasons.has(key)) continue;
        if (this.loggedReasons.size >= MAX_LOGGED_REASONS) this.loggedReasons.clear();
        this.loggedReasons.add(key);
        this.opts.log.warn({ collector, reason }, 'skipped a value during collection');
      }
    }
  }
}

