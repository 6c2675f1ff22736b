/**
 * Runtimes for `GET /probe` targets, pooled by (module, target): the first
 * probe of a target opens its connection and starts its discovery; later
 * probes reuse both (and share in-flight collections and `scrape.cacheFor`
 * like `/metrics` does). A runtime not probed for `idleMs` is closed, and at
 * most `maxTargets` are kept: the least recently used idle one makes room.
 */
import type { Logger } from 'pino';
import type { Config, ModuleConfig, RedisConfig } from '../config/schema.js';
import { Runtime } from '../runtime.js';
import { ProbeRequestError, type ProbeTarget } from './target.js';

/** Options of a {@link ProbePool}. */
export interface ProbePoolOptions {
  /** Close a target's runtime after this long without probes, ms. */
  readonly idleMs: number;
  /** Most targets kept open at once. */
  readonly maxTargets: number;
  readonly log: Logger;
  /** Builds a runtime (tests substitute it); default `new Runtime(config, log)`. */
  readonly build?: (config: Config, log: Logger) => Runtime;
  /** Clock, unix ms. */
  readonly now?: () => number;
}

interface Entry {
  readonly key: string;
  readonly runtime: Runtime;
  /** the module object it was built from (a reload makes a new one) */
  readonly module: ModuleConfig;
  /** the base config it was built from (scrape settings, timeouts) */
  readonly base: Config;
  lastUsed: number;
  inUse: number;
  retired: boolean;
}

/**
 * The config a probe target runs with: the module's queues, discovery and
 * components; the module's credentials and TLS; the target as `redis.url`;
 * scrape settings, Redis timeouts and reply caps from the top level; no MySQL.
 */
export function probeConfig(base: Config, module: ModuleConfig, target: ProbeTarget): Config {
  const redis: RedisConfig = {
    url: target.url,
    username: module.redis.username,
    connectTimeout: base.redis.connectTimeout,
    commandTimeout: base.redis.commandTimeout,
    tls: module.redis.tls,
    // a probed Redis is the least trusted: the same caps on what it may send back
    maxBulkBytes: base.redis.maxBulkBytes,
    maxReplyBytes: base.redis.maxReplyBytes,
    maxReplyElements: base.redis.maxReplyElements,
  };
  if (module.redis.password) redis.password = module.redis.password;
  return {
    ...base,
    redis,
    mysql: undefined,
    queues: module.queues,
    discover: module.discover,
    components: module.components,
    modules: {},
  };
}

/** Pooled probe runtimes; see the module comment. */
export class ProbePool {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: ProbePoolOptions) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(opts.idleMs / 2, 30_000)));
    this.timer.unref();
  }

  /** Targets open now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `fn` with the runtime of (module, target), creating it on first use.
   * A runtime built from an older config (reload) is replaced.
   * @throws ProbeRequestError (503) when `maxTargets` runtimes are all busy.
   */
  async use<T>(base: Config, moduleName: string, module: ModuleConfig, target: ProbeTarget, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
    if (this.closed) throw new ProbeRequestError(503, 'the probe pool is closed');
    const key = `${moduleName}\u0000${target.url}`;
    let entry = this.entries.get(key);
    if (entry && (entry.module !== module || entry.base.scrape !== base.scrape || entry.base.redis !== base.redis)) {
      this.retire(entry);
      entry = undefined;
    }
    if (!entry) entry = this.open(key, base, moduleName, module, target);
    entry.inUse++;
    entry.lastUsed = this.now();
    try {
      return await fn(entry.runtime);
    } finally {
      entry.inUse--;
      entry.lastUsed = this.now();
      if (entry.retired && entry.inUse === 0) void this.shut(entry);
    }
  }

  private open(key: string, base: Config, moduleName: string, module: ModuleConfig, target: ProbeTarget): Entry {
    if (this.entries.size >= this.opts.maxTargets) {
      let lru: Entry | undefined;
      for (const e of this.entries.values()) if (e.inUse === 0 && (!lru || e.lastUsed < lru.lastUsed)) lru = e;
      if (!lru) throw new ProbeRequestError(503, `too many probe targets at once (${this.opts.maxTargets} busy)`);
      this.retire(lru);
    }
    const log = this.opts.log.child({ probe: target.url, module: moduleName });
    const config = probeConfig(base, module, target);
    const runtime = this.opts.build ? this.opts.build(config, log) : new Runtime(config, log);
    runtime.start();
    log.debug('probe target opened');
    const entry: Entry = { key, runtime, module, base, lastUsed: this.now(), inUse: 0, retired: false };
    this.entries.set(key, entry);
    return entry;
  }

  /** Takes an entry out of the pool; closes it now, or when its last probe ends. */
  private retire(entry: Entry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    entry.retired = true;
    if (entry.inUse === 0) void this.shut(entry);
  }

  private async shut(entry: Entry): Promise<void> {
    try {
      await entry.runtime.close();
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'closing a probe target failed');
    }
  }

  /** Closes runtimes idle for `idleMs` or longer. */
  sweep(): void {
    const cutoff = this.now() - this.opts.idleMs;
    for (const e of [...this.entries.values()]) {
      if (e.inUse === 0 && e.lastUsed <= cutoff) {
        this.opts.log.debug({ probe: e.runtime.config.redis.url }, 'probe target idle: closing its connection');
        this.retire(e);
      }
    }
  }

  /** Closes every runtime and stops the sweep. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.map((e) => e.runtime.close()));
  }
}
