/**
 * Discovery of framework queues (asynq, BullMQ, Sidekiq, Celery, RQ, streams
 * and lists by pattern) on its own interval, cached between scrapes.
 *
 * Placeholder until the framework layouts land: it finds nothing.
 */
import type { Logger } from 'pino';
import type { CollectionBuilder } from '../collect/collection.js';
import type { RedisCollector } from '../collect/types.js';
import type { Config, DiscoverConfig } from '../config/schema.js';
import type { BatchExecutor } from '../redis/batch.js';

export interface DiscoveryOptions {
  /** `discover:` entries; undefined = the built-in default (every framework). */
  readonly discover: readonly DiscoverConfig[] | undefined;
  /** Declared queues (they win over discovered ones with the same key). */
  readonly declared: readonly { name: string; key: string }[];
  readonly scrape: Config['scrape'];
  readonly executor: BatchExecutor;
  readonly log: Logger;
}

export class Discovery {
  constructor(private readonly opts: DiscoveryOptions) {}

  /** Starts the first pass and the interval. */
  start(): void {
    void this.opts;
  }

  /**
   * Resolves when the first pass has finished, or at `deadlineMs` (absolute
   * unix ms) if it is still running, whichever is first. Never rejects.
   */
  async ready(_deadlineMs: number): Promise<void> {}

  /** Collectors over the queues found by the last pass. */
  collectors(): RedisCollector[] {
    return [];
  }

  /** Adds discovery's own gauges to a collection. */
  addSamples(_builder: CollectionBuilder): void {}

  /** Stops the interval. */
  async close(): Promise<void> {}
}
