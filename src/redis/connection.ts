/**
 * The sidecar's connection to a monitored Redis (standalone or TLS; Sentinel
 * and Cluster are added beside it). Tuned for an exporter: commands fail fast
 * while disconnected (no offline queue, so a dead Redis costs a scrape
 * nothing but `redis_up 0`), and reconnection runs in the background so a
 * restarted Redis is picked up without restarting the sidecar.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import { ioredis } from './ioredis.js';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { redactUrl } from '../config/redact.js';
import { MAX_TLS_FILE_BYTES, readBoundedFileSync } from '../config/secret-files.js';
import { Outage } from '../log-once.js';

/**
 * A TLS file's bytes, with the loader's checks (a regular file under 1 MiB,
 * opened without blocking): the loader refused anything else already, this
 * keeps a file swapped for a FIFO since then from freezing a reload.
 * @throws Error naming the key and the reason (never the content).
 */
function tlsFile(path: string, key: string): Buffer {
  const read = readBoundedFileSync({ path, maxBytes: MAX_TLS_FILE_BYTES });
  if (!read.ok) throw new Error(`redis.tls.${key}: cannot read "${path}": ${read.reason}`);
  return read.content;
}

/** TLS options from config file paths (`redis.tls`), or undefined when TLS is off. */
export function tlsOptions(cfg: Pick<RedisConfig, 'tls' | 'url'>): ConnectionOptions | undefined {
  const t = cfg.tls;
  const wantTls = cfg.url.startsWith('rediss://') || t.ca !== '' || t.cert !== '' || t.key !== '';
  if (!wantTls) return undefined;
  const opts: ConnectionOptions = {};
  if (t.ca) opts.ca = tlsFile(t.ca, 'ca');
  if (t.cert) opts.cert = tlsFile(t.cert, 'cert');
  if (t.key) opts.key = tlsFile(t.key, 'key');
  if (t.servername) opts.servername = t.servername;
  if (t.insecureSkipVerify) opts.rejectUnauthorized = false;
  return opts;
}

/**
 * Delay before reconnect attempt `times` (1, 2, …), ms: 200 ms doubling up to
 * 2 s, forever (a restarted Redis must heal on its own, without hammering it).
 * Every client to a monitored Redis (standalone, Sentinel, Cluster) uses it.
 */
export function reconnectDelayMs(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2000);
}

/** ioredis options shared by every connection the sidecar opens to a monitored Redis. */
export function baseOptions(cfg: RedisConfig): RedisOptions {
  const opts: RedisOptions = {
    connectTimeout: cfg.connectTimeout,
    commandTimeout: cfg.commandTimeout,
    // Fail fast while disconnected: a scrape must answer redis_up 0, not wait.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    enableReadyCheck: true,
    retryStrategy: reconnectDelayMs,
    connectionName: 'queuescope',
  };
  if (cfg.username) opts.username = cfg.username;
  if (cfg.password) opts.password = cfg.password;
  const tls = tlsOptions(cfg);
  if (tls) opts.tls = tls;
  return opts;
}

/**
 * Opens (lazily; the first connect starts in the background) a client for
 * `cfg.url`. Connection errors are logged once per state change with the URL
 * redacted, never thrown.
 */
export function connectRedis(cfg: RedisConfig, log: Logger): Redis {
  const client = new (ioredis().Redis)(cfg.url, baseOptions(cfg));
  watchConnection(client, redactUrl(cfg.url), log);
  client.connect().catch(() => {
    // reported through the 'error' handler; the retry strategy keeps trying
  });
  return client;
}

/** Logs connection state changes (not every retry) for a client. */
export function watchConnection(client: Pick<Redis, 'on'>, name: string, log: Logger): void {
  const outage = new Outage();
  client.on('error', (err: Error) => {
    if (outage.fail(err.message)) log.warn({ redis: name, err: err.message }, 'redis connection error');
  });
  client.on('ready', () => {
    if (outage.recover()) log.info({ redis: name }, 'redis connection restored');
  });
}
