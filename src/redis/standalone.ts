/**
 * Executor for a standalone Redis (`redis.url`): scrape batches and
 * discovery's SCAN pages go over one {@link RawRedisConnection} (one RESP2
 * write, one streaming parse, one timer per batch), so one connection, with
 * one rule for a failed batch, is held to the monitored Redis.
 */
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { Outage } from '../log-once.js';
import { assertReadOnly, failAll, type BatchExecutor, type BatchResult, type ReplyConsumer, type RoutedCommand, type ScanOptions } from './batch.js';
import type { Command } from './command.js';
import { tlsOptions } from './connection.js';
import { parseRedisUrl, RawRedisConnection, type RawConnectionOptions } from './raw-connection.js';
import { encodeCommands } from './resp.js';

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
 * Standalone executor over one raw RESP2 socket. Failed batches are logged
 * once per distinct error (URL redacted), and once more when batches succeed
 * again, like the ioredis connections' state changes.
 */
export class StandaloneExecutor implements BatchExecutor {
  private readonly raw: RawRedisConnection;
  private readonly name: string;
  private readonly outage = new Outage();

  /** @throws Error when `cfg.url` cannot be parsed (the message has no credentials). */
  constructor(private readonly cfg: RedisConfig, private readonly log: Logger) {
    this.raw = new RawRedisConnection(rawOptions(cfg));
    this.name = redactUrl(cfg.url);
  }

  /**
   * Checks every command is read-only (throws otherwise: a programming error), then sends them as one batch.
   * A {@link RoutedCommand.reused} command is checked and encoded on its first send only; later
   * scrapes copy its bytes (issue 14: the planned batch is not re-encoded every scrape).
   */
  async exec(commands: readonly RoutedCommand[], deadlineMs: number, onReply?: ReplyConsumer): Promise<BatchResult> {
    const n = commands.length;
    const plain = new Array<RoutedCommand['command']>(n);
    let encoded: (Buffer | undefined)[] | undefined;
    for (let i = 0; i < n; i++) {
      const rc = commands[i]!;
      const c = rc.command;
      plain[i] = c;
      if (!rc.wire) {
        assertReadOnly(c);
        if (!rc.reused) continue;
        try {
          rc.wire = encodeCommands([c]);
        } catch (err) {
          return failAll(n, (err as Error).message);
        }
      }
      (encoded ??= new Array<Buffer | undefined>(n))[i] = rc.wire;
    }
    const result = await this.raw.exec(plain, deadlineMs, onReply, encoded);
    if (!result.ok) {
      if (this.outage.fail(result.error ?? '')) this.log.warn({ redis: this.name, err: result.error }, 'redis scrape batch failed');
    } else if (commands.length > 0 && this.outage.recover()) {
      this.log.info({ redis: this.name }, 'redis scrape batches succeed again');
    }
    return result;
  }

  /**
   * SCANs the server to the end, one page per batch on the same connection;
   * each page may take `redis.connectTimeout` (to connect) plus
   * `redis.commandTimeout`.
   * @throws Error with the connection's reason when a page fails (Redis unreachable).
   */
  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    let cursor = '0';
    do {
      const command: Command = ['SCAN', cursor, 'MATCH', opts.match, 'COUNT', opts.count, ...(opts.type ? ['TYPE', opts.type] : [])];
      const result = await this.raw.exec([command], Date.now() + this.cfg.connectTimeout + this.cfg.commandTimeout);
      const [err, page] = result.replies[0] ?? [new Error(result.error ?? 'no reply'), null];
      if (!result.ok || err) throw err ?? new Error(result.error ?? 'redis batch failed');
      if (!Array.isArray(page) || page.length !== 2 || !Array.isArray(page[1])) throw new Error('SCAN: unexpected reply');
      cursor = String(page[0]);
      const keys = (page[1] as unknown[]).map((k) => String(k));
      if (keys.length > 0 && onKeys(keys) === false) return;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.raw.close();
  }
}
