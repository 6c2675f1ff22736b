/**
 * The scrape engine's contract with the things it reads.
 *
 * A *read step* is data: the read-only Redis commands it needs (built once per
 * queue set, with the scrape clock left as a {@link ClockArg} the engine fills
 * in when it sends the batch) and a pure interpretation of their replies into
 * a {@link SampleSink}. A step that needs a second round trip (the oldest
 * job's hash once LINDEX has named it, XRANGE once XINFO GROUPS has given the
 * last-delivered id) declares it as a {@link FollowUp}: its first `read`
 * returns a *carry* (the values the follow-up needs), `then.commands(carry)`
 * are the follow-up commands and `then.read` interprets their replies. The
 * engine puts every step's commands of a scrape into one pipeline per Redis
 * node, and all follow-ups into a second one; there is no third level.
 */
import type { Command, Reply } from '../redis/command.js';

/** Label set of one sample; values are strings as Prometheus wants them. */
export type Labels = Readonly<Record<string, string>>;

/** Prometheus metric types queuescope exposes. */
export type MetricType = 'gauge' | 'counter' | 'histogram' | 'info';

/**
 * A series fixed when a plan is built (once per queue set, not per scrape):
 * its family and the exposition text of its labels, already rendered, so a
 * scrape only writes the value. Made by `series()` in `series.ts`
 * (`seriesLabels()` reads the labels back).
 */
export interface Series {
  readonly family: string;
  /**
   * `slab[start, end)` holds `family{k="v",…} ` (labels escaped): the sample
   * line up to its value, as UTF-8 bytes copied into the exposition as they
   * are. Many series share one slab (no Buffer object per series): a
   * 10,000-queue plan holds ~48,000 of them.
   */
  readonly slab: Buffer;
  /** `slab` as a DataView (one per slab, shared like it): the prefix is copied four bytes at a time. */
  readonly view: DataView;
  readonly start: number;
  readonly end: number;
  /**
   * The collection that last wrote this series (a collection builder's id):
   * a second write in the same collection is a duplicate and is dropped,
   * without a per-scrape set of every series. Series are unique per plan
   * (`LayoutCollector` plans a queue name or key once), so this is the whole
   * duplicate check for them.
   */
  writtenIn?: number;
}

/**
 * Where collected values go. Families are declared once in `families.ts`
 * (name, type, help); collectors add samples by family name. The engine's
 * collection builder implements it; an exposition writer can implement it
 * directly (no sample objects needed).
 */
export interface SampleSink {
  /**
   * Declares a family not in the static table (MySQL's `mysql_global_status_*`
   * are only known at scrape time). Re-declaring the same name is a no-op.
   */
  declare(family: string, type: MetricType, help: string): void;
  /** Adds one sample. Unknown (undeclared) families are a programming error and throw. `value` must be finite; NaN is dropped (and reported) by the sink. */
  add(family: string, labels: Labels, value: number): void;
  /**
   * Adds one sample of a series built at plan time (see {@link Series}): what
   * `add(series.family, seriesLabels(series), value)` does, without building labels.
   * Optional; `put()` in `series.ts` falls back to `add`.
   */
  set?(series: Series, value: number): void;
  /**
   * Records that something could not be read (wrong key type, non-numeric
   * value, Redis error). The collector's success gauge becomes 0 and the
   * reason is logged once per distinct message; nothing is thrown.
   */
  fail(reason: string): void;
}

/**
 * A command argument taken from the scrape clock when the batch is sent, so a
 * plan can be built once and sent on every scrape.
 */
export interface ClockArg {
  /** `ms`: unix milliseconds; `s`: unix seconds (fractional); `whole_s`: whole unix seconds (floor) */
  readonly clock: 'ms' | 's' | 'whole_s';
  /** Added to the clock value, in the same unit (negative for a window start). */
  readonly plus?: number;
  /** Prefix `(`: an exclusive ZCOUNT / ZRANGEBYSCORE bound. */
  readonly exclusive?: boolean;
}

/** A command whose arguments may include the scrape clock. */
export type PlannedCommand = readonly [name: string, ...args: (string | number | ClockArg)[]];

/** The scrape clock as an argument (see {@link ClockArg}). */
export function clock(unit: ClockArg['clock'], plus = 0, exclusive = false): ClockArg {
  return { clock: unit, plus, exclusive };
}

/**
 * The command `planned` is at `nowMs` (unix ms). Commands without a clock
 * argument are returned as they are (no copy).
 */
export function resolveCommand(planned: PlannedCommand, nowMs: number): Command {
  let timed = false;
  for (let i = 1; i < planned.length; i++) if (typeof planned[i] === 'object') timed = true;
  if (!timed) return planned as Command;
  const out = [...planned] as (string | number)[];
  resolveCommandInto(planned, nowMs, out);
  return out as unknown as Command;
}

/**
 * {@link resolveCommand} written into `into`, a command resolved from the
 * same `planned` before (same length): the engine re-resolves its first
 * batch's clocked commands in place every scrape instead of making ~1,200
 * new arrays at the reference workload.
 */
export function resolveCommandInto(planned: PlannedCommand, nowMs: number, into: (string | number)[]): void {
  for (let i = 1; i < planned.length; i++) {
    const a = planned[i]!;
    if (typeof a !== 'object') continue;
    const base = a.clock === 'ms' ? nowMs : a.clock === 's' ? nowMs / 1000 : Math.floor(nowMs / 1000);
    const v = base + (a.plus ?? 0);
    into[i] = a.exclusive ? `(${v}` : v;
  }
}

/**
 * A unit of work: commands for the first batch and what their replies mean.
 * @typeParam C what the first read hands its follow-up (nothing when there is none)
 */
export interface ReadStep<C = unknown> {
  /** Commands for the first batch; may be empty (samples from the config alone). */
  readonly commands: readonly PlannedCommand[];
  /**
   * Interprets `replies` (same length and order as `commands`) into `sink`.
   * Pure: no I/O, no clock but `nowMs` (scrape wall clock, unix ms).
   * May throw a {@link ReplyError}; the engine records it through `sink.fail`.
   * @returns the carry for {@link then}, or undefined for no follow-up this scrape.
   */
  read(replies: readonly Reply[], sink: SampleSink, nowMs: number): C | undefined;
  /** The dependent read, sent in the second batch when `read` returned a carry. */
  readonly then?: FollowUp<C>;
}

/** A dependent read: "these replies → these follow-up commands → these samples". */
export interface FollowUp<C> {
  /** The follow-up commands for `carry` (what the first replies said). Pure. */
  commands(carry: C): readonly Command[];
  /** Interprets the follow-up replies into `sink`. Pure; may throw a {@link ReplyError}. */
  read(replies: readonly Reply[], carry: C, sink: SampleSink, nowMs: number): void;
}

/** A collector: a named source of read steps (the `collector` label of the success/duration gauges). */
export interface RedisCollector {
  /** `collector` label value, e.g. `list`, `stream`, `asynq`, `components`. */
  readonly name: string;
  /**
   * This collector's read steps. The same array is returned for as long as
   * the queues behind it are the same (discovery swaps them between scrapes),
   * so the engine may reuse what it derived from it.
   */
  steps(): readonly ReadStep[];
}

/** A reply that does not mean what the step expected (wrong type, not a number). */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}
