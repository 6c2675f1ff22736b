/**
 * The scrape engine: plans every collector's read steps, sends them as one
 * pipelined batch per Redis node (plus one dependent wave of follow-ups,
 * pipelined behind it while its replies arrive: follow-ups.ts), turns
 * replies into samples, and runs the MySQL collector alongside. Concurrent
 * scrapes share the in-flight collection; `scrape.cacheFor` reuses a finished
 * one for a while. A failing source never fails the collection.
 */
import type { Logger } from 'pino';
import { failAll, keyOf, type BatchExecutor, type BatchResult, type RoutedCommand } from '../redis/batch.js';
import { Outage, SeenOnce } from '../log-once.js';
import type { Command, Reply } from '../redis/command.js';
import { Collection, CollectionBuilder, type RecycledBuffers } from './collection.js';
import type { CollectorRun } from './execute.js';
import { FollowUpWave, type WaveBatch } from './follow-ups.js';
import { ReplyError, resolveCommand, resolveCommandInto, type PlannedCommand, type ReadStep, type RedisCollector, type SampleSink } from './types.js';

/** A non-Redis source collected beside the Redis batches (MySQL). */
export interface SideCollector {
  readonly name: string;
  /**
   * Adds samples; must resolve by `deadlineMs` (absolute unix ms) and never reject.
   * @param sink this collector's run
   * @param scraper a run of its own (success, duration) for a part of the source, by `collector` name
   */
  collect(sink: SampleSink, deadlineMs: number, scraper: (name: string) => CollectorRun): Promise<void>;
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

/** A follow-up of this scrape: the collector and step whose `then` it is, what its first read carried, its commands. */
interface Pending {
  readonly collector: number;
  readonly step: ReadStep;
  readonly carry: unknown;
  readonly commands: readonly Command[];
}

/** A routed command of the first batch that carries the scrape clock: resolved again, in place, by every scrape. */
interface TimedCommand {
  /** Resolved by the plan, then rewritten in place (its clock arguments) by every scrape. */
  readonly command: (string | number)[] & Command;
  readonly routingKey: string | undefined;
  readonly varies: true;
}

/**
 * See {@link ScrapeEngine.plan}. The steps of the first batch are held as
 * parallel arrays (step, collector index) rather than an object per step: a
 * 10,000-queue plan has ~24,000 steps, and a scrape allocates nothing per
 * step that would live through the whole scrape (issue 14: such objects
 * survive the young-generation GCs of a long scrape and make each one slower).
 */
interface FirstBatch {
  readonly collectors: readonly RedisCollector[];
  readonly arrays: readonly (readonly ReadStep[] | undefined)[];
  /** Steps without commands (read before anything is sent), and their collectors' indexes. */
  readonly local: readonly ReadStep[];
  readonly localOwners: Uint32Array;
  /** Steps whose commands make up the first batch, in order, and their collectors' indexes. */
  readonly sent: readonly ReadStep[];
  readonly sentOwners: Uint32Array;
  /**
   * How many commands each sent step has: the batch reads it for every step,
   * and a step's commands array is otherwise never touched by a scrape (its
   * bytes are encoded once). Looking it up there was a cache miss per step
   * (~0.5 ms of a reference scrape).
   */
  readonly sentCounts: Uint32Array;
  /**
   * The PING, then their commands, routed: the same array every scrape of
   * the plan (a `planned` batch for the executor), with the {@link timed}
   * entries re-resolved in place against each scrape's clock.
   */
  readonly routed: readonly RoutedCommand[];
  readonly timed: readonly { entry: TimedCommand; planned: PlannedCommand }[];
}

/** The follow-up commands of `pending`, routed, in order. */
function pendingRouted(pending: readonly Pending[]): RoutedCommand[] {
  let n = 0;
  for (const p of pending) n += p.commands.length;
  // sized once: a sub-batch is tens to hundreds of commands, and push would grow (and copy) its store
  const out = new Array<RoutedCommand>(n);
  let i = 0;
  for (const p of pending) for (const command of p.commands) out[i++] = { command, routingKey: keyOf(command) };
  return out;
}

/** A reply slot a streamed batch reuses from step to step. */
type ReplySlot = [Error | null, unknown];

/** The `n` reply slots for a step of `n` commands, made once per length and reused. */
function replySlots(byLength: ReplySlot[][], n: number): ReplySlot[] {
  let slots = byLength[n];
  if (!slots) {
    slots = Array.from({ length: n }, (): ReplySlot => [null, null]);
    byLength[n] = slots;
  }
  return slots;
}

/** Charges a failed batch to every collector that had a step in it (its first reason only). */
function batchFailed(runs: readonly CollectorRun[], count: number, collectorOf: (i: number) => number, error: string | undefined): void {
  for (let i = 0; i < count; i++) {
    const run = runs[collectorOf(i)]!;
    if (run.success) run.sink.fail(`redis batch failed: ${error ?? 'unknown error'}`);
  }
}

/** The replies of a step without commands. */
const NO_REPLIES: readonly Reply[] = [];

/** The liveness probe that heads every first batch. */
const PING: Command = ['PING'];

/**
 * Error replies that mean the server is not serving data at all, whatever
 * was asked (Redis' own texts: `LOADING Redis is loading the dataset in
 * memory`, `BUSY Redis is busy running a script`, `MASTERDOWN Link with
 * MASTER is down and replica-serve-stale-data is set to 'no'`, `NOAUTH
 * Authentication required`, `ERR max number of clients reached`).
 */
const NOT_SERVING = /^(LOADING|BUSY|MASTERDOWN|NOAUTH|WRONGPASS|NOPERM|CLUSTERDOWN|TRYAGAIN)\b|max number of clients/;

/**
 * Why the PING reply says Redis is not serving (for `redis_up 0`), or
 * undefined when it answered. Any error reply to PING counts: PING needs
 * no key and no permission beyond connecting.
 */
export function notServing(reply: Reply | undefined): string | undefined {
  if (!reply) return 'redis sent no reply to PING';
  const [err, value] = reply;
  if (err) return NOT_SERVING.test(err.message) ? `redis is not serving: ${err.message}` : `redis answered PING with an error: ${err.message}`;
  if (value !== 'PONG') return 'redis answered PING with something other than PONG';
  return undefined;
}

export class ScrapeEngine {
  private inFlight: Promise<Collection> | undefined;
  private last: Collection | undefined;
  /** The collection before {@link last}; the one before it is released (see `Collection.release`). */
  private previous: Collection | undefined;
  /** Line buffers of the last released collection, for the next builder. */
  private recycled: RecycledBuffers | undefined;
  private lastFinishedAt = 0;
  private readonly loggedReasons = new SeenOnce();
  /** Why Redis is reported down (logged when it starts or changes, and on recovery). */
  private readonly redisDown = new Outage();
  private firstBatch: FirstBatch | undefined;
  /** Bytes per family in the last collection (see CollectionBuilder). */
  private readonly sizeHints = new Map<string, number>();
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
        this.retire();
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

