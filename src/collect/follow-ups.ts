/**
 * The second wave of a scrape: the follow-up commands that first-batch
 * replies ask for (a list's head task details, a group's PEL…), sent while
 * the first batch's replies are still arriving instead of after the last one.
 *
 * Items join as the engine reads first-batch steps. The first item after a
 * send schedules a flush with `setImmediate`, which runs once the socket
 * reads of this event-loop turn are parsed, so the wave goes out as one
 * sub-batch per turn of first-batch replies, pipelined behind the first
 * batch on the same connection. Redis then answers the follow-ups while the
 * rest of the first batch is still being read, and the scrape no longer pays
 * a second round trip plus Redis' time for the follow-ups after the first
 * batch (issue 14: at 2 ms RTT that was ~8 ms of a ~50 ms reference scrape).
 * On one connection the replies still come back in order, so steps are read
 * in the same order as with one follow-up batch.
 *
 * Not a microtask: when a read breaks the connection (a protocol error, a
 * missed deadline), the engine learns that the first batch failed in a
 * microtask and {@link FollowUpWave.abandon}s the wave before the flush
 * runs, so no follow-up reconnects to send itself.
 */

/** What a sent sub-batch reported. */
export interface WaveBatch {
  /** False when the sub-batch failed as a whole (Redis is down for this scrape). */
  readonly up: boolean;
  /** Pipelines it took (one per node touched, more with redirects). */
  readonly roundtrips: number;
}

/** What the whole wave reported, once settled. */
export interface WaveResult {
  /** False when any sub-batch failed. */
  readonly up: boolean;
  /**
   * Round trips the wave added to the scrape: the most any of its sub-batches
   * took, since they overlap each other (and the first batch) rather than
   * follow one another. 0 when nothing was sent.
   */
  readonly roundtrips: number;
}

export class FollowUpWave<T> {
  private readonly items: T[] = [];
  /** `items[0, sent)` went out already. */
  private sent = 0;
  private scheduled = false;
  private open = true;
  private readonly batches: Promise<WaveBatch>[] = [];
  private readonly flushTask = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /**
   * @param send sends `items` as one batch and reads their replies; must never
   *   reject (the engine's batch contract).
   */
  constructor(private readonly send: (items: readonly T[]) => Promise<WaveBatch>) {}

  /** Queues `item`; it goes out with the next sub-batch (at the latest from {@link settle}). */
  add(item: T): void {
    this.items.push(item);
    if (this.open && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushTask);
    }
  }

  /** Sends the items not sent yet as one sub-batch (nothing when there are none or the wave is closed). */
  flush(): void {
    if (!this.open || this.sent === this.items.length) return;
    const batch = this.items.slice(this.sent);
    this.sent = this.items.length;
    this.batches.push(this.send(batch));
  }

  /**
   * Sends nothing more: the first batch failed, so its remaining follow-ups
   * are not worth a write (the ones in flight still settle).
   */
  abandon(): void {
    this.open = false;
  }

  /** Sends what is left (unless abandoned), then waits for every sub-batch. Never rejects. */
  async settle(): Promise<WaveResult> {
    this.flush();
    this.open = false;
    let up = true;
    let roundtrips = 0;
    for (const b of await Promise.all(this.batches)) {
      up &&= b.up;
      roundtrips = Math.max(roundtrips, b.roundtrips);
    }
    return { up, roundtrips };
  }
}
