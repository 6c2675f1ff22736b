/**
 * Small readers shared by the framework layouts (asynq, BullMQ, Sidekiq,
 * Celery, RQ): a reply into one `queue_tasks{state}` sample, a counter string
 * into a number, and "a step whose replies are read each on their own".
 */
import { int, numericString, readEach, type ReplyReader } from '../replies.js';
import type { Command, Labels, ReadStep, Reply, SampleSink } from '../types.js';

/** The normalised states of `queue_tasks` (shared/spec/metrics.md, state table). */
export type QueueState = 'waiting' | 'active' | 'scheduled' | 'retry' | 'dead' | 'completed';

/** Reads an integer reply (LLEN, ZCARD…) into `queue_tasks{…labels, state}`. */
export function countInto(labels: Labels, state: QueueState, what: string): ReplyReader {
  return (r, sink) => sink.add('queue_tasks', { ...labels, state }, int(r, what));
}

/**
 * Reads a counter kept as a Redis string (GET). A missing key reads as 0, as
 * the frameworks' own tools show it (asynq `CurrentStats`, Sidekiq `Stats#processed`).
 * @throws ReplyError when the value is not a number.
 */
export function counterValue(r: Reply, what: string): number {
  return numericString(r, what) ?? 0;
}

/**
 * A step of `commands` whose replies go to `readers` one by one (same order):
 * one unreadable key fails alone, the other samples are still added.
 */
export function eachStep(commands: readonly Command[], readers: readonly ReplyReader[], after?: (sink: SampleSink) => ReadStep | ReadStep[] | void): ReadStep {
  return {
    commands,
    read(replies, sink) {
      readEach(readers, replies, sink);
      return after?.(sink);
    },
  };
}