  /**
   * Shifts the generations before a new collection becomes {@link last}:
   * the last becomes the previous one, and the previous one is released, its
   * line buffers kept for the next builder. Two finished collections stay
   * readable, so a reader that got one from {@link collect} (and renders it
   * at once, as every route does) never sees its bytes reused.
   */
  private retire(): void {
    const retired = this.previous;
    this.previous = this.last;
    this.recycled = retired?.release() ?? this.recycled;
  }

  /**
   * Resolves when no collection is in flight (never rejects): the runtime
   * waits for it before closing connections a scrape still uses.
   */
  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight.then(
      () => undefined,
      () => undefined,
    );
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
    const builder = new CollectionBuilder(started, this.sizeHints, this.recycled);
    this.recycled = undefined;
    const sideDone = Promise.all(
      (this.opts.side ?? []).map(async (side) => {
        const run = builder.run(side.name);
        try {
          await side.collect(run.sink, deadlineMs, (name) => builder.run(name));
        } catch (err) {
          run.sink.fail(`${side.name}: ${(err as Error).message}`);
        }
        run.end();
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

  /**
   * The first batch derived from the collectors' steps: which steps send
   * commands, and those commands routed. Built when a collector hands out a
   * different steps array (a config or discovery change) and reused
   * otherwise, so a scrape only resolves the commands that carry the clock.
   */
  private plan(collectors: readonly RedisCollector[], failures: (string | undefined)[]): FirstBatch {
    const arrays: (readonly ReadStep[] | undefined)[] = [];
    collectors.forEach((c, i) => {
      try {
        arrays.push(c.steps());
      } catch (err) {
        arrays.push(undefined);
        failures[i] = `planning failed: ${(err as Error).message}`;
      }
    });
    const cached = this.firstBatch;
    if (cached && cached.collectors.length === collectors.length && cached.arrays.every((a, i) => a === arrays[i] && cached.collectors[i] === collectors[i])) {
      return cached;
    }
    const local: ReadStep[] = [];
    const localOwners: number[] = [];
    const sent: ReadStep[] = [];
    const sentOwners: number[] = [];
    const sentCounts: number[] = [];
    // The first batch always starts with a PING, so every scrape proves Redis answers (a scrape
    // with nothing to read yet must not say redis_up 1 while Redis is down), at no extra round trip.
    const routed: RoutedCommand[] = [{ command: PING, routingKey: undefined }];
    const timed: { entry: TimedCommand; planned: PlannedCommand }[] = [];
    // Steps with a follow-up go first: their follow-ups then reach Redis while it still works
    // through the rest of the first batch, and queue behind it with no idle gap. Sent in plan
    // order, the last stream's follow-ups (its PEL, first undelivered entry, consumers: the
    // dearest commands of a scrape) left only after the last first-batch reply, and Redis
    // waited a round trip for them.
    const order: [ReadStep, number][] = [];
    const rest: [ReadStep, number][] = [];
    arrays.forEach((steps, c) => {
      for (const step of steps ?? []) {
        if (step.commands.length === 0) {
          local.push(step);
          localOwners.push(c);
        } else (step.then ? order : rest).push([step, c]);
      }
    });
    for (const entry of rest) order.push(entry);
    for (const [step, c] of order) {
      sent.push(step);
      sentOwners.push(c);
      sentCounts.push(step.commands.length);
      for (const planned of step.commands) {
        const command = resolveCommand(planned, 0);
        if (command === planned) {
          // sent as it is by every scrape until the next plan (the executor may encode it once)
          routed.push({ command, routingKey: keyOf(command) });
          continue;
        }
        // a new array (resolveCommand copies a timed command): rewritten in place by every scrape
        const entry: TimedCommand = { command: command as (string | number)[] & Command, routingKey: keyOf(command), varies: true };
        timed.push({ entry, planned });
        routed.push(entry);
      }
    }
    this.firstBatch = {
      collectors, arrays, local, localOwners: Uint32Array.from(localOwners), sent, sentOwners: Uint32Array.from(sentOwners),
      sentCounts: Uint32Array.from(sentCounts), routed, timed,
    };
    return this.firstBatch;
  }

  private async collectRedis(builder: CollectionBuilder, nowMs: number, deadlineMs: number): Promise<void> {
    // The collector list is captured once per scrape: every collector planned is the one reported.
    const collectors = this.opts.collectors();
    const runs = collectors.map((collector) => builder.run(collector.name));
    const failures: (string | undefined)[] = [];
    const plan = this.plan(collectors, failures);
    failures.forEach((f, i) => f !== undefined && runs[i]!.sink.fail(f));
    const tally = { commands: 0 };
    // Two waves at most: the first batch, and the follow-ups its replies ask for, sent while
    // the rest of the first batch is still arriving (see FollowUpWave).
    const wave = new FollowUpWave<Pending>((items) =>
      this.batch(
        runs, items.length, (i) => items[i]!.commands.length, (i) => items[i]!.collector, deadlineMs, tally,
        (i, replies) => this.readFollowUp(runs, items[i]!, replies, nowMs), pendingRouted(items),
      ));
    const { local, localOwners, sent, sentOwners, sentCounts } = plan;
    // The keys of a timed command are not clocked: only its clock arguments change (same routing).
    for (const t of plan.timed) resolveCommandInto(t.planned, nowMs, t.entry.command);
    // Written to the socket before this call returns (the executors write synchronously)…
    const firstBatch = this.batch(
      runs, sent.length, (i) => sentCounts[i]!, (i) => sentOwners[i]!, deadlineMs, tally,
      (i, replies) => this.readFirst(runs, sentOwners[i]!, sent[i]!, replies, nowMs, wave), plan.routed, true,
    );
    // …so the steps without commands (config-derived samples: queue_info, thresholds), which
    // need no Redis and are on the page even when it is down, are read while the batch travels
    // (~1 ms at 1,300 queues, no longer before the send). No reply is read before them: replies
    // are read in later event-loop turns.
    for (let i = 0; i < local.length; i++) this.readFirst(runs, localOwners[i]!, local[i]!, NO_REPLIES, nowMs, wave);
    const first = await firstBatch;
    if (!first.up) wave.abandon();
    const second = await wave.settle();
    const up = first.up && second.up;
    // The Redis collectors share the batches: each one's time is the whole Redis part's.
    for (const run of runs) run.end();
    builder.add('redis_up', {}, up ? 1 : 0);
    builder.add('queuescope_scrape_redis_commands', {}, tally.commands);
    builder.add('queuescope_scrape_redis_roundtrips', {}, first.roundtrips + second.roundtrips);
  }

  /**
   * Sends `routed` (the commands of items `0 … count-1`, in order, `countOf(i)` each)
   * as one batch and hands each item its replies; a batch that fails as a
   * whole is charged to every item's collector. Adds its commands to `tally`.
   * @returns `up: false` when the batch failed (Redis is down for this scrape), and the pipelines it took
   */
  private async batch(
    runs: readonly CollectorRun[],
    count: number,
    countOf: (i: number) => number,
    collectorOf: (i: number) => number,
    deadlineMs: number,
    tally: { commands: number },
    read: (i: number, replies: readonly Reply[]) => void,
    routed: readonly RoutedCommand[],
    /**
     * `routed` is the plan's first batch (the same array every scrape, see
     * `BatchExecutor.exec`'s `planned`), and `routed[0]` is the scrape's
     * PING: its answer decides redis_up, and no item reads it.
     */
    first = false,
  ): Promise<WaveBatch> {
    if (count === 0 && !first) return { up: true, roundtrips: 0 };
    const skip = first ? 1 : 0;
    let pingReply: Reply | undefined;
    let refused = false;
    // Streamed: each item is read as soon as its last reply is parsed (while later replies
    // are still arriving), and no batch-sized reply array is kept alive. The replies of a
    // step go into slots reused from step to step (one set per step length): reads take
    // values out of their replies and never keep a reply or the array (issue 14: no
    // per-reply tuple or per-step array on the scrape path).
    let next = 0;
    let current: ReplySlot[] = [];
    let want = 0;
    // Per batch, so batches that overlap (another engine's, a probe's) never share slots.
    const slots: ReplySlot[][] = [];
    const advance = (): void => {
      // Items that sent no commands (an empty follow-up) are read at once.
      while (next < count && (want = countOf(next)) === 0) read(next++, NO_REPLIES);
      current = replySlots(slots, want);
    };
    advance();
    let filled = 0;
    const onReply = (index: number, err: Error | null, value: unknown): void => {
      if (index < skip) {
        pingReply = [err, value];
        // A Redis that is not serving (LOADING, BUSY, …) answers the rest with errors too: read none.
        refused = notServing(pingReply) !== undefined;
        return;
      }
      if (refused) return;
      const slot = current[filled++]!;
      slot[0] = err;
      slot[1] = value;
      if (filled < want) return;
      const item = next++;
      filled = 0;
      read(item, current);
      // Let the values go with the step: a slot must not keep a reply alive until its next use.
      for (const done of current) done[1] = null;
      advance();
    };
    let result: BatchResult;
    try {
      result = await this.opts.executor.exec(routed, deadlineMs, onReply, first);
    } catch (err) {
      // Executors never reject by contract; one that does still only fails this batch.
      result = failAll(routed.length, (err as Error).message);
    }
    tally.commands += routed.length;
    const { roundtrips } = result;
    const failure = !result.ok ? (result.error ?? 'unknown error') : first ? notServing(result.streamed ? pingReply : result.replies[0]) : undefined;
    if (failure !== undefined) {
      if (first && this.redisDown.fail(failure)) this.opts.log.warn({ reason: failure }, 'redis is unreachable: redis_up 0');
      batchFailed(runs, count, collectorOf, failure);
      return { up: false, roundtrips };
    }
    if (first && this.redisDown.recover()) this.opts.log.info('redis answers again: redis_up 1');
    if (result.streamed) return { up: true, roundtrips };
    let offset = skip;
    for (let i = next; i < count; i++) {
      const n = countOf(i);
      read(i, result.replies.slice(offset, offset + n));
      offset += n;
    }
    return { up: true, roundtrips };
  }

  /** Reads a first-batch step into its collector's run; a carry with a follow-up joins the `wave`. */
  private readFirst(runs: readonly CollectorRun[], collector: number, step: ReadStep, replies: readonly Reply[], nowMs: number, wave: FollowUpWave<Pending>): void {
    const run = runs[collector]!;
    try {
      const carry = step.read(replies, run.sink, nowMs);
      if (carry === undefined || !step.then) return;
      wave.add({ collector, step, carry, commands: step.then.commands(carry) });
    } catch (err) {
      this.readFailed(run, err);
    }
  }

  private readFollowUp(runs: readonly CollectorRun[], p: Pending, replies: readonly Reply[], nowMs: number): void {
    const run = runs[p.collector]!;
    try {
      p.step.then!.read(replies, p.carry, run.sink, nowMs);
    } catch (err) {
      this.readFailed(run, err);
    }
  }

  private readFailed(run: CollectorRun, err: unknown): void {
    if (!(err instanceof ReplyError)) this.opts.log.error({ err, collector: run.name }, 'collector bug while reading replies');
    run.sink.fail((err as Error).message);
  }

  /** Logs each distinct failure reason once (a broken key would otherwise log on every scrape). */
  private logFailures(collection: Collection): void {
    for (const [collector, state] of collection.collectors) {
      for (const reason of state.failures) {
        if (!this.loggedReasons.first(`${collector}\u0000${reason}`)) continue;
        this.opts.log.warn({ collector, reason }, 'skipped a value during collection');
      }
    }
  }
}

