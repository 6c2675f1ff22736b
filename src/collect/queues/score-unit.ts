/**
 * ZSETs scored by time (a delay queue's due times, a list's timeline of
 * enqueue times) hold unix seconds or unix milliseconds, whichever the
 * producer writes. A score names its unit: above {@link MS_SCORE} it is
 * milliseconds. The first batch asks for one score (ZRANGE … WITHSCORES);
 * its follow-up counts in that unit only ({@link CountsInUnit}), so a scrape
 * no longer sends every ZCOUNT twice, once per unit, and reads half of them
 * (issue 14: 600 wasted commands per reference scrape, 2,000 at 10,000
 * queues), and a ZSET that is empty needs no counts at all.
 */
import type { Command, Reply } from '../../redis/command.js';
import { int } from '../replies.js';
import { put } from '../series.js';
import { resolveCommand, type FollowUp, type PlannedCommand, type SampleSink, type Series } from '../types.js';

/** Scores above this are milliseconds (1e11 s is the year 5138). */
export const MS_SCORE = 1e11;

/** What the probe of one score tells its follow-up: the unit, and the scrape clock (unix ms) to count at. */
export interface ScoreUnit {
  readonly inMs: boolean;
  readonly nowMs: number;
}

/** The unit `score` (a ZRANGE WITHSCORES score, as a number) is in, at `nowMs`. */
export function scoreUnit(score: number, nowMs: number): ScoreUnit {
  return { inMs: score > MS_SCORE, nowMs };
}

/**
 * ZCOUNTs planned in both units (the scrape clock as `clock()` arguments);
 * the follow-up sends those of the probed unit, resolved at the scrape clock,
 * and writes the i-th count to the i-th series.
 */
export class CountsInUnit implements FollowUp<ScoreUnit> {
  /**
   * @param seconds the ZCOUNTs with scores in unix seconds
   * @param ms the same ZCOUNTs with scores in unix milliseconds
   * @param series one per ZCOUNT, in order
   */
  constructor(
    private readonly key: string,
    private readonly seconds: readonly PlannedCommand[],
    private readonly ms: readonly PlannedCommand[],
    private readonly series: readonly Series[],
  ) {}

  commands(unit: ScoreUnit): readonly Command[] {
    const planned = unit.inMs ? this.ms : this.seconds;
    const out = new Array<Command>(planned.length);
    for (let i = 0; i < planned.length; i++) out[i] = resolveCommand(planned[i]!, unit.nowMs);
    return out;
  }

  /** @throws ReplyError for a reply that is not an integer (the step's other counts are then skipped too) */
  read(replies: readonly Reply[], _unit: ScoreUnit, sink: SampleSink): void {
    for (let i = 0; i < this.series.length; i++) put(sink, this.series[i]!, int(replies[i], 'ZCOUNT', this.key));
  }

  /** Writes 0 to every series (the ZSET is empty: nothing to count). */
  none(sink: SampleSink): void {
    for (const s of this.series) put(sink, s, 0);
  }
}
