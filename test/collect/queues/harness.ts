/**
 * A scrape over real Redis for the layout tests: the engine with a pinned
 * clock, a sidecar connection configured like production (no offline queue),
 * and the exposition parsed back for assertions.
 */
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Collection } from '../../../src/collect/collection.js';
import { ScrapeEngine } from '../../../src/collect/engine.js';
import { render } from '../../../src/collect/exposition.js';
import type { RedisCollector } from '../../../src/collect/types.js';
import { SingleNodeExecutor } from '../../../src/redis/batch.js';
import { parseExposition, seriesKey } from '../../helpers/exposition.js';

export const silent: Logger = pino({ level: 'silent' });

/** Opens the sidecar's own connection to `url`, as `src/redis/connection.ts` tunes it. */
export async function sidecarConnection(url: string): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => 50 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export interface Scraped {
  readonly series: Map<string, number>;
  readonly collection: Collection;
  /** value of `name{labels}` or undefined */
  get(name: string, labels?: Record<string, string>): number | undefined;
}

/** One collection with `collectors` at `nowMs`. */
export async function scrapeOnce(client: Redis, collectors: () => readonly RedisCollector[], nowMs: number, extra?: Partial<ConstructorParameters<typeof ScrapeEngine>[0]>): Promise<Scraped> {
  const engine = new ScrapeEngine({ executor: new SingleNodeExecutor(client), collectors, cacheForMs: 0, log: process.env.QS_TEST_LOG ? pino({ level: 'debug' }) : silent, now: () => nowMs, ...extra });
  const collection = await engine.collect(Date.now() + 5000);
  const series = parseExposition(render(collection.families.values(), 'text'));
  return { series, collection, get: (name, labels = {}) => series.get(seriesKey(name, labels)) };
}
