/**
 * The relay: one {@link Outbox} per configured robot (`dingtalk/<target>`,
 * `wecom/<target>`) over one outbox store (`notify.store`: a local SQLite
 * file, or a Redis shared by every replica). Only configured targets exist;
 * the relay never takes a robot URL from a request.
 */
import type { Registry } from 'prom-client';
import type { NotifyConfig, NotifyStoreConfig } from '../config/schema.js';
import { onCollect, relayMetrics, LEASE_OUTCOMES, type RelayMetrics } from './metrics.js';
import { DEFAULT_TUNING, Outbox, type OutboxDeps, type OutboxTuning, type RelayLogger } from './outbox.js';
import { RedisStore } from './redis-store.js';
import { dingtalkTarget, wecomTarget, type ChannelName, type ChannelTarget } from './robots.js';
import { SqliteStore } from './sqlite-store.js';
import type { RelayStore } from './store.js';
import { redactUrl } from '../config/redact.js';

/** The `notify` config the relay reads; `store` absent = an in-memory store (embedding and tests only; the config loader always fills it). */
export type RelayNotifyConfig = Omit<NotifyConfig, 'store'> & { store?: NotifyStoreConfig };

/** Options of {@link Relay}. */
export interface RelayOptions {
  notify: RelayNotifyConfig;
  registry: Registry;
  log: RelayLogger;
  /** timing knobs, ms (tests shorten them) */
  tuning?: Partial<OutboxTuning>;
  /** how long shutdown may spend delivering queued notifications, ms (default 5000) */
  shutdownMs?: number;
  /** a store made by the caller (tests); otherwise made from `notify.store` */
  store?: RelayStore;
}

function targetsOf(notify: RelayNotifyConfig): Map<string, { target: ChannelTarget; templatePath: string }> {
  const out = new Map<string, { target: ChannelTarget; templatePath: string }>();
  for (const [name, cfg] of Object.entries(notify.dingtalk)) out.set(`dingtalk/${name}`, { target: dingtalkTarget(name, cfg, notify), templatePath: cfg.template });
  for (const [name, cfg] of Object.entries(notify.wecom)) out.set(`wecom/${name}`, { target: wecomTarget(name, cfg, notify), templatePath: cfg.template });
  return out;
}

/**
 * Opens the store `notify.store` names: Redis when `redis` is set, else the
 * SQLite file under `path` (an in-memory database, with a warning, when
 * `store` or its `path` is absent: configs built without the config loader).
 * @throws Error when the SQLite file cannot be opened (folder not writable, locked by another process).
 */
