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

/** Alert thresholds every queue carries (exported as gauges for the rules). */
export const thresholds = {
  /** waiting tasks; exported as `queue_backlog_threshold` */
  backlogThreshold: z.number().nonnegative().default(1000),
  /** ms; exported as `queue_latency_threshold_seconds` */
  latencyThreshold: duration.default(300_000),
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
