/**
 * One finished collection: the metric families and samples a scrape produced,
 * plus the reasons anything was skipped. Built through {@link CollectionBuilder}
 * (which hands out per-collector {@link SampleSink}s) and then read-only.
 */
import { familyHeader, formatValue, labelText } from './exposition.js';
import { CollectorRun, type CollectorOutcome } from './execute.js';
import type { Family, Sample } from './family.js';
import { FAMILIES, type FamilyDef } from './families.js';
import { parseLines } from './lines.js';
import { viewOf } from './series.js';
import type { Labels, MetricType, SampleSink, Series } from './types.js';

export type { Family, Sample } from './family.js';

/**
 * A family as a collection stores it: its sample lines already written as
 * UTF-8 (`name{labels} value\n`, the same in the text format and
 * OpenMetrics), so a scrape never builds a sample object and the page is the
 * lines joined.
 */
export interface FamilyLines {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Sample lines, each ending in `\n`, in insertion order. */
  readonly bytes: Buffer;
  /** Number of lines. */
  readonly count: number;
}

/**
 * Family buffers a released collection hands to the next builder, by family
 * name (see {@link Collection.release}).
 */
export type RecycledBuffers = Map<string, Buffer>;

/** A finished, immutable collection. */
export class Collection {
  /** True once {@link release} gave the line buffers away. */
  private released = false;

  constructor(
    /** Families by name, in the order their first sample was added. */
    readonly lines: ReadonlyMap<string, FamilyLines>,
    /** Wall clock the collection measured ages against, unix milliseconds. */
    readonly at: number,
    /** Per collector: did it read everything it planned; why not. */
    readonly collectors: ReadonlyMap<string, CollectorOutcome>,
    /** Per family, the whole buffer its lines were written into (what {@link release} hands on). */
    private readonly storage: RecycledBuffers = new Map(),
  ) {}

  /**
   * Gives this collection's line buffers to the next builder, which writes
   * over them (issue 14: a 10,000-queue page is ~2.6 MiB of buffers per
   * scrape, and buffers that outlive a young-generation GC wait for a full
   * one — tens of MiB of RSS between full GCs). Only the scrape engine calls
   * it, on a collection two generations old; reading the lines afterwards
   * throws rather than answering another collection's bytes.
   * @returns the buffers by family name, or undefined when released before
   */
  release(): RecycledBuffers | undefined {
    if (this.released) return undefined;
    this.released = true;
    return this.storage;
  }

  /** @throws Error when the collection was released (a reader held it past two newer collections). */
  private live(): void {
    if (this.released) throw new Error(`the collection of ${new Date(this.at).toISOString()} was released: read a newer one`);
  }

  private readonly renderedAs: { text?: Buffer; openmetrics?: Buffer } = {};
  private readonly decodedAs: { text?: string; openmetrics?: string } = {};
  private readonly parsed = new Map<string, Family>();

  /**
   * This collection's exposition in `format` as UTF-8 bytes, without
   * OpenMetrics' `# EOF` (the caller appends more families). Joined once:
   * every scraper that shares the collection (in flight or via `cacheFor`)
   * gets the same buffer.
   */
  expositionBytes(format: 'text' | 'openmetrics'): Buffer {
    return (this.renderedAs[format] ??= Buffer.concat(this.expositionParts(format)));
  }

  /**
   * The same exposition as pieces in page order (each family's header, then
   * its lines, not copied): gzip deflates them one after the other, so a
   * compressed scrape never holds a second, joined copy of a multi-megabyte
   * page (issue 14, peak memory).
   */
  expositionParts(format: 'text' | 'openmetrics'): Buffer[] {
    this.live();
    const parts: Buffer[] = [];
    for (const f of this.lines.values()) {
      if (f.count === 0) continue;
      parts.push(Buffer.from(familyHeader(f.name, f.type, f.help, format), 'utf8'), f.bytes);
    }
    return parts;
  }

  /** {@link expositionBytes} as a string (decoded once). */
  exposition(format: 'text' | 'openmetrics'): string {
    return (this.decodedAs[format] ??= this.expositionBytes(format).toString('utf8'));
  }

  /**
   * The families with their samples, read back from the lines on first use
   * (the monitor API, tests); the scrape path never needs them.
   */
  get families(): ReadonlyMap<string, Family> {
    const out = new Map<string, Family>();
    for (const name of this.lines.keys()) out.set(name, this.family(name)!);
    return out;
  }

  /** One family read back from its lines (memoised), or undefined when it has no samples. */
  family(name: string): Family | undefined {
    let fam = this.parsed.get(name);
    if (!fam) {
      this.live();
      const f = this.lines.get(name);
      if (!f) return undefined;
      fam = { name: f.name, type: f.type, help: f.help, samples: parseLines(f.bytes.toString('utf8')) };
      this.parsed.set(name, fam);
    }
    return fam;
  }

