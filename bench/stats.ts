/** Small numeric helpers shared by the benchmark scripts. */

/** Latency summary of a set of runs, milliseconds. */
export interface Latency {
  runs: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Median, p99 (nearest rank), mean, min and max of `samples` (ms). NaN fields when empty. */
export function latency(samples: readonly number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { runs: 0, medianMs: NaN, p99Ms: NaN, meanMs: NaN, minMs: NaN, maxMs: NaN };
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const p99 = s[Math.min(n - 1, Math.ceil(0.99 * n) - 1)]!;
  return { runs: n, medianMs: r2(median), p99Ms: r2(p99), meanMs: r2(s.reduce((a, b) => a + b, 0) / n), minMs: r2(s[0]!), maxMs: r2(s[n - 1]!) };
}

/** Median of `samples`, NaN when empty. */
export function median(samples: readonly number[]): number {
  return latency(samples).medianMs;
}

export const round1 = (v: number): number => Math.round(v * 10) / 10;
export const round2 = r2;

/** A number for a table cell: `-` when absent, no decimals from 1000 up. */
export function fmt(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}

/** A non-negative integer from the environment, or `dflt`. */
export function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  return Number.isFinite(v) && v >= 0 ? Math.floor(v) : dflt;
}

/** True when the env variable is set to something other than `0`, `false` or empty. */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
