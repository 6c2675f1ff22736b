/**
 * Durations as the config writes them (`500ms`, `30s`, `5m`, `1h`) and as the
 * rest of queuescope prints them back (window labels, `check-config`).
 * Parsing lives in `schema.ts` ({@link parseDuration}); this is its inverse.
 */
export { parseDuration } from './schema.js';

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
