/**
 * Durations as the config writes them (`500ms`, `30s`, `5m`, `1h`, `1d`):
 * parsing into milliseconds, the ranges a duration may take, and printing
 * them back (window labels, `check-config`, range messages). A leaf module
 * (no imports), so the framework modules' schema fragments can use it without
 * reaching `schema.ts`.
 */

/** Unit multipliers for duration strings, in milliseconds. */
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * The longest duration any setting may take, ms: `setTimeout`'s limit
 * (2^31 - 1 ms, about 24.8 days; Node turns a longer delay into 1 ms, see the
 * Node.js timers documentation), so no duration can ever become a timer storm.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Parses a duration string (`500ms`, `30s`, `5m`, `1h`, `1d`) into milliseconds.
 * @returns milliseconds (rounded to an integer), or `undefined` when the text
 *   is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2]!] ?? 0));
}

// Largest first, so 3_600_000 prints as 1h rather than 60m. Days are left out
// on purpose: config.md documents ms/s/m/h, so 24h reads more familiar than 1d.
const UNITS: ReadonlyArray<readonly [suffix: string, ms: number]> = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * Formats milliseconds as the shortest exact duration string: `0s`, `500ms`,
 * `30s`, `5m`, `1h`, `90m` (never a fraction; `1500` -> `1500ms`).
 * `parseDuration(formatDuration(ms)) === ms` for every non-negative integer `ms`.
 *
 * @param ms a non-negative number of milliseconds (rounded to an integer).
 */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms);
  if (whole === 0) return '0s';
  for (const [suffix, size] of UNITS) if (whole % size === 0) return `${whole / size}${suffix}`;
  return `${whole}ms`;
}

/** An inclusive range of milliseconds a duration setting accepts. */
export interface DurationRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * The range as the README and error messages write it: `between 1s and 24h`.
 * The upper bound {@link MAX_DURATION_MS} prints as `24d`, rounded down.
 */
export function describeRange(range: DurationRange): string {
  const max = range.maxMs === MAX_DURATION_MS ? '24d' : formatDuration(range.maxMs);
  return `between ${formatDuration(range.minMs)} and ${max}`;
}
