/**
 * One finished collection: the metric families and samples a scrape produced,
 * plus the reasons anything was skipped. Built through {@link CollectionBuilder}
 * (which hands out per-collector {@link SampleSink}s) and then read-only.
 */
import { render } from './exposition.js';
import { CollectorRun, type CollectorOutcome } from './execute.js';
import type { Family, Sample } from './family.js';
import { FAMILIES, type FamilyDef } from './families.js';
import type { Labels, MetricType, SampleSink } from './types.js';

export type { Family, Sample } from './family.js';

/** A finished, immutable collection. */
export class Collection {
  constructor(
    /** Families by name, in declaration order. */
    readonly families: ReadonlyMap<string, Family>,
    /** Wall clock the collection measured ages against, unix milliseconds. */
    readonly at: number,
    /** Per collector: did it read everything it planned; why not. */
    readonly collectors: ReadonlyMap<string, CollectorOutcome>,
  ) {}

  private readonly renderedAs: { text?: string; openmetrics?: string } = {};

  /**
   * This collection's exposition in `format`, without OpenMetrics' `# EOF`
   * (the caller appends more families). Rendered once: every scraper that
   * shares the collection (in flight or via `cacheFor`) gets the same text.
   */
  exposition(format: 'text' | 'openmetrics'): string {
    return (this.renderedAs[format] ??= render(this.families.values(), format, false));
  }

  /** Samples of `family` whose labels include every pair of `match`. */
  find(family: string, match: Labels = {}): Sample[] {
    const fam = this.families.get(family);
    if (!fam) return [];
    const keys = Object.keys(match);
    return fam.samples.filter((s) => keys.every((k) => s.labels[k] === match[k]));
  }

  /** The value of the first sample of `family` matching `match`, or undefined. */
  value(family: string, match: Labels = {}): number | undefined {
    return this.find(family, match)[0]?.value;
  }
}

/**
 * Accumulates samples for one collection. Duplicate series (same family and
 * label values) keep the first value: an exposition with duplicates is
 * invalid and Prometheus would reject the whole scrape.
 */
export class CollectionBuilder {
  private readonly families = new Map<string, Family & { seen: Set<string> }>();
  private readonly runs = new Map<string, CollectorRun>();

  constructor(private readonly at: number) {}

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
    if (!this.families.has(name)) this.families.set(name, { name, type, help, samples: [], seen: new Set() });
  }

  /**
   * Adds a sample to a family from the static table or declared before.
   * @throws Error for an unknown family (a programming error, not bad input).
   */
  add(family: string, labels: Labels, value: number): void {
    let fam = this.families.get(family);
    if (!fam) {
      const def = (FAMILIES as Record<string, FamilyDef>)[family];
      if (!def) throw new Error(`metric family ${family} is not declared`);
      fam = { name: family, type: def.type, help: def.help, samples: [], seen: new Set() };
      this.families.set(family, fam);
    }
    let key = '';
    for (const k in labels) key += `${labels[k]}\u0000`;
    if (fam.seen.has(key)) return;
    fam.seen.add(key);
    fam.samples.push({ labels, value });
  }

  /** Freezes the collection; every run reports its success and duration gauges. */
  finish(): Collection {
    for (const run of this.runs.values()) run.report(this);
    const families = new Map<string, Family>();
    for (const [name, f] of this.families) families.set(name, { name: f.name, type: f.type, help: f.help, samples: f.samples });
    return new Collection(families, this.at, new Map(this.runs));
  }
}
