/**
 * Series built once per plan: the label text of a queue's fixed series
 * (`queue_tasks{queue="q",framework="list",state="waiting"}`) is escaped and
 * concatenated when the queue set is planned, so each scrape writes only the
 * value (issue 14: no per-sample objects or label building on the scrape path).
 */
import { labelText } from './exposition.js';
import type { Labels, SampleSink, Series } from './types.js';

/** The series `family{labels}` (labels in the order given). */
export function series(family: string, labels: Labels): Series {
  // writtenIn starts as 0 (no builder has that id): every series has one shape from the start
  return { family, labels, bytes: Buffer.from(`${family}${labelText(labels)} `, 'utf8'), writtenIn: 0 };
}

/** Writes `value` for `s` into `sink` (through `sink.set` when it has one, else `add`). */
export function put(sink: SampleSink, s: Series, value: number): void {
  if (sink.set) sink.set(s, value);
  else sink.add(s.family, s.labels, value);
}
