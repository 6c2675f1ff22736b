/**
 * Picks the batch executor for `redis:` config: standalone (url), Sentinel or
 * Cluster. All three present the same {@link BatchExecutor} to the engine.
 */
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { SingleNodeExecutor, type BatchExecutor } from './batch.js';
import { connectRedis } from './connection.js';

/**
 * Creates the executor and starts connecting in the background.
 * @throws Error when the config asks for a mode not built yet.
 */
export function createExecutor(cfg: RedisConfig, log: Logger): BatchExecutor {
  if (cfg.sentinel) throw new Error('redis.sentinel is not supported yet');
  if (cfg.cluster) throw new Error('redis.cluster is not supported yet');
  return new SingleNodeExecutor(connectRedis(cfg, log));
}
