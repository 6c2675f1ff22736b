/**
 * Sub-millisecond wake-ups without spinning, for the delay proxy.
 *
 * Node's timers are millisecond-granular and measured from the loop's cached
 * clock, so a 1 ms delay fires anywhere from ~0 to ~2 ms late or early. The
 * proxy used to finish the last fraction with `setImmediate`, which spins the
 * event loop: at 2 ms RTT it burnt ~20 ms of CPU per reference scrape, on the
 * same two cores as the sidecar and Redis it sits between (issue 14). Here a
 * worker thread sleeps until the deadline in `Atomics.wait` (a futex wait with
 * a fractional-millisecond timeout, microsecond precision, no CPU while it
 * waits) and wakes the main thread with a message.
 *
 * This file is both sides: imported, it exports {@link PreciseTimer}; started
 * as the worker, it runs the sleep loop.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/** Absolute time in ms (the same clock in every thread: `performance.now()` has a per-thread origin). */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * How early the worker wakes, ms: about what a futex wake-up plus a message to
 * the main thread take here (measured ~0.15–0.2 ms median), so callbacks run
 * near their deadline rather than that much after it.
 */
export const WAKE_AHEAD_MS = 0.15;

/**
 * The shared words: [0] a generation counter the main thread bumps (and
 * notifies) whenever the deadline changes, [1..2] the deadline as a float64
 * (absolute ms, 0 = none).
 */
interface Shared {
  readonly words: Int32Array;
  readonly deadline: Float64Array;
}

function shared(buffer: SharedArrayBuffer): Shared {
  return { words: new Int32Array(buffer, 0, 2), deadline: new Float64Array(buffer, 8, 1) };
}

/**
 * One pending wake-up at a time (the earliest the caller needs): {@link at}
 * replaces it. The callback runs on the main thread's event loop.
 */
export class PreciseTimer {
  private readonly worker: Worker;
  private readonly shared: Shared;
  private callback: (() => void) | undefined;

  constructor() {
    const buffer = new SharedArrayBuffer(16);
    this.shared = shared(buffer);
    this.worker = new Worker(new URL(import.meta.url), { workerData: buffer });
    this.worker.unref();
    this.worker.on('message', () => {
      const due = this.shared.deadline[0]!;
      if (due === 0 || clockMs() < due - WAKE_AHEAD_MS) return; // replaced or cancelled since the worker woke
      this.shared.deadline[0] = 0;
      const cb = this.callback;
      this.callback = undefined;
      cb?.();
    });
  }

  /**
   * Runs `cb` when the clock is about to reach `dueMs` ({@link clockMs}; up to
   * {@link WAKE_AHEAD_MS} before it), replacing any pending wake-up.
   */
  at(dueMs: number, cb: () => void): void {
    this.callback = cb;
    this.shared.deadline[0] = dueMs;
    Atomics.add(this.shared.words, 0, 1);
    Atomics.notify(this.shared.words, 0);
  }

  /** Stops the worker. */
  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The worker side: sleep until the deadline (or until it changes), then wake the main thread. */
function sleepLoop(buffer: SharedArrayBuffer): never {
  const { words, deadline } = shared(buffer);
  for (;;) {
    const generation = Atomics.load(words, 0);
    const due = deadline[0]!;
    if (due === 0) {
      Atomics.wait(words, 0, generation);
      continue;
    }
    const wait = due - WAKE_AHEAD_MS - clockMs();
    if (wait > 0 && Atomics.wait(words, 0, generation, wait) !== 'timed-out') continue; // a new deadline
    parentPort!.postMessage(0);
    // Until the main thread takes this deadline (or sets another), do not wake it again.
    while (Atomics.load(words, 0) === generation && deadline[0] === due) Atomics.wait(words, 0, generation, 50);
  }
}

if (!isMainThread && workerData instanceof SharedArrayBuffer) sleepLoop(workerData);
