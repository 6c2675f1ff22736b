/**
 * The oldest job of BullMQ's `prioritized` ZSET, whatever its priority, at
 * bounded cost.
 *
 * Facts (bullmq 6.7.0, `commands/includes/getPriorityScore.lua`): a job with
 * priority `p` (1 … 2²¹) is stored with score `p × 2³² + c`, where
 * `c = INCR <prefix>:<q>:pc` mod 2³² is one counter per queue, shared by every
 * priority. So within the ZSET the order is by priority first: `ZRANGE 0 0` is
 * the job BullMQ serves next, not the oldest. The oldest is the one with the
 * smallest counter, and within one priority *band* `[p × 2³², (p+1) × 2³²)`
 * counters grow with insertion, so the oldest of a band is its head. The
 * oldest prioritized job is therefore the head with the smallest counter over
 * all bands in use.
 *
 * Cost: the bands in use are learned by discovery (a background skip-scan:
 * `ZRANGEBYSCORE prioritized <next band start> +inf LIMIT 0 1 WITHSCORES`,
 * one round per band, at most {@link MAX_BANDS} rounds, on the discovery
 * interval). A scrape then reads, per learned band, one
 * `ZRANGEBYSCORE prioritized <band start> <band end> LIMIT 0 1 WITHSCORES`
 * (O(log N)) plus `ZRANGE prioritized 0 0 WITHSCORES` and
 * `ZRANGE prioritized -1 -1 WITHSCORES` (the lowest and the highest band in
 * use right now), and HGETs one job's `timestamp` in its second batch. It is
 * exact while every band in use is learned (≤ {@link MAX_BANDS} distinct
 * priorities); a band first used since the last discovery pass is seen
 * through its head only when it is the lowest band, else the age is a lower
 * bound until the next pass. The trade-off: no per-scrape cost for queues
 * without priorities, two round trips per scrape as for every other layout,
 * one ZRANGEBYSCORE per priority in use.
 */

/** Width of a priority band in the score: 2³². */
export const PRIORITY_BAND = 2 ** 32;

/** Learned bands per queue (distinct priorities in use); more are not read. */
export const MAX_BANDS = 16;

/** The band (priority) of a `prioritized` score. */
export function bandOf(score: number): number {
  return Math.floor(score / PRIORITY_BAND);
}

/** The insertion counter of a `prioritized` score (`pc` mod 2³²). */
export function counterOf(score: number): number {
  return score - bandOf(score) * PRIORITY_BAND;
}

/** ZRANGEBYSCORE bounds of band `p`: `[p × 2³², (p+1) × 2³²)`, as Redis score strings. */
export function bandBounds(p: number): [min: string, max: string] {
  return [String(p * PRIORITY_BAND), `(${(p + 1) * PRIORITY_BAND}`];
}

/** One ZSET member with its score, as ZRANGE … WITHSCORES gives it. */
export interface ScoredMember {
  readonly id: string;
  readonly score: number;
}

/**
 * Reads a `WITHSCORES` reply (flat `[member, score, …]`) into members.
 * Non-numeric scores are dropped (nothing BullMQ writes).
 */
export function scoredMembers(flat: readonly unknown[]): ScoredMember[] {
  const out: ScoredMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const score = Number(String(flat[i + 1]));
    if (Number.isFinite(score)) out.push({ id: String(flat[i]), score });
  }
  return out;
}

/**
 * The oldest of band heads: the smallest insertion counter (ties: the lower
 * band, which BullMQ would serve first).
 * @returns its job id, or undefined for no heads
 */
export function oldestHead(heads: readonly ScoredMember[]): string | undefined {
  let best: ScoredMember | undefined;
  for (const h of heads) {
    if (!best || counterOf(h.score) < counterOf(best.score) || (counterOf(h.score) === counterOf(best.score) && h.score < best.score)) best = h;
  }
  return best?.id;
}
