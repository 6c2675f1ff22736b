/**
 * Property-based fuzzing settings shared by every `*.fuzz.test.ts`: a small
 * bounded number of runs in `npm test`, many more when
 * `QUEUESCOPE_FUZZ_RUNS` asks (e.g. `QUEUESCOPE_FUZZ_RUNS=20000 npx vitest run fuzz`).
 * A counter-example fast-check finds is kept as a fixed regression test beside the property.
 */
import type { Parameters } from 'fast-check';

/** fast-check parameters: `defaultRuns` unless `$QUEUESCOPE_FUZZ_RUNS` is a positive integer; `$QUEUESCOPE_FUZZ_SEED` replays a failure. */
export function fuzzParams<T = unknown>(defaultRuns: number): Parameters<T> {
  const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS);
  const seed = Number(process.env.QUEUESCOPE_FUZZ_SEED);
  return {
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns,
    ...(Number.isInteger(seed) ? { seed } : {}),
  };
}

/** Vitest timeout for a fuzz test: generous when a long run was asked for. */
export function fuzzTimeoutMs(defaultMs = 30_000): number {
  const runs = Number(process.env.QUEUESCOPE_FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? Math.max(defaultMs, runs * 20) : defaultMs;
}
