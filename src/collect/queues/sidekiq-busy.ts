/**
 * Sidekiq's busy jobs, per queue, from each process's records (sidekiq 6.4.1
 * `lib/sidekiq/launcher.rb` `❤`, the same in 7.x / 8.x):
 *
 * - `processes` SET of process identities (`<hostname>:<pid>:<nonce>`);
 * - `<identity>` HASH with `beat` (unix seconds, float, rewritten every 5 s)
 *   and `busy`, EXPIRE 60 s;
 * - `<identity>:workers` HASH thread id → JSON `{"queue": <name>, "payload": …,
 *   "run_at": …}` (`Processor#stats`), rewritten on every beat, EXPIRE 60 s.
 *
 * `Sidekiq::WorkSet` lists the `:workers` entries of every process whose
 * `<identity>` key exists. A process whose last `beat` is older than
 * {@link STALE_BEAT_S} missed four heartbeats: it is dead (SIGKILL, OOM) and
 * its busy jobs are *stuck* until Sidekiq's records expire 60 s after the
 * last beat (the jobs are lost unless Sidekiq Pro's reliable fetch recovers
 * them). Such jobs are counted as `stuck`, not `active`.
 */
import { parseJsonObject } from '../replies.js';

/** A process whose last beat is older than this (seconds) is dead: four missed 5 s heartbeats. */
export const STALE_BEAT_S = 20;

/** Processes read per scrape (each costs HGET beat + HGETALL workers in the second batch). */
export const MAX_PROCESSES = 1000;

/**
 * The queue of each busy job in a `<identity>:workers` HVALS reply (one JSON
 * per busy thread). Entries without a readable queue are skipped.
 */
export function busyQueues(values: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const o = parseJsonObject(String(v));
    if (o && typeof o.queue === 'string') out.push(o.queue);
  }
  return out;
}

/**
 * True when a process is dead at `nowMs`: its hash is gone (beat null) or
 * its beat (unix s) is older than {@link STALE_BEAT_S}.
 */
export function isStale(beat: string | null, nowMs: number): boolean {
  if (beat === null) return true;
  const b = Number(beat);
  return !Number.isFinite(b) || nowMs / 1000 - b > STALE_BEAT_S;
}
