/**
 * The shared outbox: every relay replica stores what it accepts in one Redis
 * (`notify.store.redis`, a dedicated instance), so the replicas act as one
 * robot client:
 *
 * - one sender per robot at a time: a lease (`SET NX PX`, renewed while it
 *   sends) — a replica that dies mid-send stops renewing, another one takes
 *   the lease after the TTL and re-sends what the dead one had claimed;
 * - one sliding-window budget per robot, reserved atomically in a ZSET by a
 *   Lua script (redis-scripts.ts), so no robot sees more than the limit in any
 *   window whichever replica sends;
 * - de-duplication of the same notification reaching several replicas (the
 *   Alertmanager HA fan-out): the accept script refuses a de-duplication key
 *   seen within the window;
 * - supersede by group inside the accept script, as the local store does.
 *
 * Redis acknowledges a write once it is in memory (and, with `appendonly yes`
 * and `appendfsync always`, on disk): run the store's Redis with AOF for the
 * same durability as the local store (README, "relay store").
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { ioredis } from '../redis/ioredis.js';
import type { WebhookPayload } from './payload.js';
import { ACCEPT, ACQUIRE, COMPLETE, FINISH, RELEASE, RESERVE, UNCLAIM } from './redis-scripts.js';
import {
  DEDUPE_WINDOW_MS,
  StoreFullError,
  type AcceptOutcome,
  type LeaseResult,
  type QueueHead,
  type QueueStats,
  type RelayStore,
  type RobotBudget,
  type StoredEntry,
} from './store.js';

/** Key prefix; the hash tag keeps every key in one cluster slot. */
export const REDIS_STORE_PREFIX = 'queuescope:relay:{outbox}:';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** `notify.store.redis` */
  url: string;
  /** hard cap on stored payload bytes, shared by every replica */
  maxBytes: number;
  /** sender lease TTL, ms (renewed well before it ends) */
  leaseMs: number;
  /** extra spacing on the rate window, ms */
  marginMs?: number;
  /** this replica's lease owner id (default: `host:pid:random`) */
  owner?: string;
  /** called with connection errors (ioredis reconnects by itself) */
  onError?: (err: Error) => void;
}

type Scripted = Redis & {
  qsAccept(...args: (string | number)[]): Promise<string[]>;
  qsUnclaim(...args: (string | number)[]): Promise<number>;
  qsComplete(...args: (string | number)[]): Promise<number>;
  qsAcquire(...args: (string | number)[]): Promise<string[]>;
  qsRelease(...args: (string | number)[]): Promise<number>;
  qsReserve(...args: (string | number)[]): Promise<[number, number]>;
  qsFinish(...args: (string | number)[]): Promise<number>;
};

/** The Redis-backed, multi-replica {@link RelayStore}. */
export class RedisStore implements RelayStore {
  readonly kind = 'redis' as const;
  readonly owner: string;
  private readonly redis: Scripted;
  private readonly opts: RedisStoreOptions;
  private lastBytes = 0;
  private readonly budgets = new Map<string, RobotBudget>();

