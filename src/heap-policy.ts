/**
 * The sidecar's V8 heap policy, applied once when the process starts
 * (imported first by `cli.ts`; the bench's sidecar child applies it too).
 *
 * Why (issue 14, peak RSS ≤ 150 MiB at 10,000 queues): a scrape's garbage
 * outlives a young-generation GC while its replies are still arriving, so it
 * is promoted and dies in the old generation. V8's default lets the old
 * generation grow to 2–4× its live size before a full GC, and grows the
 * young generation to 2 × 16 MiB: back-to-back scrapes of 10,000 queues
 * (~46 MiB live) then peak near 300 MiB RSS while the live data stays put.
 * Go exporters bound the same thing with GOGC=100 (heap ≤ 2× live).
 *
 * The flags, both read by V8's heap controller at every GC, so setting them
 * after start takes effect (`v8.setFlagsFromString`; checked with
 * `process.memoryUsage()` in the bench):
 * - `--heap-growing-percent=50`: the next full GC runs when the old
 *   generation is 1.5× what the last one left (instead of V8's 2–4×);
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial
 *   size (1 MiB semi-spaces) instead of doubling to 16 MiB each.
 * Measured at 10,000 queues (`npm run bench`, back-to-back scrapes): peak
 * RSS 242–325 → 149–162 MiB. The price is CPU: a 1 MiB young generation is
 * collected every ~3 ms of a scrape, and V8's collector takes ~35 % of a
 * 10,000-queue scrape's CPU instead of ~18 % (`--cpu-prof`). Larger
 * semi-spaces (`--max-semi-space-size=2|4|8`) measured higher peaks (148,
 * 159, 183 MiB in-process); `--heap-growing-percent=30` was ~10 MiB lower
 * in-process but not in the bench's sidecar (155 against 147 MiB in one
 * A/B), and ~15 % slower.
 *
 * - `--gc-memory-reducer-start-delay-ms=2147483647` (~25 days): V8's memory
 *   reducer does not run. It runs "reduce memory" full GCs once the process
 *   has been idle for 8 s — between two scrapes at Prometheus' usual 15 s —
 *   and the scrape after them ran on a shrunk heap with colder code: at the
 *   reference workload ~85–115 ms of CPU instead of ~45–55 ms back to back
 *   (in-process, 8 and 15 s gaps; with the reducer off, 43–64 ms). The peak
 *   is the scrape's, so RSS is not what the reducer lowers here; between
 *   scrapes the heap keeps its working size. (`--no-memory-reducer` works
 *   only on the command line: V8 creates the reducer at start; its delay is
 *   read each time it is scheduled.)
 *
 * A flag the operator set (on the node command line or in NODE_OPTIONS) wins:
 * it is left as given. `QUEUESCOPE_HEAP_POLICY=off` leaves V8's defaults
 * alone altogether (for comparing, or when CPU matters more than memory).
 */
import { setFlagsFromString } from 'node:v8';

/** The flags {@link applyHeapPolicy} sets, as `--name=value`. */
export const HEAP_FLAGS: readonly string[] = ['--heap-growing-percent=50', '--semi-space-growth-factor=1', '--gc-memory-reducer-start-delay-ms=2147483647'];

/** The young-generation flags an operator may set instead; any of them keeps ours off the young generation. */
const YOUNG_FLAGS = ['--semi-space-growth-factor', '--max-semi-space-size', '--min-semi-space-size'];

/** The memory-reducer flags an operator may set instead (either keeps our delay off). */
const REDUCER_FLAGS = ['--gc-memory-reducer-start-delay-ms', '--memory-reducer', '--no-memory-reducer'];

/** `--a-b` and `--a_b` are the same V8 flag. */
const norm = (flag: string): string => flag.replace(/_/g, '-');

/**
 * The subset of {@link HEAP_FLAGS} to set, given the operator's own flags.
 * @param given node's command-line flags and NODE_OPTIONS, split on spaces
 */
export function heapFlagsToSet(given: readonly string[]): string[] {
  const names = new Set(given.map((f) => norm(f.split('=')[0]!)));
  return HEAP_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    if (name === '--semi-space-growth-factor') return !YOUNG_FLAGS.some((y) => names.has(y));
    if (name === '--gc-memory-reducer-start-delay-ms') return !REDUCER_FLAGS.some((r) => names.has(r));
    return !names.has(name);
  });
}

/**
 * Sets the heap flags the operator did not set. Idempotent; never throws
 * (a V8 without one of the flags ignores it).
 * @returns the flags set
 */
export function applyHeapPolicy(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? '', policy = process.env.QUEUESCOPE_HEAP_POLICY): string[] {
  if (policy?.trim().toLowerCase() === 'off') return [];
  const flags = heapFlagsToSet([...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)]);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}

applyHeapPolicy();
