/**
 * Executor for a standalone Redis (`redis.url`): scrape batches go over a
 * {@link RawRedisConnection} (one RESP2 write, one streaming parse, one timer
 * per batch); SCAN paging for discovery goes over a second one, so a long
 * discovery never queues scrape batches behind it. Both have the same
 * deadlines (`redis.commandTimeout` per SCAN page) and reply caps: nothing
 * Redis sends is read without a bound (issue 10 #4).
 */
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { assertReadOnly, type BatchExecutor, type BatchResult, type RoutedCommand, type ScanOptions } from './batch.js';
import { tlsOptions } from './connection.js';
import type { Command } from './command.js';
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
    limits: { maxBulkBytes: cfg.maxBulkBytes, maxReplyBytes: cfg.maxReplyBytes, maxReplyElements: cfg.maxReplyElements },
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * Standalone executor: {@link exec} and {@link scanKeys} over raw RESP2
 * sockets (one each). Failed batches are logged once per distinct error (URL
 * redacted).
 */
export class StandaloneExecutor implements BatchExecutor {
  private readonly raw: RawRedisConnection;
  /** The discovery connection: SCAN pages, each with its own deadline. */
  private readonly scan: RawRedisConnection;
  private readonly name: string;
  private lastError = '';

  /** @throws Error when `cfg.url` cannot be parsed (the message has no credentials). */
  constructor(private readonly cfg: RedisConfig, private readonly log: Logger) {
    const opts = rawOptions(cfg);
    this.raw = new RawRedisConnection(opts);
    this.scan = new RawRedisConnection(opts);
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
   * SCANs the server to the end, one page per round trip, each page bounded
   * by `redis.connectTimeout + redis.commandTimeout` (a silent or stopped
   * server fails the pass instead of hanging it) and by the reply caps.
   * @throws Error with the reason when a page fails (unreachable, deadline, error reply).
   */
  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    let cursor = '0';
    do {
      const command: Command = opts.type
        ? ['SCAN', cursor, 'MATCH', opts.match, 'COUNT', opts.count, 'TYPE', opts.type]
        : ['SCAN', cursor, 'MATCH', opts.match, 'COUNT', opts.count];
      const result = await this.scan.exec([command], Date.now() + this.cfg.connectTimeout + this.cfg.commandTimeout);
      if (!result.ok) throw new Error(result.error ?? 'redis SCAN failed');
      const [err, value] = result.replies[0] ?? [new Error('no reply to SCAN'), null];
      if (err) throw err;
      const page = value as unknown;
      if (!Array.isArray(page) || page.length !== 2 || typeof page[0] !== 'string' || !Array.isArray(page[1])) throw new Error('SCAN answered something other than [cursor, keys]');
      cursor = page[0];
      const keys = (page[1] as unknown[]).filter((k): k is string => typeof k === 'string');
      if (keys.length > 0 && onKeys(keys) === false) return;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await Promise.all([this.raw.close(), this.scan.close()]);
  }
}
