/**
 * Series built once per plan: the label text of a queue's fixed series
 * (`queue_tasks{queue="q",framework="list",state="waiting"}`) is escaped and
 * concatenated when the queue set is planned, so each scrape writes only the
 * value (issue 14: no per-sample objects or label building on the scrape path).
 *
 * The prefixes are packed into shared slabs rather than one Buffer each: a
 * 10,000-queue plan holds ~48,000 series, and a Buffer per series costs a
 * ~100-byte heap object beside its bytes (and a labels object with its own
 * hidden class) — ~10 MiB of live heap that every major GC walks.
 */
import { labelText } from './exposition.js';
import { parseLines } from './lines.js';
import type { Labels, SampleSink, Series } from './types.js';

/** Slab size: big enough that a plan needs few, small enough that a retired plan's slabs are freed with it. */
const SLAB_BYTES = 64 * 1024;

/** A DataView over all of `bytes` (a slab's, a family buffer's: prefixes are copied through them). */
export function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabView = viewOf(slab);
let used = 0;

/** The series `family{labels}` (labels in the order given). */
export function series(family: string, labels: Labels): Series {
  const text = `${family}${labelText(labels)} `;
  const length = Buffer.byteLength(text, 'utf8');
  let into: Buffer;
  let view: DataView;
  let start: number;
  if (length > SLAB_BYTES / 4) {
    // A very long label set gets a buffer of its own instead of wasting a slab's tail.
    into = Buffer.allocUnsafeSlow(length);
    view = viewOf(into);
    start = 0;
  } else {
    if (used + length > SLAB_BYTES) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabView = viewOf(slab);
      used = 0;
    }
    into = slab;
    view = slabView;
    start = used;
    used += length;
  }
  into.write(text, start, length, 'utf8');
  // writtenIn starts as 0 (no builder has that id): every series has one shape from the start
  return { family, slab: into, view, start, end: start + length, writtenIn: 0 };
}

/** The line prefix of `s` (`family{labels} `) as text. */
export function seriesText(s: Series): string {
  return s.slab.toString('utf8', s.start, s.end);
}

/** The labels of `s`, read back from its prefix (for sinks without `set`: tests, not the scrape path). */
export function seriesLabels(s: Series): Labels {
  return parseLines(`${seriesText(s)}0`)[0]!.labels;
}

/** Writes `value` for `s` into `sink` (through `sink.set` when it has one, else `add`). */
export function put(sink: SampleSink, s: Series, value: number): void {
  if (sink.set) sink.set(s, value);
  else sink.add(s.family, seriesLabels(s), value);
}
