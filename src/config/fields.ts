/**
 * zod building blocks shared by `schema.ts` and the framework modules' schema
 * fragments (`collect/queues/<fw>.ts`): durations, the alert thresholds every
 * queue carries, and the fields every declared queue has. No import of
 * `schema.ts`, so the fragments can be composed there without a cycle.
 */
import { z } from 'zod';
import { parseDuration } from './durations.js';

/** A duration string, parsed to milliseconds. */
export const duration = z
  .string({ error: 'must be a duration string like 500ms, 30s, 5m or 1h' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h)` });
      return z.NEVER;
    }
    return ms;
  });

/** Sliding windows of `queue_window_tasks`, ms. */
export const windowsSchema = z.array(duration).min(1).default([60_000, 300_000, 600_000, 3_600_000]);

/** Default `backlogThreshold` (waiting tasks): exported once as `queue_default_backlog_threshold`. */
export const DEFAULT_BACKLOG_THRESHOLD = 1000;
/** Default `latencyThreshold`, ms: exported once as `queue_default_latency_threshold_seconds`. */
export const DEFAULT_LATENCY_THRESHOLD_MS = 300_000;

/**
 * Alert thresholds every queue carries. A queue whose value differs from the
 * default exports its own `queue_backlog_threshold` / `queue_latency_threshold_seconds`;
 * the others rely on the sidecar's one `queue_default_*` series (the rules fall back to it).
 */
export const thresholds = {
  /** waiting tasks; exported as `queue_backlog_threshold` when not the default */
  backlogThreshold: z.number().nonnegative().default(DEFAULT_BACKLOG_THRESHOLD),
  /** ms; exported as `queue_latency_threshold_seconds` when not the default */
  latencyThreshold: duration.default(DEFAULT_LATENCY_THRESHOLD_MS),
};

/** An optional key name where config.md documents `""` as the default: `""` means unset. */
export const emptyMeansUnset = z
  .string()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** Fields of every `queues:` entry. */
export const queueCommon = {
  name: z.string().min(1).optional(),
  key: z.string().min(1),
  ...thresholds,
};
