/**
 * Durations as the config writes them (`500ms`, `30s`, `5m`, `1h`) and as the
 * rest of queuescope prints them back (window labels, `check-config`):
 * {@link parseDuration} and its inverse {@link formatDuration}. A leaf module
 * (no imports), so the framework modules' schema fragments can use it without
 * reaching `schema.ts`.
 */

/** Unit multipliers for duration strings, in milliseconds. */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration string (`500ms`, `30s`, `5m`, `1h`, `1d`) into milliseconds.
 * @returns milliseconds, or `undefined` when the text is not a duration.
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