  constructor(opts: RedisStoreOptions) {
    this.opts = opts;
    // host and pid make the lease holder recognisable in Redis (`GET …lease:<robot>`)
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const redis = new (ioredis().Redis)(opts.url, {
      // commands wait while reconnecting, but fail after 1 s per attempt so the caller can answer 503 / retry
      maxRetriesPerRequest: 2,
      connectTimeout: 2000,
      commandTimeout: 3000,
      retryStrategy: (n) => Math.min(n * 100, 1000),
      lazyConnect: false,
    });
    redis.on('error', (err: Error) => opts.onError?.(err));
    redis.defineCommand('qsAccept', { numberOfKeys: 8, lua: ACCEPT });
    redis.defineCommand('qsUnclaim', { numberOfKeys: 6, lua: UNCLAIM });
    redis.defineCommand('qsComplete', { numberOfKeys: 6, lua: COMPLETE });
    redis.defineCommand('qsAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('qsRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('qsReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('qsFinish', { numberOfKeys: 1, lua: FINISH });
    this.redis = redis as Scripted;
  }

  private k(name: string, robot?: string): string {
    return `${REDIS_STORE_PREFIX}${name}${robot === undefined ? '' : `:${robot}`}`;
  }

  private entryKeys(robot: string): string[] {
    return [this.k('bytes'), this.k('q', robot), this.k('n', robot), this.k('g', robot), this.k('gi', robot), this.k('s', robot)];
  }

  async accept(robot: string, group: string, dedupe: string, payload: WebhookPayload): Promise<AcceptOutcome> {
    const json = JSON.stringify(payload);
    const r = await this.redis.qsAccept(
      this.k('seq'), this.k('bytes'), this.k('q', robot), this.k('n', robot), this.k('g', robot), this.k('gi', robot), this.k('s', robot), this.k('d', dedupe),
      group, json, this.opts.maxBytes, DEDUPE_WINDOW_MS,
    );
    const [kind, arg] = r;
    if (kind === 'deduplicated') return { kind: 'deduplicated' };
    if (kind === 'full') {
      this.lastBytes = Number(arg);
      throw new StoreFullError(`the shared notification store holds ${arg} bytes (notify.store.maxBytes ${this.opts.maxBytes})`);
    }
    return { kind: kind === 'superseded' ? 'superseded' : 'stored', id: String(arg) };
  }

  async acquire(robot: string): Promise<LeaseResult> {
    const [kind, ...orphaned] = await this.redis.qsAcquire(this.k('lease', robot), this.k('s', robot), this.owner, this.opts.leaseMs);
    if (kind === 'held') return { held: false };
    if (kind === 'renewed') return { held: true, fresh: false, orphaned: [] };
    orphaned.sort();
    return { held: true, fresh: true, orphaned };
  }

  async release(robot: string): Promise<void> {
    await this.redis.qsRelease(this.k('lease', robot), this.owner);
  }

  async head(robot: string, limit: number): Promise<QueueHead> {
    const raw = await this.redis.zrange(this.k('q', robot), 0, limit - 1, 'WITHSCORES');
    const ids: string[] = [];
    const at: number[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      ids.push(raw[i]!);
      at.push(Number(raw[i + 1]));
    }
    const [jsons, stats] = await Promise.all([ids.length ? this.redis.hmget(this.k('n', robot), ...ids) : Promise.resolve([]), this.stats(robot)]);
    const entries: StoredEntry[] = [];
    ids.forEach((id, i) => {
      const json = jsons[i];
      if (typeof json !== 'string') return; // completed between the two reads
      entries.push({ id, acceptedAt: at[i] ?? 0, payload: JSON.parse(json) as WebhookPayload, bytes: Buffer.byteLength(json) });
    });
    return { entries, ...stats };
  }

  async stats(robot: string): Promise<QueueStats> {
    const res = await this.redis
      .multi()
      .zcard(this.k('q', robot))
      .zrange(this.k('q', robot), 0, 0, 'WITHSCORES')
      .get(this.k('bytes'))
      .exec();
    const total = Number(res?.[0]?.[1] ?? 0);
    const first = res?.[1]?.[1] as string[] | undefined;
    this.lastBytes = Number(res?.[2]?.[1] ?? 0);
    return { total, oldestAt: first && first.length >= 2 ? Number(first[1]) : undefined };
  }

  async claim(robot: string, ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.sadd(this.k('s', robot), ...ids);
  }

  async unclaim(robot: string, ids: readonly string[]): Promise<number> {
    if (!ids.length) return 0;
    return this.redis.qsUnclaim(...this.entryKeys(robot), ...[...ids].sort());
  }

  async complete(robot: string, ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.qsComplete(...this.entryKeys(robot), ...ids);
  }

  async robots(): Promise<string[]> {
    const out = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.k('q')}:*`, 'COUNT', 200);
      cursor = next;
      for (const key of keys) out.add(key.slice(this.k('q').length + 1));
    } while (cursor !== '0');
    return [...out];
  }

  bytes(): number {
    return this.lastBytes;
  }

  budget(robot: string): RobotBudget {
    let b = this.budgets.get(robot);
    if (!b) {
      const key = this.k('b', robot);
      const margin = this.opts.marginMs ?? 5;
      b = {
        reserve: async (count, windowMs) => {
          const token = `${this.owner}:${randomUUID()}`;
          const [ok, wait] = await this.redis.qsReserve(key, count, windowMs, margin, token);
          return Number(ok) === 1 ? { ok: true, token } : { ok: false, waitMs: Number(wait) };
        },
        finish: async (token) => {
          await this.redis.qsFinish(key, token);
        },
        cancel: async (token) => {
          await this.redis.zrem(key, token);
        },
      };
      this.budgets.set(robot, b);
    }
    return b;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
