/**
 * queuescope's side of a real-framework test: discovery and one scrape with the
 * sidecar's own Discovery and ScrapeEngine, the clock pinned to `nowMs` so a
 * test can look at a moment past a lease or heartbeat without sleeping.
 */
import type { Redis } from 'ioredis';
import type { Config, DiscoverConfig } from '../../../../src/config/schema.js';
import { Discovery } from '../../../../src/discovery/discovery.js';
import { SingleNodeExecutor } from '../../../../src/redis/batch.js';
import { scrapeOnce, silent, type Scraped } from '../harness.js';

const scrape: Config['scrape'] = { timeout: 5000, cacheFor: 0, discoveryInterval: 60_000, scanCount: 200, maxQueues: 1000 };

/** Discovery for `discover` (declared queues: none), then one collection at `nowMs` (unix ms). */
export async function scrapeFrameworks(client: Redis, discover: DiscoverConfig[], nowMs: number): Promise<Scraped> {
  const discovery = new Discovery({ discover, declared: [], scrape, executor: new SingleNodeExecutor(client), log: silent });
  try {
    await discovery.refresh();
    return await scrapeOnce(client, () => discovery.collectors(), nowMs, { extra: (b) => discovery.addSamples(b) });
  } finally {
    await discovery.close();
  }
}

/** `queue_tasks` of one queue as state -> value. */
export function statesOf(s: Scraped, framework: string, queue: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of s.collection.find('queue_tasks', { framework, queue })) out[x.labels.state!] = x.value;
  return out;
}
