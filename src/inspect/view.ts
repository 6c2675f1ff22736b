/**
 * One view of one queue: plans the inspector's reads, runs them (one
 * pipeline, at most one dependent second), and shapes the answer the JSON
 * API and the HTML view share ({@link QueueTasks}, {@link TaskLookup}).
 */
import type { BatchExecutor } from '../redis/batch.js';
import type { KnownQueue } from './index.js';
import { runInspection } from './run.js';
import { MAX_LIMIT, NOTES, type InspectRequest, type InspectStep, type ListState, type NoteKey, type TaskView } from './types.js';

/** One state's tab. */
export interface StateSection {
  state: ListState;
  /** Tasks in this state (LLEN / ZCARD…); `null` when the framework cannot say cheaply. */
  total: number | null;
  /** How this state was read, when it is not simply "the N oldest" (English). */
  note: string | null;
  /** The same as a key of `NOTES` (`types.ts`), for translations, and the number in it. */
  noteKey: NoteKey | null;
  noteValue: number | null;
  /** The oldest tasks, at most `limit`. */
  tasks: TaskView[];
}

/** `GET /api/queues/:queue/tasks`. */
export interface QueueTasks {
  queue: string;
  framework: string;
  generatedAt: string;
  limit: number;
  /** `ui.payloads`. */
  payloads: 'show' | 'hide';
  /** false when Redis could not be reached; `error` says why. */
  redisUp: boolean;
  error: string | null;
  /** States the framework keeps, in display order. */
  states: ListState[];
  sections: StateSection[];
  /** Replies that could not be read (wrong key type…). */
  problems: string[];
}

/** `GET /api/queues/:queue/tasks/:id`. */
export interface TaskLookup {
  queue: string;
  framework: string;
  generatedAt: string;
  redisUp: boolean;
  error: string | null;
  /** The task in each place it was found (a stream entry has one per group); empty when not found. */
  tasks: TaskView[];
  problems: string[];
}

/** Runs the list view of `q`. */
export async function listTasks(executor: BatchExecutor, q: KnownQueue, req: InspectRequest, deadlineMs: number): Promise<QueueTasks> {
  const has = q.inspector.statesOf?.(q.queue) ?? q.inspector.states;
  const steps = q.inspector.list(q.queue, req);
  const r = await runInspection(executor, steps, deadlineMs);
  const sections: StateSection[] = has
    .filter((s) => req.states.has(s))
    .map((state) => {
      const tasks = r.tasks.filter((t) => t.state === state).slice(0, req.limit);
      const known = r.totals.get(state);
      const note = r.notes.get(state);
      return {
        state,
        total: known ?? null,
        note: note ? NOTES[note.key].split('{n}').join(String(note.n ?? '')) : null,
        noteKey: note?.key ?? null,
        noteValue: note?.n ?? null,
        tasks,
      };
    });
  return {
    queue: q.name,
    framework: q.framework,
    generatedAt: new Date(req.nowMs).toISOString(),
    limit: req.limit,
    payloads: req.payloads ? 'show' : 'hide',
    redisUp: r.ok,
    error: r.ok ? null : (r.error ?? 'redis unreachable'),
    states: [...has],
    sections,
    problems: r.problems,
  };
}

/**
 * Looks task `id` up: by the framework's own index when it has one for this
 * id (asynq, BullMQ, RQ hashes, a stream entry id, the `details` hash),
 * else by searching the list view's windows (at most {@link MAX_LIMIT} per
 * state) for a task with that id or that `ref` (a stream entry's `task_id`).
 * Either way at most two batches.
 */
export async function lookupTask(executor: BatchExecutor, q: KnownQueue, id: string, req: InspectRequest, deadlineMs: number): Promise<TaskLookup> {
  const direct: InspectStep[] | undefined = q.inspector.lookup?.(q.queue, id, req);
  let tasks: TaskView[] = [];
  let ok = true;
  let error: string | null = null;
  let problems: string[] = [];
  if (direct && direct.length > 0) {
    const r = await runInspection(executor, direct, deadlineMs);
    tasks = r.tasks;
    ok = r.ok;
    error = r.ok ? null : (r.error ?? 'redis unreachable');
    problems = r.problems;
  }
  // One view, one pipeline (plus its dependent one): the windows are searched only when there is no index to ask.
  if (!(direct && direct.length > 0)) {
    const all: InspectRequest = { ...req, limit: MAX_LIMIT, states: new Set(q.inspector.states) };
    const r = await runInspection(executor, q.inspector.list(q.queue, all), deadlineMs);
    tasks = r.tasks.filter((t) => t.id === id || t.ref === id);
    ok = r.ok;
    error = r.ok ? null : (r.error ?? 'redis unreachable');
    problems = [...problems, ...r.problems];
  }
  return { queue: q.name, framework: q.framework, generatedAt: new Date(req.nowMs).toISOString(), redisUp: ok, error, tasks, problems };
}
