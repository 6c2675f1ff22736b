/**
 * Building {@link TaskView}s: the inspectors give what their framework
 * stores; this fills the rest with `null`, computes the age and the payload
 * preview, and cleans every string.
 */
import { parseTimestampMs } from '../collect/replies.js';
import { clean, cleanOrNull, ERROR_CHARS, preview } from './text.js';
import type { InspectRequest, TaskState, TaskView } from './types.js';

/** What an inspector knows about one task (times in unix **ms**; strings raw). */
export interface TaskFacts {
  id: string;
  state: TaskState;
  ref?: unknown;
  name?: unknown;
  enqueuedAtMs?: number | undefined;
  attempts?: number | undefined;
  error?: unknown;
  failedAtMs?: number | undefined;
  dueAtMs?: number | undefined;
  consumer?: string | undefined;
  group?: string | undefined;
  idleMs?: number | undefined;
  deliveries?: number | undefined;
  /** the payload as text */
  payload?: string | null | undefined;
}

const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);
const seconds = (ms: number | undefined): number | null => (finite(ms) ? Math.round(ms) / 1000 : null);

/** A {@link TaskView} from `facts`, seen at `req.nowMs`. */
export function makeTask(facts: TaskFacts, req: InspectRequest): TaskView {
  const enq = finite(facts.enqueuedAtMs) && facts.enqueuedAtMs > 0 ? facts.enqueuedAtMs : undefined;
  return {
    id: clean(facts.id),
    state: facts.state,
    ref: facts.ref !== undefined && String(facts.ref) !== facts.id ? cleanOrNull(facts.ref) : null,
    name: cleanOrNull(facts.name),
    enqueuedAt: seconds(enq),
    ageSeconds: enq === undefined ? null : Math.max(0, Math.round(req.nowMs - enq) / 1000),
    attempts: finite(facts.attempts) ? facts.attempts : null,
    error: cleanOrNull(facts.error, ERROR_CHARS),
    failedAt: seconds(facts.failedAtMs),
    dueAt: seconds(facts.dueAtMs),
    consumer: cleanOrNull(facts.consumer),
    group: cleanOrNull(facts.group),
    idleSeconds: finite(facts.idleMs) ? facts.idleMs / 1000 : null,
    deliveries: finite(facts.deliveries) ? facts.deliveries : null,
    ...preview(facts.payload, req.payloads),
  };
}

/** A timestamp field of a task body (unix s/ms or ISO) as unix ms. */
export function tsMs(v: unknown): number | undefined {
  return parseTimestampMs(v);
}

/** A number field (number or numeric string), else undefined. */
export function numField(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A reply value as a string (`null` for nil); numbers become strings. */
export function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

/** The first field of `obj` that is present, from `names` in order. */
export function firstField(obj: Record<string, unknown>, names: readonly string[]): unknown {
  for (const n of names) if (obj[n] !== undefined && obj[n] !== null && obj[n] !== '') return obj[n];
  return undefined;
}

/** Field names the team's own layouts (lists, streams, zsets) may carry, most specific first. */
export const BODY_FIELDS = {
  id: ['task_id', 'taskId', 'id', 'job_id', 'jobId'],
  name: ['type', 'task', 'name', 'kind', 'job', 'class'],
  created: ['created_at', 'createdAt', 'enqueued_at', 'enqueuedAt', 'timestamp', 'ts'],
  attempts: ['attempts', 'attempt', 'retries', 'retry_count', 'retryCount', 'tries'],
  error: ['error', 'error_message', 'errorMessage', 'err', 'reason', 'last_error', 'failedReason', 'exception'],
  failed: ['failed_at', 'failedAt', 'dead_at', 'deadAt', 'died_at'],
  due: ['retry_at', 'retryAt', 'due_at', 'dueAt', 'run_at', 'runAt', 'eta'],
} as const;

/** Facts read out of a generic task body (JSON object or stream fields). */
export function bodyFacts(o: Record<string, unknown>): Pick<TaskFacts, 'ref' | 'name' | 'enqueuedAtMs' | 'attempts' | 'error' | 'failedAtMs' | 'dueAtMs'> {
  return {
    ref: firstField(o, BODY_FIELDS.id),
    name: firstField(o, BODY_FIELDS.name),
    enqueuedAtMs: tsMs(firstField(o, BODY_FIELDS.created)),
    attempts: numField(firstField(o, BODY_FIELDS.attempts)),
    error: firstField(o, BODY_FIELDS.error),
    failedAtMs: tsMs(firstField(o, BODY_FIELDS.failed)),
    dueAtMs: tsMs(firstField(o, BODY_FIELDS.due)),
  };
}
