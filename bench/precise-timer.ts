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
 * notifies) for every wake-up it asks for, [1..2] that wake-up's delay as a
 * float64 (ms from when it was asked). A delay rather than a deadline: each
 * thread's `performance` clock has its own origin, so only the worker's own
 * clock measures its sleep.
 */
interface Shared {
  readonly words: Int32Array;
  readonly delay: Float64Array;
}

function shared(buffer: SharedArrayBuffer): Shared {
  return { words: new Int32Array(buffer, 0, 2), delay: new Float64Array(buffer, 8, 1) };
}

/**
 * One pending wake-up at a time (the earliest the caller needs): {@link at}
 * replaces it. The callback runs on the main thread's event loop, about
 * {@link WAKE_AHEAD_MS} before the deadline or a little after it; a caller
 * that finds itself early asks again.
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
      const cb = this.callback;
      this.callback = undefined;
      cb?.();
    });
  }

  /** Runs `cb` when the clock is about to reach `dueMs` ({@link clockMs}), replacing any pending wake-up. */
  at(dueMs: number, cb: () => void): void {
    this.callback = cb;
    this.shared.delay[0] = Math.max(0, dueMs - WAKE_AHEAD_MS - clockMs());
    Atomics.add(this.shared.words, 0, 1);
    Atomics.notify(this.shared.words, 0);
  }

  /** Stops the worker. */
  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The worker side: for each wake-up asked for, sleep its delay (unless a newer one replaces it), then wake the main thread. */
function sleepLoop(buffer: SharedArrayBuffer): never {
  const { words, delay } = shared(buffer);
  let seen = 0;
  for (;;) {
    // Nothing asked since the last wake-up: sleep until something is.
    Atomics.wait(words, 0, seen);
    seen = Atomics.load(words, 0);
    const due = performance.now() + delay[0]!;
    let replaced = false;
    for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
      if (Atomics.wait(words, 0, seen, wait) !== 'timed-out') {
        replaced = true;
        break;
      }
    }
    if (replaced) {
      seen = -1; // take the newer request at once (the wait at the top does not block: seen differs)
      continue;
    }
    parentPort!.postMessage(0);
  }
}

if (!isMainThread && workerData instanceof SharedArrayBuffer) sleepLoop(workerData);