export function openStore(store: NotifyStoreConfig | undefined, tuning: OutboxTuning, log: RelayLogger): RelayStore {
  if (store?.redis) {
    let lastError = '';
    return new RedisStore({
      url: store.redis,
      maxBytes: store.maxBytes,
      leaseMs: tuning.leaseMs,
      onError: (err) => {
        // ioredis reports every reconnect attempt: log each distinct reason once
        if (err.message === lastError) return;
        lastError = err.message;
        log.warn({ store: redactUrl(store.redis), reason: err.message }, 'notification store (Redis) unreachable; accepting answers 503 until it is back');
      },
    });
  }
  if (!store?.path) log.warn({}, 'no notify.store.path (a config not read by the config loader): notifications are held in memory only');
  try {
    return new SqliteStore({ path: store?.path || ':memory:', maxBytes: store?.maxBytes ?? 64 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`notify.store.path ${store?.path}: cannot open the notification store: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** The set of robot outboxes, reconfigurable on reload. */
export class Relay {
  private readonly outboxes = new Map<string, Outbox>();
  private readonly metrics: RelayMetrics;
  private notify: RelayNotifyConfig;
  readonly tuning: OutboxTuning;
  private storeImpl: RelayStore | undefined;
  private readonly shutdownMs: number;
  private readonly unhook: (() => void)[] = [];
  private closed: Promise<void> | undefined;

  /**
   * Opens the store when robot targets are configured (a sidecar without
   * targets never touches `notify.store.path`), and starts their outboxes.
   * @throws Error when the store cannot be opened (see {@link openStore}).
   */
  constructor(private readonly opts: RelayOptions) {
    this.metrics = relayMetrics(opts.registry);
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.shutdownMs = opts.shutdownMs ?? 5000;
    this.notify = opts.notify;
    this.storeImpl = opts.store;
    if (targetsOf(opts.notify).size > 0) this.openStoreOnce();
    this.unhook.push(
      onCollect(this.metrics.storeBytes, () => this.metrics.storeBytes.set(this.storeImpl?.bytes() ?? 0)),
      onCollect(this.metrics.oldestAge, () => {
        const now = Date.now();
        for (const o of this.outboxes.values()) {
          const [channel, target] = o.robot.split('/') as [string, string];
          this.metrics.oldestAge.set({ channel, target }, o.oldestAgeSeconds(now));
        }
      }),
    );
    this.apply(opts.notify);
  }

  /** The outbox store (opened on first need). */
  get store(): RelayStore {
    return this.openStoreOnce();
  }

  private openStoreOnce(): RelayStore {
    if (this.storeImpl) return this.storeImpl;
    const store = openStore(this.opts.notify.store, this.tuning, this.opts.log);
    this.storeImpl = store;
    if (store.kind === 'redis') for (const outcome of LEASE_OUTCOMES) this.metrics.leases.inc({ outcome }, 0);
    void this.recover();
    return store;
  }

  /** Counts and logs what the store held at start (local store: acknowledged, not yet delivered before the last stop). */
  private async recover(): Promise<void> {
    try {
      const robots = await this.store.robots();
      for (const robot of robots) {
        const stats = await this.store.stats(robot);
        if (stats.total === 0) continue;
        const outbox = this.outboxes.get(robot);
        if (!outbox) {
          this.opts.log.warn({ robot, notifications: stats.total }, 'the store holds notifications for a robot that is not configured; they stay until it is configured again');
          continue;
        }
        if (this.store.kind === 'sqlite') {
          const [channel, target] = robot.split('/') as [string, string];
          this.metrics.notifications.inc({ channel, target, outcome: 'recovered' }, stats.total);
          this.opts.log.info({ channel, target, notifications: stats.total }, 'notifications accepted before the last stop and not yet delivered: sending them');
        }
      }
    } catch (err) {
      this.opts.log.warn({ reason: String((err as Error)?.message ?? err) }, 'could not list what the notification store holds');
    }
  }

  private depsFor(entry: { target: ChannelTarget; templatePath: string }, notify: RelayNotifyConfig): Omit<OutboxDeps, 'metrics' | 'log' | 'store'> {
    return {
      target: entry.target,
      templatePath: entry.templatePath,
      timeZone: notify.timeZone,
      rateLimit: notify.rateLimit,
      timeoutMs: notify.timeout,
      tuning: this.tuning,
    };
  }

  private apply(notify: RelayNotifyConfig): void {
    const wanted = targetsOf(notify);
    for (const [key, entry] of wanted) {
      const deps = this.depsFor(entry, notify);
      const existing = this.outboxes.get(key);
      if (existing) existing.update(deps);
      else this.outboxes.set(key, new Outbox({ ...deps, metrics: this.metrics, log: this.opts.log, store: this.store }));
    }
    for (const [key, outbox] of this.outboxes) {
      if (!wanted.has(key)) {
        this.outboxes.delete(key);
        // what it holds stays in the store (delivered if the target comes back)
        void outbox.close(Math.min(this.shutdownMs, 1000));
      }
    }
  }

  /**
   * Applies a reloaded `notify` config: new targets start, removed ones stop
   * (what they hold stays in the store), changed ones pick up the new URL /
   * secret / mentions / template. `notify.store` changes take effect at the
   * next start (logged).
   */
  reconfigure(notify: RelayNotifyConfig): void {
    if (this.closed) return;
    if (!this.storeImpl && targetsOf(notify).size > 0) {
      try {
        this.openStoreOnce();
      } catch (err) {
        // the sidecar started without targets, so the store was never opened; do not fail the reload over it
        this.opts.log.error({ reason: String((err as Error)?.message ?? err) }, 'notification store unusable; the new robot targets hold notifications in memory only until a restart');
        this.storeImpl = new SqliteStore({ path: ':memory:', maxBytes: this.opts.notify.store?.maxBytes ?? 64 * 1024 * 1024 });
      }
    }
    const before = JSON.stringify(this.notify.store ?? null);
    if (notify.store && JSON.stringify(notify.store) !== before) {
      this.opts.log.warn({}, 'notify.store changed: the new store is used after a restart; the running relay keeps the current one');
    }
    this.notify = notify;
    this.apply(notify);
  }

  /** The outbox of a configured target, or undefined (→ 404). */
  outbox(channel: ChannelName, target: string): Outbox | undefined {
    return Object.prototype.hasOwnProperty.call(channel === 'dingtalk' ? this.notify.dingtalk : this.notify.wecom, target)
      ? this.outboxes.get(`${channel}/${target}`)
      : undefined;
  }

  /**
   * Shuts every outbox down in parallel (see {@link Outbox.close}), bounded
   * by the shutdown time, then closes the store. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await Promise.all([...this.outboxes.values()].map((o) => o.close(this.shutdownMs)));
      for (const u of this.unhook) u();
      await this.storeImpl?.close();
    })();
    return this.closed;
  }
}