  /** Samples of `family` whose labels include every pair of `match`. */
  find(family: string, match: Labels = {}): Sample[] {
    const fam = this.family(family);
    if (!fam) return [];
    const keys = Object.keys(match);
    return keys.length === 0 ? fam.samples : fam.samples.filter((s) => keys.every((k) => s.labels[k] === match[k]));
  }

  /** The value of the first sample of `family` matching `match`, or undefined. */
  value(family: string, match: Labels = {}): number | undefined {
    return this.find(family, match)[0]?.value;
  }
}

/** A family being built. */
interface BuildingFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Lines written so far: `buf[0, len)`. */
  buf: Buffer;
  /** `buf` as a DataView (replaced with it). */
  view: DataView;
  len: number;
  count: number;
  /** Label texts already written (duplicates keep the first value). */
  readonly seen: Set<string>;
}

/** Builders made so far (each one's id). */
let builders = 0;

/** First buffer of a family; it doubles as needed. */
const INITIAL_FAMILY_BYTES = 256;

/** Makes room for `n` more bytes in `fam.buf`. */
function reserve(fam: BuildingFamily, n: number): void {
  if (fam.len + n <= fam.buf.length) return;
  let size = fam.buf.length * 2;
  while (size < fam.len + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  fam.buf.copy(next, 0, 0, fam.len);
  fam.buf = next;
  fam.view = viewOf(next);
}

/** Writes the decimal digits of a non-negative integer below 1e15 at `at`; returns the offset after them. */
function writeDigits(buf: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let t = value; t >= 10; t = Math.floor(t / 10)) digits++;
  let v = value;
  let i = at + digits - 1;
  do {
    buf[i--] = 48 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return at + digits;
}

/**
 * Writes `value` and the line's `\n`: integers digit by digit; a value with
 * at most three decimals (ages and durations in seconds, from millisecond
 * clocks) as its integer part, a point and those decimals without trailing
 * zeros; anything else as {@link formatValue} (ASCII). The second form is
 * the text `String(value)` gives: below 1e12 such a decimal is the only one
 * with three decimals or fewer within half an ulp of the value, so it is the
 * shortest that reads back as it (`test/collect/values.test.ts` checks the bytes).
 */
function writeValue(fam: BuildingFamily, value: number): void {
  reserve(fam, 32);
  const buf = fam.buf;
  if (Number.isInteger(value) && value >= 0 && value < 1e15) {
    fam.len = writeDigits(buf, fam.len, value);
  } else if (value > -1e12 && value < 1e12 && Number.isInteger(value * 1000) && (value * 1000) / 1000 === value) {
    let at = fam.len;
    let m = value * 1000;
    if (m < 0) {
      buf[at++] = 45; // -
      m = -m;
    }
    const whole = Math.floor(m / 1000);
    let frac = m - whole * 1000;
    at = writeDigits(buf, at, whole);
    if (frac !== 0) {
      buf[at++] = 46; // .
      let place = 100;
      while (frac !== 0) {
        const d = Math.floor(frac / place);
        buf[at++] = 48 + d;
        frac -= d * place;
        place /= 10;
      }
    }
    fam.len = at;
  } else {
    fam.len += buf.write(formatValue(value), fam.len, 'latin1');
  }
  buf[fam.len++] = 10;
}

function newFamily(name: string, type: MetricType, help: string, hint = 0, recycled?: Buffer): BuildingFamily {
  // A little headroom over last time's size: a few more queues or longer values do not reallocate.
  const size = hint > 0 ? Math.ceil(hint * 1.05) + INITIAL_FAMILY_BYTES : INITIAL_FAMILY_BYTES;
  const buf = recycled !== undefined && recycled.length >= size ? recycled : Buffer.allocUnsafe(size);
  return { name, type, help, buf, view: viewOf(buf), len: 0, count: 0, seen: new Set() };
}

/**
 * Accumulates samples for one collection, writing each as its exposition line
 * at once (no sample objects). Duplicate series (same family and label set)
 * keep the first value: an exposition with duplicates is invalid and
 * Prometheus would reject the whole scrape.
 */
export class CollectionBuilder {
  private readonly families = new Map<string, BuildingFamily>();
  private readonly runs = new Map<string, CollectorRun>();

  /**
   * @param at the collection's wall clock, unix ms
   * @param sizeHints bytes each family took in the previous collection (updated by
   *   {@link finish}): a family's buffer starts that large instead of doubling up to it
   */
  /** Distinguishes this builder's writes in {@link Series.writtenIn}. */
  private readonly id = ++builders;

  constructor(
    private readonly at: number,
    private readonly sizeHints?: Map<string, number>,
    /** Buffers of a released collection to write into (see {@link Collection.release}); taken as used. */
    private readonly recycled?: RecycledBuffers,
  ) {}

  /**
   * The run of `collector` in this collection, started on first use (its
   * clock runs from then). Every sample and failure of a collector goes
   * through its run's sink.
   */
  run(collector: string): CollectorRun {
    let run = this.runs.get(collector);
    if (!run) {
      run = new CollectorRun(collector, this);
      this.runs.set(collector, run);
    }
    return run;
  }

  /** The sink of `collector`'s run (see {@link run}). */
  sink(collector: string): SampleSink {
    return this.run(collector).sink;
  }

  /** Declares a family (see {@link SampleSink.declare}). */
  declare(name: string, type: MetricType, help: string): void {
    if (!this.families.has(name)) this.families.set(name, newFamily(name, type, help, this.sizeHints?.get(name), this.takeRecycled(name)));
  }

  /**
   * Adds a sample to a family from the static table or declared before.
   * A counter sample that is negative or not finite is refused (the last
   * guard for an OpenMetrics page, which is invalid as a whole with one).
   * @returns why the sample was refused, or undefined when it was added.
   * @throws Error for an unknown family (a programming error, not bad input).
   */
  add(family: string, labels: Labels, value: number): string | undefined {
    const fam = this.family(family);
    if (fam.type === 'counter' && !(value >= 0 && value !== Infinity)) return `${family}: counter value ${value} is not a non-negative number`;
    const text = labelText(labels);
    if (fam.seen.has(text)) return undefined;
    fam.seen.add(text);
    const head = family + text + ' ';
    reserve(fam, head.length * 3);
    fam.len += fam.buf.write(head, fam.len, 'utf8');
    writeValue(fam, value);
    fam.count++;
    return undefined;
  }

  /**
   * Adds a sample of a series built at plan time: the line is its prebuilt
   * prefix and the value; a series written twice in one collection keeps the
   * first value ({@link Series.writtenIn}). A counter value that is negative or
   * not finite is refused, as in {@link add}.
   * @returns why the sample was refused, or undefined when it was added.
   * @throws Error for an unknown family (a programming error)
   */
  set(series: Series, value: number): string | undefined {
    if (series.writtenIn === this.id) return undefined;
    const fam = this.family(series.family);
    if (fam.type === 'counter' && !(value >= 0 && value !== Infinity)) return `${series.family}: counter value ${value} is not a non-negative number`;
    series.writtenIn = this.id;
    const { slab, start, end } = series;
    reserve(fam, end - start);
    const buf = fam.buf;
    if (end - start <= 256) {
      // A prefix is tens of bytes: copied four at a time through DataViews made once per
      // slab and family buffer. It allocates nothing (a subarray view per series was
      // 2.4 MiB of garbage per 10,000-queue scrape) and takes about half a byte loop's
      // time in a scrape (the byte loop was ~4 ms of a ~40 ms reference scrape; the same
      // endianness on both sides copies the bytes as they are).
      const src = series.view;
      const dst = fam.view;
      let at = fam.len;
      let i = start;
      for (; i + 4 <= end; i += 4, at += 4) dst.setUint32(at, src.getUint32(i, true), true);
      for (; i < end; i++) buf[at++] = slab[i]!;
      fam.len = at;
    } else {
      buf.set(slab.subarray(start, end), fam.len);
      fam.len += end - start;
    }
    writeValue(fam, value);
    fam.count++;
    return undefined;
  }

  private family(family: string): BuildingFamily {
    let fam = this.families.get(family);
    if (!fam) {
      const def = (FAMILIES as Record<string, FamilyDef>)[family];
      if (!def) throw new Error(`metric family ${family} is not declared`);
      fam = newFamily(family, def.type, def.help, this.sizeHints?.get(family), this.takeRecycled(family));
      this.families.set(family, fam);
    }
    return fam;
  }

  /** The recycled buffer of `family`, if any (each is used once). */
  private takeRecycled(family: string): Buffer | undefined {
    const buf = this.recycled?.get(family);
    if (buf !== undefined) this.recycled!.delete(family);
    return buf;
  }

  /** Freezes the collection; every run reports its success and duration gauges. */
  finish(): Collection {
    for (const run of this.runs.values()) run.report(this);
    const families = new Map<string, FamilyLines>();
    const storage = new Map<string, Buffer>();
    for (const [name, f] of this.families) {
      families.set(name, { name: f.name, type: f.type, help: f.help, bytes: f.buf.subarray(0, f.len), count: f.count });
      storage.set(name, f.buf);
      this.sizeHints?.set(name, f.len);
    }
    // The outcomes as values: a run's sink refers to this builder, which the collection must not keep.
    const outcomes = new Map<string, CollectorOutcome>();
    for (const [name, run] of this.runs) outcomes.set(name, { success: run.success, durationSeconds: run.durationSeconds, failures: run.failures });
    return new Collection(families, this.at, outcomes, storage);
  }
}
