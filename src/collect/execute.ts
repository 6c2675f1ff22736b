/**
 * One collector's run within one scrape (node_exporter's `execute()`): it
 * starts a clock, hands out the sink the collector writes through, collects
 * the reasons anything was skipped, and at the end is the only place that
 * sets `queuescope_scrape_collector_success` (1 when nothing was skipped) and
 * `queuescope_scrape_collector_duration_seconds`.
 */
import type { Labels, SampleSink, Series } from './types.js';
import { seriesLabels } from './series.js';

/** What a finished run reports (the monitor API and the failure log read it). */
export interface CollectorOutcome {
  readonly success: boolean;
  /** Wall time of the run, seconds. */
  readonly durationSeconds: number;
  /** Why values were skipped, in the order they were reported. */
  readonly failures: readonly string[];
}

/** Where a run's samples go (the collection builder). */
export interface SampleTarget {
  declare: SampleSink['declare'];
  /** @returns why the sample was refused (a negative counter), or undefined. */
  add(family: string, labels: Labels, value: number): string | undefined | void;
  /** A series built at plan time (see `Series`); targets without it get `add`. */
  set?(series: Series, value: number): string | undefined | void;
}

export class CollectorRun implements CollectorOutcome {
  private readonly startedAt = performance.now();
  private endedAt: number | undefined;
  readonly failures: string[] = [];
  /** The sink this collector writes through: samples to the target, failures to this run. */
  readonly sink: SampleSink;

  constructor(
    /** `collector` label value. */
    readonly name: string,
    target: SampleTarget,
  ) {
    this.sink = {
      declare: (family, type, help) => target.declare(family, type, help),
      add: (family, labels, value) => {
        if (Number.isNaN(value)) {
          this.failures.push(`${family}: value is not a number`);
          return;
        }
        const refused = target.add(family, labels, value);
        if (refused) this.failures.push(refused);
      },
      set: (series, value) => {
        if (Number.isNaN(value)) {
          this.failures.push(`${series.family}: value is not a number`);
          return;
        }
        const refused = target.set ? target.set(series, value) : target.add(series.family, seriesLabels(series), value);
        if (refused) this.failures.push(refused);
      },
      fail: (reason) => void this.failures.push(reason),
    };
  }

  /** True while nothing was skipped. */
  get success(): boolean {
    return this.failures.length === 0;
  }

  /** Seconds from the start to {@link end} (or to now while running). */
  get durationSeconds(): number {
    return ((this.endedAt ?? performance.now()) - this.startedAt) / 1000;
  }

  /** Stops the clock; later calls keep the first end. */
  end(): void {
    this.endedAt ??= performance.now();
  }

  /** Adds this run's success and duration gauges (stopping the clock if still running). */
  report(target: SampleTarget): void {
    this.end();
    target.add('queuescope_scrape_collector_success', { collector: this.name }, this.success ? 1 : 0);
    target.add('queuescope_scrape_collector_duration_seconds', { collector: this.name }, this.durationSeconds);
  }
}
