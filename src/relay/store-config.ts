/**
 * Facts about `notify.store` that both the config loader and the relay need:
 * where the SQLite file lives, and whether `notify.store.redis` points at the
 * monitored Redis (which the relay must never write to unless told so).
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';

/** `notify.store.path` when the config does not set one, relative to the config file's folder (shared/spec/config.md). */
export const DEFAULT_STORE_PATH = './data/outbox';

/** File name of the local outbox inside `notify.store.path`. */
export const STORE_FILE = 'outbox.sqlite';

/** The SQLite file of the local outbox: `<notify.store.path>/outbox.sqlite`. */
export function storeFile(storePath: string): string {
  return join(storePath, STORE_FILE);
}

/** `host:port` of a redis:// URL, lower-cased, port defaulted to 6379; undefined if unparsable. */
export function redisEndpoint(url: string): string | undefined {
  try {
    const u = new URL(url);
    const host = u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    const local = host === 'localhost' || host === '::1' || host.startsWith('127.') ? 'loopback' : host;
    return `${local}:${u.port || '6379'}`;
  } catch {
    return undefined;
  }
}

/**
 * Why `notify.store.redis` may not be used as configured: it names the same
 * server (host and port, any database) as `redis.url`, a sentinel or a
 * cluster node, and `notify.store.allowMonitoredRedis` is not set.
 * The relay writes its outbox, budget and de-duplication keys there, and
 * queuescope never writes to the Redis it monitors unless asked on purpose.
 * @returns the reason, or undefined when the store may be used.
 */
export function monitoredRedisConflict(config: Pick<Config, 'redis' | 'notify'>): string | undefined {
  const store = config.notify.store;
  if (!store.redis || store.allowMonitoredRedis) return undefined;
  const mine = redisEndpoint(store.redis);
  if (mine === undefined) return undefined;
  const monitored = [
    config.redis.url,
    ...(config.redis.sentinel?.nodes ?? []).map((n) => `redis://${n}`),
    ...(config.redis.cluster?.nodes ?? []).map((n) => `redis://${n}`),
  ];
  if (!monitored.some((u) => redisEndpoint(u) === mine)) return undefined;
  return 'is the monitored Redis (same host and port as redis.*): the relay writes its outbox there; use a dedicated instance, or set notify.store.allowMonitoredRedis: true on purpose';
}
