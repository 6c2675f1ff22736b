/**
 * Runs an inspector's steps against the runtime's {@link BatchExecutor}: the
 * first-level steps' commands as one pipeline, the steps they return as a
 * second; a third level is refused. Every command goes through the
 * executor's read-only check, so a write can never leave the sidecar. Never
 * on the `/metrics` path: views run only when someone opens them.
 */
import { keyOf, type BatchExecutor, type RoutedCommand } from '../redis/batch.js';
import type { Command } from '../redis/command.js';
import type { InspectSink, InspectStep, NoteKey, TaskState, TaskView } from './types.js';

/** What a view read. */
export interface InspectResult {
  /** False when Redis could not be reached (the batch failed as a whole). */
  readonly ok: boolean;
  readonly error?: string;
  readonly totals: Map<TaskState, number>;
  readonly notes: Map<TaskState, { key: NoteKey; n: number | null }>;
  /** Tasks in the order the inspector gave them (oldest first per state). */
  readonly tasks: TaskView[];
  readonly problems: string[];
  /** Pipelines sent (1 or 2 per node). */
  readonly batches: number;
  /** Every command sent, for tests and the debug log. */
  readonly commands: Command[];
}

const routed = (commands: readonly Command[]): RoutedCommand[] => commands.map((command) => ({ command, routingKey: keyOf(command) }));

/**
 * Sends `steps` (and their dependent steps) and collects what they read.
 * @param deadlineMs absolute unix ms for each batch
 */
export async function runInspection(executor: BatchExecutor, steps: readonly InspectStep[], deadlineMs: number): Promise<InspectResult> {
  const totals = new Map<TaskState, number>();
  const notes = new Map<TaskState, { key: NoteKey; n: number | null }>();
  const tasks: TaskView[] = [];
  const problems: string[] = [];
  const sent: Command[] = [];
  const sink: InspectSink = {
    total: (state, n) => void totals.set(state, n),
    note: (state, key, n) => void notes.set(state, { key, n: n ?? null }),
    task: (t) => void tasks.push(t),
    problem: (text) => void problems.push(text),
  };
  let batches = 0;
  let level: readonly InspectStep[] = steps;
  for (let depth = 0; depth < 2 && level.length > 0; depth++) {
    const commands = level.flatMap((s) => s.commands);
    let replies: Awaited<ReturnType<BatchExecutor['exec']>>['replies'] = [];
    if (commands.length > 0) {
      sent.push(...commands);
      const result = await executor.exec(routed(commands), deadlineMs);
      batches++;
      if (!result.ok) return { ok: false, error: result.error ?? 'redis batch failed', totals, notes, tasks, problems, batches, commands: sent };
      replies = result.replies;
    }
    const next: InspectStep[] = [];
    let at = 0;
    for (const step of level) {
      const mine = replies.slice(at, at + step.commands.length);
      at += step.commands.length;
      try {
        const follow = step.read(mine, sink);
        const more = follow ? (Array.isArray(follow) ? follow : [follow]) : [];
        if (depth === 0) next.push(...more);
        else if (more.length > 0) problems.push('internal: a third batch was planned and refused');
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    level = next;
  }
  return { ok: true, totals, notes, tasks, problems, batches, commands: sent };
}
