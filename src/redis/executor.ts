/**
 * Picks the batch executor for `redis:` config: standalone (url), Sentinel or
 * Cluster. All three present the same {@link BatchExecutor} to the engine.
 */
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { SingleNodeExecutor, type BatchExecutor } from './batch.js';
import { ClusterExecutor } from './cluster.js';
import { connectSentinel } from './sentinel.js';
import { StandaloneExecutor } from './standalone.js';

/**
 * Creates the executor and starts connecting in the background; never throws
 * for an unreachable Redis (scrapes report `redis_up 0` until it answers).
 *
 * - `redis.cluster`: {@link ClusterExecutor}, one pipeline per master.
 * - `redis.sentinel`: a {@link SingleNodeExecutor} over the master the
 *   sentinels name, following failovers (see `sentinel.ts`).
 * - otherwise `redis.url`.
 */
export function createExecutor(cfg: RedisConfig, log: Logger): BatchExecutor {
  if (cfg.cluster) return new ClusterExecutor(cfg, log);
  if (cfg.sentinel) return new SingleNodeExecutor(connectSentinel(cfg, log));
  // The hot path: batches as one RESP buffer on a dedicated socket, no per-command objects or timers.
  return new StandaloneExecutor(cfg, log);
}
