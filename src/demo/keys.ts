/**
 * Redis keys, names and MySQL table the demo workload writes. `examples/demo.yaml`
 * (the sidecar config that reads them) and the tests use these same names;
 * change them together.
 *
 * Layouts follow `shared/spec/frameworks.md` ("The team's own layouts") and the
 * design notes they came from (the exam-scoring list flow, the Go stream queue).
 */

/** The exam-scoring list flow (list + hash + set + zset, heartbeats, counters). */
export const EXAM = {
  /** HASH task id -> JSON `{created_at (unix s), exam_id, user_id, username, score}`. */
  details: 'task:details',
  /** LIST of task ids; RPUSH by the producer, LPOP by the consumer (head = oldest). */
  queue: 'task:queue',
  /** ZSET task id -> enqueue time in unix seconds; trimmed to a sliding window. */
  timeline: 'task:timeline',
  /** SET of ids scored successfully (bounded by the demo). */
  done: 'task:done',
  /** SET of ids that failed (bounded by the demo). */
  failed: 'task:failed',
  /** STRING unix seconds, SET by the producer on every write tick. */
  producerHeartbeat: 'simulator:heartbeat',
  /** STRING counter, INCRBY per task written; also the source of task ids. */
  producerTotal: 'simulator:written:total',
  /** STRING unix seconds, SET by the consumer (also while idle, so an empty queue is not "down"). */
  consumerHeartbeat: 'consumer:heartbeat',
  /** STRING counter, INCR per task scored successfully (the design notes' meaning). */
  consumerTotal: 'consumer:processed:total',
  /** STRING counter, INCR per failed task (the `failedCounter` of the queue in demo.yaml). */
  consumerFailed: 'consumer:failed:total',
  /** STRING milliseconds the last task took. */
  consumerLastDuration: 'consumer:last_duration',
  /** LIST of the last 20 durations in ms (LPUSH + LTRIM 0 19). */
  consumerDurations: 'consumer:durations',
} as const;

/** The stream flow (the team's Go Redis-Stream queue, with its retry worker and DLQ). */
export const STREAM = {
  /** The work stream: XADD by the producer, XREADGROUP / XACK by the consumers. */
  stream: 'task_stream',
  group: 'scheduler_group',
  /** Failed or abandoned entries waiting for their retry time (XADD; XDEL when re-driven). */
  retry: 'task_stream:retry',
  /** Entries that failed too often (dead-letter stream). */
  dead: 'task_stream:dlq',
  /** Consumer name the retry worker claims abandoned entries under (XAUTOCLAIM). */
  janitor: 'retry-worker',
  /** STRING unix seconds, SET by the retry worker every pass. */
  retryHeartbeat: 'retry_worker:heartbeat',
  /** STRING counter of entries the retry worker re-drove or dead-lettered. */
  retryTotal: 'retry_worker:redriven:total',
} as const;

/** The BullMQ flow: a real `bullmq` queue with workers. */
export const BULL = {
  prefix: 'bull',
  queue: 'exam-notify',
} as const;

/** MySQL table the exam consumer inserts scores into (created when missing). */
export const MYSQL_TABLE = 'exam_scores';

/** Database used when the `--mysql` URL names none. */
export const MYSQL_DEFAULT_DATABASE = 'queuescope_demo';
