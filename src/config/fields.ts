/**
 * zod building blocks shared by `schema.ts` and the framework modules' schema
 * fragments (`collect/queues/<fw>.ts`): durations, the alert thresholds every
 * queue carries, and the fields every declared queue has. No import of
 * `schema.ts`, so the fragments can be composed there without a cycle.
 */
import { z } from 'zod';
import { describeRange, MAX_DURATION_MS, parseDuration, type DurationRange } from './durations.js';

/**
 * A duration string in `range`, parsed to milliseconds. Out of range is an
 * error naming the range (`must be between 1s and 24h`), so no setting can
 * turn into a SCAN storm (`0s`) or overflow a timer (`30d`).
 */
export function durationIn(range: DurationRange) {
  return z.string({ error: 'must be a duration string like 500ms, 30s, 5m or 1h' }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h)` });
      return z.NEVER;
    }
    if (!(ms >= range.minMs && ms <= range.maxMs)) {
      ctx.addIssue({ code: 'custom', message: `duration "${text}" is out of range: must be ${describeRange(range)}` });
      return z.NEVER;
    }
    return ms;
  });
}

/**
 * The documented range of every duration setting (README, "Durations").
 * Timers: at least what keeps a loop from hammering Redis, at most what a
 * timer can hold; thresholds and windows: at most {@link MAX_DURATION_MS}.
 */
export const DURATION_RANGES = {
  /** `scrape.timeout`: a scrape answers within it; Prometheus' own timeouts live in this range. */
  scrapeTimeout: { minMs: 100, maxMs: 300_000 },
  /** `scrape.cacheFor`: 0 = share in-flight collections only. */
  cacheFor: { minMs: 0, maxMs: 3_600_000 },
  /** `scrape.discoveryInterval`: SCAN on a monitored Redis at most once a second. */
  discoveryInterval: { minMs: 1000, maxMs: 86_400_000 },
  /** `redis.connectTimeout`, `redis.commandTimeout`, `mysql.timeout`, `notify.timeout`. */
  ioTimeout: { minMs: 10, maxMs: 300_000 },
  /** `ui.rateWindow`. */
  rateWindow: { minMs: 1000, maxMs: 86_400_000 },
  /** `windows[]`, `latencyThreshold`, `staleAfter`: not timers, but never past a timer's limit. */
  span: { minMs: 1000, maxMs: MAX_DURATION_MS },
} as const satisfies Record<string, DurationRange>;

/** A duration string in the widest range any setting accepts (0 to {@link MAX_DURATION_MS}), ms. */
export const duration = durationIn({ minMs: 0, maxMs: MAX_DURATION_MS });

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3 };

/**
 * A size in bytes: a whole number, or a string like `512KiB`, `16MiB`, `1GiB`
 * (also `KB`/`MB`/`GB`, powers of 1000), within `[min, max]` bytes.
 */
export function byteSize(min: number, max: number) {
  return z.union([z.number(), z.string()], { error: 'must be a size like 16MiB or a number of bytes' }).transform((v, ctx) => {
    let bytes: number | undefined;
    if (typeof v === 'number') bytes = Number.isInteger(v) ? v : undefined;
    else {
      const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/.exec(v.trim());
      if (m) bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[m[2] ?? ''] ?? NaN));
    }
    if (bytes === undefined || !Number.isSafeInteger(bytes)) {
      ctx.addIssue({ code: 'custom', message: `invalid byte size ${JSON.stringify(String(v))} (use e.g. 16MiB, 512KiB or a whole number of bytes)` });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `size out of range: must be between ${min} and ${max} bytes` });
      return z.NEVER;
    }
    return bytes;
  });
}

/** Sliding windows of `queue_window_tasks`, ms. */
export const windowsSchema = z.array(durationIn(DURATION_RANGES.span)).min(1).default([60_000, 300_000, 600_000, 3_600_000]);

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
  latencyThreshold: durationIn(DURATION_RANGES.span).default(DEFAULT_LATENCY_THRESHOLD_MS),
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
