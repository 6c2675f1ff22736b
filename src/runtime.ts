/**
 * Everything one configuration runs: the Redis connection and its batch
 * executor, the collectors of declared queues and components, discovery, the
 * MySQL collector, and the scrape engine over them. A config reload builds a
 * new Runtime and closes the old one, so no collector ever sees half a config.
 */
import type { Logger } from 'pino';
import type { Config, QueueConfig } from './config/schema.js';
import { ComponentsCollector } from './collect/components.js';
import { ScrapeEngine, type SideCollector } from './collect/engine.js';
import { MysqlCollector } from './collect/mysql.js';
import { addDefaultThresholds, LayoutCollector, type QueueIdentity } from './collect/queues/layout.js';
import type { ListQueue } from './collect/queues/list.js';
import { DECLARABLE } from './collect/queues/registry.js';
import type { StreamQueue } from './collect/queues/stream.js';
import type { ZsetQueue } from './collect/queues/zset.js';
import type { RedisCollector } from './collect/types.js';
import { Discovery } from './discovery/discovery.js';
import { createExecutor } from './redis/executor.js';
import type { BatchExecutor } from './redis/batch.js';

/**
 * A declared queue with its `name` resolved (defaults to the key): the config
 * object itself when it names the queue (no second copy of every queue's
 * config held by the plan), else a copy with the key as its name.
 */
function named<Q extends QueueConfig>(q: Q): Omit<Q, 'name'> & { name: string } {
  return q.name !== undefined ? (q as Q & { name: string }) : { ...q, name: q.key };
}

/**
 * Declared queues by `type` (every declarable framework present, possibly
 * empty), names resolved.
 */
export function declaredQueues(queues: readonly QueueConfig[]): { list: ListQueue[]; stream: StreamQueue[]; zset: ZsetQueue[] } & Record<string, QueueIdentity[]> {
  const out: Record<string, QueueIdentity[]> = {};
  for (const f of DECLARABLE) out[f.name] = [];
  for (const q of queues) out[q.type]?.push(named(q) as QueueIdentity);
  return out as { list: ListQueue[]; stream: StreamQueue[]; zset: ZsetQueue[] } & Record<string, QueueIdentity[]>;
}

/** One collector per declarable framework with declared queues, in {@link DECLARABLE} order. */
function declaredCollectors(queues: readonly QueueConfig[]): RedisCollector[] {
  const declared = declaredQueues(queues);
  const out: RedisCollector[] = [];
  for (const f of DECLARABLE) {
    const qs = declared[f.name] ?? [];
    if (qs.length > 0) out.push(new LayoutCollector(f.layout, () => qs));
  }
  return out;
}

/** What a Runtime may be handed instead of building it from the config. */
export interface RuntimeOptions {
  /**
   * The batch executor to read Redis through (benchmarks, tests); default
   * {@link createExecutor} over `config.redis`. The Runtime closes it.
   */
  readonly executor?: BatchExecutor;
}

export class Runtime {
  readonly engine: ScrapeEngine;
  readonly executor: BatchExecutor;
  readonly discovery: Discovery;
  readonly mysql: MysqlCollector | undefined;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    options: RuntimeOptions = {},
  ) {
    this.executor = options.executor ?? createExecutor(config.redis, log);
    const collectors = declaredCollectors(config.queues);
    if (config.components.length > 0) collectors.push(new ComponentsCollector(() => config.components));

    this.discovery = new Discovery({
      discover: config.discover,
      declared: config.queues.map((q) => ({ name: q.name ?? q.key, key: q.key })),
      scrape: config.scrape,
      executor: this.executor,
      log,
    });

    const side: SideCollector[] = [];
    if (config.mysql) {
      const mysql = new MysqlCollector(config.mysql, log);
      this.mysql = mysql;
      side.push({ name: 'mysql', collect: (sink, deadline, scraper) => mysql.collect(sink, deadline, scraper) });
    }

    this.engine = new ScrapeEngine({
      executor: this.executor,
      collectors: () => [...collectors, ...this.discovery.collectors()],
      side,
      extra: (builder) => {
        addDefaultThresholds(builder);
        this.discovery.addSamples(builder);
      },
      prepare: (deadlineMs) => this.discovery.ready(deadlineMs),
      cacheForMs: config.scrape.cacheFor,
      log,
    });
  }

  /** Starts background work (discovery's interval). */
  start(): void {
    this.discovery.start();
  }

  /** Waits for a collection in flight (bounded by its deadline), then stops discovery and closes every connection. */
  async close(): Promise<void> {
    // A reload swaps runtimes while a scrape may still be collecting on this one:
    // let it finish (it is bounded by its deadline) before its connections go.
    await this.engine.drain();
    await this.discovery.close();
    await Promise.allSettled([this.executor.close(), this.mysql?.close()]);
    this.log.debug('runtime closed');
  }
}
