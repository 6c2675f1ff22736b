/**
 * "Say it once": a reason repeated on every scrape (a broken key, a Redis
 * that stays down) is logged when it first appears, not every time.
 *
 * - {@link SeenOnce}: distinct messages, each logged the first time (bounded
 *   memory: past `max` remembered messages it forgets them all, so a flood of
 *   new ones is logged again rather than kept forever).
 * - {@link Outage}: one failing thing, logged when its reason changes and
 *   once more when it recovers.
 */

/** Default bound on remembered messages. */
export const MAX_REMEMBERED = 1000;

export class SeenOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_REMEMBERED) {}

  /** True the first time `key` is seen (log it then), false afterwards. */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(key);
    return true;
  }
}

export class Outage {
  private reason: string | undefined;

  /** True while failing. */
  get failing(): boolean {
    return this.reason !== undefined;
  }

  /** Records a failure; true when it is new or its reason changed (log it then). */
  fail(reason: string): boolean {
    if (this.reason === reason) return false;
    this.reason = reason;
    return true;
  }

  /** Records a success; true when it ends a failure (log the recovery then). */
  recover(): boolean {
    if (this.reason === undefined) return false;
    this.reason = undefined;
    return true;
  }
}
