/**
 * The task inspector's contract (issue 15): for one queue, an inspector plans
 * bounded read-only commands and reads their replies into tasks. Like the
 * scrape's layouts, inspectors are pure (no I/O, no clock but `nowMs`); the
 * runner (`run.ts`) sends a view's commands as one pipeline, and the steps
 * the first batch returns as a second one. There is never a third.
 */
import type { Command, Reply } from '../redis/command.js';

/**
 * States a view lists. `stuck` is derived where the framework makes it
 * derivable (asynq: active with an expired lease; BullMQ: active without its
 * lock key; RQ: started with an expired registry entry; streams: a PEL entry
 * idle beyond the queue's `latencyThreshold`). `completed` only appears on a
 * task looked up by id.
 */
export const TASK_STATES = ['waiting', 'scheduled', 'retry', 'dead', 'active', 'stuck'] as const;
export type ListState = (typeof TASK_STATES)[number];
export type TaskState = ListState | 'completed';

/** One task as the views show it. Absent values are `null`; every string is already cleaned (see `text.ts`). */
export interface TaskView {
  /** The framework's task id (stream entry id for streams; the member for lists/zsets without ids). */
  id: string;
  state: TaskState;
  /** The task's own id from its body (`task_id`, `id`…) when it differs from `id` (a stream entry's business id). */
  ref: string | null;
  /** Task type / class / job name. */
  name: string | null;
  /** Enqueue time, unix seconds (fractional). */
  enqueuedAt: number | null;
  /** Seconds between `enqueuedAt` and the view. */
  ageSeconds: number | null;
  /** Executions so far (failed ones included), as the framework counts them. */
  attempts: number | null;
  /** Last error message, cut (see `text.ts`). */
  error: string | null;
  /** When the task last failed, unix seconds. */
  failedAt: number | null;
  /** scheduled / retry: when it runs next; stuck (asynq): when its lease expired; unix seconds. */
  dueAt: number | null;
  /** Stream PEL: the consumer holding the entry. */
  consumer: string | null;
  /** Stream: the consumer group. */
  group: string | null;
  /** Stream PEL: milliseconds since the entry was last delivered, as seconds. */
  idleSeconds: number | null;
  /** Stream PEL: delivery count. */
  deliveries: number | null;
  /** First 512 bytes of the payload, escaped; `null` when hidden (`ui.payloads: hide`) or absent. */
  payload: string | null;
  /** Size of the whole payload in bytes (UTF-8), `null` when unknown. */
  payloadBytes: number | null;
  /** True when `payload` is a cut of a longer payload. */
  payloadTruncated: boolean;
}

/** How a state was read, when it is not simply "the N oldest": English text for the API (the page has its own translations). */
export const NOTES = {
  stuckAmongActive: 'active jobs without a lock, among the {n} oldest active',
  unorderedSet: 'a SET has no order: some failed tasks, not necessarily the oldest',
  busyProcesses: 'busy jobs of {n} processes (at most 20 are read)',
  globalFiltered: "from the global set: this queue's jobs among its {n} oldest entries",
  perGroup: 'per consumer group',
} as const;
export type NoteKey = keyof typeof NOTES;

/** What an inspector's reads produce. */
export interface InspectSink {
  /** Total tasks in `state` (LLEN / ZCARD / XLEN / PEL size); not called when unknown. */
  total(state: TaskState, n: number): void;
  /** A note on how `state` was read, when it is not simply "the N oldest" ({@link NOTES}); `n` fills its `{n}`. */
  note(state: TaskState, key: NoteKey, n?: number): void;
  /** A task, oldest first within its state. */
  task(t: TaskView): void;
  /** Something could not be read (wrong type, unparsable body); the view shows it and goes on. */
  problem(text: string): void;
}

/** One unit of reads: commands for a batch and how to read their replies. */
export interface InspectStep {
  readonly commands: readonly Command[];
  /**
   * Reads `replies` (same order as `commands`). May throw (the runner records
   * the message as a problem).
   * @returns dependent steps for the second batch (only from first-batch steps).
   */
  read(replies: readonly Reply[], sink: InspectSink): InspectStep | InspectStep[] | void;
}

/** What a view asks for. */
export interface InspectRequest {
  /** States to list. */
  readonly states: ReadonlySet<ListState>;
  /** Tasks per state, 1..{@link MAX_LIMIT}. */
  readonly limit: number;
  /** View clock, unix ms. */
  readonly nowMs: number;
  /** `ui.payloads === 'show'`. */
  readonly payloads: boolean;
}

/** Default tasks per state. */
export const DEFAULT_LIMIT = 20;
/** Upper bound of `limit` (every command carries a COUNT no larger than this, or a small multiple for filtered global sets). */
export const MAX_LIMIT = 100;

/** Frameworks with an inspector (the `framework` label values of `collect/queues/registry.ts`). */
export type Framework = 'asynq' | 'bullmq' | 'sidekiq' | 'celery' | 'rq' | 'stream' | 'list' | 'zset';

/** A framework's inspector over queues of shape `Q` (the discovery / config shape). */
export interface Inspector<Q> {
  readonly framework: Framework;
  /** States the framework keeps (the view's tabs), in display order. */
  readonly states: readonly ListState[];
  /** The states `queue` has, when fewer than {@link states} (a list without a `failed` set has no dead state). */
  statesOf?(queue: Q): readonly ListState[];
  /** Plans the N-oldest-per-state view. */
  list(queue: Q, req: InspectRequest): InspectStep[];
  /**
   * Plans the lookup of task `id`; tasks found go to the sink (usually one).
   * Frameworks without an index by id search the list view's windows instead (undefined here).
   */
  lookup?(queue: Q, id: string, req: InspectRequest): InspectStep[];
}
