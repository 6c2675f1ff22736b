/**
 * Executor for a standalone Redis (`redis.url`): scrape batches go over a
 * {@link RawRedisConnection} (one RESP2 write, one streaming parse, one timer
 * per batch); SCAN paging for discovery, which is not on the hot path, keeps
 * using an ioredis client.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { assertReadOnly, scanNode, whenReady, type BatchExecutor, type BatchResult, type RoutedCommand, type ScanOptions } from './batch.js';
import { connectRedis, tlsOptions } from './connection.js';
import { parseRedisUrl, RawRedisConnection, type RawConnectionOptions } from './raw-connection.js';

/** {@link RawConnectionOptions} for `cfg` (`redis.username`/`password` override the URL's). */
export function rawOptions(cfg: RedisConfig): RawConnectionOptions {
  const target = parseRedisUrl(cfg.url);
  const username = cfg.username !== '' ? cfg.username : target.username;
  const password = cfg.password !== undefined && cfg.password !== '' ? cfg.password : target.password;
  const tls = tlsOptions(cfg);
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    connectTimeoutMs: cfg.connectTimeout,
    name: 'queuescope',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * Standalone executor: {@link exec} over a raw RESP2 socket, {@link scanKeys}
 * over ioredis. Failed batches are logged once per distinct error (URL
 * redacted), like the ioredis connections' state changes.
 */
export class StandaloneExecutor implements BatchExecutor {
  private readonly raw: RawRedisConnection;
  private readonly client: Redis;
  private readonly name: string;
  private lastError = '';

  /** @throws Error when `cfg.url` cannot be parsed (the message has no credentials). */
  constructor(private readonly cfg: RedisConfig, private readonly log: Logger) {
    this.raw = new RawRedisConnection(rawOptions(cfg));
    this.client = connectRedis(cfg, log);
    this.name = redactUrl(cfg.url);
  }

  /** Checks every command is read-only (throws otherwise: a programming error), then sends them as one batch. */
  async exec(commands: readonly RoutedCommand[], deadlineMs: number): Promise<BatchResult> {
    const plain = new Array<RoutedCommand['command']>(commands.length);
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i]!.command;
      assertReadOnly(c);
      plain[i] = c;
    }
    const result = await this.raw.exec(plain, deadlineMs);
    if (!result.ok && result.error !== this.lastError) {
      this.lastError = result.error ?? '';
      this.log.warn({ redis: this.name, err: result.error }, 'redis scrape batch failed');
    } else if (result.ok && this.lastError !== '' && commands.length > 0) {
      this.log.info({ redis: this.name }, 'redis scrape batches succeed again');
      this.lastError = '';
    }
    return result;
  }

  /**
   * SCANs the server to the end through ioredis (waits up to
   * `redis.connectTimeout` for a connection being set up).
   * @throws the connection's error when Redis is unreachable.
   */
  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    if (this.client.status !== 'ready') await whenReady(this.client, Date.now() + this.cfg.connectTimeout);
    await scanNode(this.client, opts, onKeys);
  }

  async close(): Promise<void> {
    await this.raw.close();
    this.client.disconnect();
  }
}
