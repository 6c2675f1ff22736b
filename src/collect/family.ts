/**
 * A metric family as the engine hands it to the exposition writer: name,
 * type, help and its samples in insertion order.
 */
import type { Labels, MetricType } from './types.js';

/** One sample of a family. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** Sample name when it differs from the family's (histogram `_bucket`, `_sum`, `_count`). */
  readonly name?: string;
}

/** A metric family with its samples, in insertion order. */
export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}
