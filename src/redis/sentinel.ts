/**
 * Redis Sentinel: the sidecar connects to whichever server the sentinels name
 * as the master of `redis.sentinel.masterName`, and follows failovers without
 * a restart.
 *
 * How (ioredis' SentinelConnector, https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/):
 * every (re)connect asks the sentinels, in turn, `SENTINEL
 * get-master-addr-by-name`, then checks with `INFO replication` that the
 * server really is a master (`role: master`). A failover ends the old
 * connection in two ways: Sentinel kills the clients of the demoted master
 * (`CLIENT KILL TYPE normal` when it reconfigures it), and ioredis' failover
 * detector subscribes to `+switch-master` on the sentinels and drops the
 * connection itself. While the client reconnects, commands fail fast (no
 * offline queue), so scrapes in that gap answer `redis_up 0` rather than
 * wait or read the demoted server.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { ioredis } from './ioredis.js';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.js';
import { parseHostPort } from '../host-port.js';
import { baseOptions, reconnectDelayMs, tlsOptions, watchConnection } from './connection.js';

/**
 * ioredis options for `redis.sentinel`. `sentinel.password` / `username`
 * authenticate to the sentinels; `redis.password` / `username` to the master;
 * `redis.tls` (when set) is used for both.
 * @throws Error when `cfg.sentinel` is missing.
 */
export function sentinelOptions(cfg: RedisConfig): RedisOptions {
  const s = cfg.sentinel;
  if (!s) throw new Error('sentinelOptions needs redis.sentinel');
  const opts: RedisOptions = {
    ...baseOptions(cfg),
    sentinels: s.nodes.map(parseHostPort),
    name: s.masterName,
    role: 'master',
    db: s.db,
    sentinelCommandTimeout: cfg.connectTimeout,
    sentinelRetryStrategy: reconnectDelayMs,
    failoverDetector: true,
  };
  if (s.password) opts.sentinelPassword = s.password;
  if (s.username) opts.sentinelUsername = s.username;
  const tls = tlsOptions(cfg);
  if (tls) {
    opts.enableTLSForSentinelMode = true;
    opts.sentinelTLS = tls;
  }
  return opts;
}

/**
 * Opens (in the background) a client for the current master of
 * `redis.sentinel`. Connection errors are logged once per state change,
 * naming the master group, never thrown.
 */
export function connectSentinel(cfg: RedisConfig, log: Logger): Redis {
  const client = new (ioredis().Redis)(sentinelOptions(cfg));
  watchConnection(client, `sentinel master ${cfg.sentinel?.masterName ?? ''}`, log);
  client.connect().catch(() => {
    // reported through the 'error' handler; the retry strategies keep trying
  });
  return client;
}
