/**
 * The scrape engine's contract with the things it reads.
 *
 * A *read step* names the read-only Redis commands it needs and, given their
 * replies, writes samples into a {@link SampleSink}. The engine puts every
 * step's commands of a scrape into one pipeline per Redis node; a step may
 * return a dependent step (e.g. XRANGE after XINFO GROUPS has told it the
 * last-delivered id), and all dependent steps share a second pipeline. A third
 * level is refused: the engine never sends more than two batches per node.
 */

/** One Redis command: name then arguments, e.g. `['LLEN', 'task:queue']`. Read-only commands only. */
export type Command = readonly [name: string, ...args: (string | number)[]];

/**
 * One command's reply as ioredis' pipeline gives it: `[error, value]`. `error` is
 * set for a Redis error reply (WRONGTYPE, unknown command…) or a failed batch.
 */
export type Reply = readonly [error: Error | null, value: unknown];

/** Label set of one sample; values are strings as Prometheus wants them. */
export type Labels = Readonly<Record<string, string>>;

/** Prometheus metric types queuescope exposes. */
export type MetricType = 'gauge' | 'counter' | 'histogram' | 'info';

/**
 * Where collected values go. Families are declared once in `families.ts`
 * (name, type, help); collectors add samples by family name.
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
   * Records that something could not be read (wrong key type, non-numeric
   * value, Redis error). The collector's success gauge becomes 0 and the
   * reason is logged once per distinct message; nothing is thrown.
   */
  fail(reason: string): void;
}

/** A unit of work: commands for one batch, and how to read their replies. */
export interface ReadStep {
  /** Redis key the commands route by (Cluster: picks the node). Defaults to the first command's first argument. */
  readonly routingKey?: string;
  /** Commands for this batch; may be empty. */
  readonly commands: readonly Command[];
  /**
   * Interprets `replies` (same length and order as `commands`).
   * May throw a {@link ReplyError}; the engine records it through `sink.fail`.
   * @returns a dependent step for the second batch, or nothing.
   */
  read(replies: readonly Reply[], sink: SampleSink): ReadStep | ReadStep[] | void;
}

/** A collector: a named source of read steps (the `collector` label of the success/duration gauges). */
export interface RedisCollector {
  /** `collector` label value, e.g. `list`, `stream`, `asynq`, `components`. */
  readonly name: string;
  /**
   * Plans this scrape's first-batch steps.
   * @param nowMs wall clock of the scrape, unix milliseconds (all ages are measured against it).
   */
  plan(nowMs: number): ReadStep[];
}

/** A reply that does not mean what the step expected (wrong type, not a number). */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}
