/**
 * Redis Cluster executor: one pipeline per master per batch.
 *
 * ioredis' {@link Cluster} keeps the topology (seed nodes, `CLUSTER SLOTS`,
 * periodic and on-demand slot-map refresh, reconnection when every node was
 * lost); queuescope sends the pipelines itself, over its own connection to
 * each master, so that one scrape batch is exactly one pipeline per master
 * touched and replies come back in the engine's order.
 *
 * Resharding (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding):
 * - `-MOVED <slot> <host:port>`: the slot has a new owner. The command is sent
 *   again to that node, and the slot map is refreshed in the background; until
 *   the refresh lands, the slot is routed by the MOVED answer.
 * - `-ASK <slot> <host:port>`: the slot is being migrated and this key already
 *   left the source. The command is sent again to the target, preceded by
 *   `ASKING` in the same pipeline; the slot map is not changed.
 * Redirected commands are retried once, all of them in one more pipeline per
 * target node, within the scrape deadline. A command redirected again is
 * reported as failed (its collector's success gauge drops to 0): a number is
 * either right or absent, never read from the wrong node.
 */
import type { Cluster, ClusterOptions, Redis } from 'ioredis';
import { ioredis } from './ioredis.js';
import type { Logger } from 'pino';
import type { Command, Reply } from './command.js';
import type { RedisConfig } from '../config/schema.js';
import { assertReadOnly, execPipeline, failAll, keyOf, scanNode, whenReady, type BatchExecutor, type BatchResult, type RoutedCommand, type ScanOptions } from './batch.js';
import { baseOptions, reconnectDelayMs, watchConnection } from './connection.js';
import { parseHostPort } from '../host-port.js';
import { keySlot, SLOT_COUNT } from './slot.js';


/** A redirection answer (`MOVED` / `ASK`) parsed from a reply error. */
export interface Redirect {
  readonly kind: 'MOVED' | 'ASK';
  readonly slot: number;
  /** `host:port` of the node to ask, as Redis announced it. */
  readonly node: string;
}

/** Parses `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`; undefined for any other error. */
export function parseRedirect(message: string): Redirect | undefined {
  const m = /^(MOVED|ASK) (\d+) (\S+)$/.exec(message.trim());
  if (!m) return undefined;
  return { kind: m[1] as 'MOVED' | 'ASK', slot: Number(m[2]), node: m[3]! };
}

/** Counters a cluster executor keeps since it was created (tests and logs read them). */
export interface ClusterStats {
  /** `MOVED` answers received. */
  moved: number;
  /** `ASK` answers received. */
  ask: number;
  /** Commands that were still redirected after their one retry (reported as failed). */
  unresolved: number;
}

/** Options beyond `redis:` config; for the benchmark's delay proxy and NAT setups. */
export interface ClusterExecutorOptions {
  /**
   * Maps node addresses the cluster announces (`host:port`) to addresses to
   * dial, as ioredis' `natMap`. Applies to the slot map and to MOVED / ASK targets.
   */
  readonly natMap?: Readonly<Record<string, { host: string; port: number }>>;
  /** How often the slot map is refreshed without a reason, ms (default 5000). */
  readonly slotsRefreshIntervalMs?: number;
}

/** One command's place in a node's pipeline. */
interface Slotted {
  readonly index: number;
  readonly asking: boolean;
}

/**
 * Executes scrape batches against a Redis Cluster (config `redis.cluster`).
 *
 * Routing: each command goes to the master owning the slot of its own key
 * ({@link keyOf}; `XINFO STREAM key` → key), falling back to the step's
 * routing key for keyless commands, and to any master when there is neither.
 * Hash-tagged layouts (asynq `asynq:{q}:…`, BullMQ with a `{prefix}`) land on
 * one node; Sidekiq, RQ and Celery keys spread over all of them.
 *
 * `BatchResult.ok` is false when any master touched could not answer the
 * batch (not connected, connection lost, deadline, `CLUSTERDOWN`, a slot no
 * master serves): `redis_up 0` then says part of the data is missing.
 * `roundtrips` counts the pipelines actually sent: the masters touched, plus
 * one per node asked again after MOVED / ASK.
 */
export class ClusterExecutor implements BatchExecutor {
  /** Topology only: slot map and its refresh. Never sent scrape commands. */
  readonly cluster: Cluster;
  /** Redirection counters since creation. */
  readonly stats: ClusterStats = { moved: 0, ask: 0, unresolved: 0 };
  /** queuescope's own connection per master, by `host:port` (after NAT mapping). */
  private readonly clients = new Map<string, Redis>();
  /** Pipelines in flight per node (a client is not closed under a running batch). */
  private readonly busy = new Map<string, number>();
  /** Slot → owner learned from MOVED since the last slot-map refresh. */
  private readonly moved = new Map<number, string>();
  private closed = false;

  /**
   * Starts connecting to the seed nodes in the background; never throws for
   * an unreachable cluster (scrapes report `redis_up 0` until it answers).
   * @param cfg `redis:` config with `cluster.nodes` set; `username`,
   *   `password`, `tls`, `connectTimeout`, `commandTimeout` apply to every node.
   * @throws Error when `cfg.cluster` is missing.
   */
  constructor(
    private readonly cfg: RedisConfig,
    private readonly log: Logger,
    private readonly options: ClusterExecutorOptions = {},
  ) {
    if (!cfg.cluster) throw new Error('ClusterExecutor needs redis.cluster');
    const base = baseOptions(cfg);
    const redisOptions: NonNullable<ClusterOptions['redisOptions']> = {
      connectTimeout: base.connectTimeout,
      commandTimeout: base.commandTimeout,
      connectionName: 'queuescope-topology',
      maxRetriesPerRequest: 0,
    };
    if (base.username) redisOptions.username = base.username;
    if (base.password) redisOptions.password = base.password;
    if (base.tls) redisOptions.tls = base.tls;
    this.cluster = new (ioredis().Cluster)(
      cfg.cluster.nodes.map(parseHostPort),
      {
        redisOptions,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: true,
        scaleReads: 'master',
        slotsRefreshTimeout: cfg.connectTimeout,
        slotsRefreshInterval: options.slotsRefreshIntervalMs ?? 5000,
        clusterRetryStrategy: reconnectDelayMs,
        ...(options.natMap ? { natMap: { ...options.natMap } } : {}),
      },
    );
    // Cluster emits the same 'error' / 'ready' events; only its `on` return type differs.
    watchConnection(this.cluster as unknown as Pick<Redis, 'on'>, `cluster:${cfg.cluster.nodes.join(',')}`, log);
    this.cluster.on('refresh', () => this.onRefresh());
    this.cluster.connect().catch(() => {
      // reported through the 'error' handler; clusterRetryStrategy keeps trying
    });
  }

  /** The master owning `slot` now, as `host:port`; undefined when no master serves it. */
  ownerOf(slot: number): string | undefined {
    return this.moved.get(slot) ?? this.cluster.slots[slot]?.[0];
  }

  /** Every master of the current slot map, `host:port`, sorted. */
  masters(): string[] {
    const out = new Set<string>();
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const owner = this.ownerOf(slot);
      if (owner) out.add(owner);
    }
    return [...out].sort();
  }

  async exec(commands: readonly RoutedCommand[], deadlineMs: number): Promise<BatchResult> {
    for (const c of commands) assertReadOnly(c.command);
    const n = commands.length;
    if (n === 0) return { replies: [], roundtrips: 0, ok: true };
    if (this.closed) return failAll(n, 'redis cluster executor is closed');
    if (!(await whenReady(this.cluster, deadlineMs))) return failAll(n, `redis cluster not connected (${this.cluster.status})`);
    if (Date.now() >= deadlineMs) return failAll(n, 'scrape deadline passed before the batch was sent');

    const replies: Reply[] = new Array<Reply>(n);
    /** why part of the batch failed, by node (or slot) */
    const failures = new Map<string, string>();
    let anyMaster: string | undefined | null = null; // computed on first keyless command

    // First pass: one pipeline per master owning any of the keys. Keyless commands (the
    // engine's PING) ride along with a master the batch touches anyway: no extra round trip.
    const groups = new Map<string, Slotted[]>();
    const keyless: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = commands[i]!;
      const key = keyOf(c.command) ?? c.routingKey;
      if (key === undefined) keyless.push(i);
    }
    const keylessSet = new Set(keyless);
    const order = keyless.length === 0 ? undefined : [...Array(n).keys()].filter((i) => !keylessSet.has(i)).concat(keyless);
    for (let j = 0; j < n; j++) {
      const i = order ? order[j]! : j;
      const c = commands[i]!;
      const key = keyOf(c.command) ?? c.routingKey;
      const slot = key === undefined ? undefined : keySlot(key);
      const node = slot === undefined ? (anyMaster ??= groups.keys().next().value ?? this.masters()[0]) : this.ownerOf(slot);
      if (!node) {
        const why = slot === undefined ? 'no master known' : `hash slot ${slot} is not served by any master`;
        replies[i] = [new Error(why), null];
        failures.set(slot === undefined ? 'cluster' : `slot ${slot}`, why);
        continue;
      }
      let g = groups.get(node);
      if (!g) groups.set(node, (g = []));
      g.push({ index: i, asking: false });
    }
    let roundtrips = (await Promise.all([...groups].map(([node, entries]) => this.send(node, entries, commands, replies, failures, deadlineMs)))).reduce(
      (a, b) => a + b,
      0,
    );

    // Second pass: commands answered MOVED / ASK, once, to the node named in the answer.
    const retry = new Map<string, Slotted[]>();
    let sawMoved = false;
    for (let i = 0; i < n; i++) {
      const err = replies[i]?.[0];
      const r = err ? parseRedirect(err.message) : undefined;
      if (!r) continue;
      const node = this.mapNode(r.node);
      if (r.kind === 'MOVED') {
        this.stats.moved++;
        sawMoved = true;
        this.moved.set(r.slot, node);
      } else {
        this.stats.ask++;
      }
      let g = retry.get(node);
      if (!g) retry.set(node, (g = []));
      g.push({ index: i, asking: r.kind === 'ASK' });
    }
    if (sawMoved) this.refreshSlots('MOVED');
    if (retry.size > 0 && Date.now() < deadlineMs) {
      roundtrips += (await Promise.all([...retry].map(([node, entries]) => this.send(node, entries, commands, replies, failures, deadlineMs)))).reduce(
        (a, b) => a + b,
        0,
      );
    }
    // Still redirected (the slot moved again, or no time was left): failed, never misread.
    for (let i = 0; i < n; i++) {
      const err = replies[i]?.[0];
      const r = err ? parseRedirect(err.message) : undefined;
      if (!r) continue;
      this.stats.unresolved++;
      replies[i] = [new Error(`${commands[i]!.command[0]}: hash slot ${r.slot} moved during the scrape (${r.kind} to ${r.node}); not read this time`), null];
    }

    const ok = failures.size === 0;
    if (ok) return { replies, roundtrips, ok };
    return { replies, roundtrips, ok, error: [...failures].map(([where, why]) => `${where}: ${why}`).join('; ') };
  }

  /**
   * Sends `entries` as one pipeline to `node` (ASK retries prefixed with
   * `ASKING`), writing each reply at its command's index.
   * @returns round trips made (0 when the node could not be reached).
   */
  private async send(
    node: string,
    entries: readonly Slotted[],
    commands: readonly RoutedCommand[],
    replies: Reply[],
    failures: Map<string, string>,
    deadlineMs: number,
  ): Promise<number> {
    const client = this.client(node);
    this.busy.set(node, (this.busy.get(node) ?? 0) + 1);
    try {
      if (!(await whenReady(client, deadlineMs))) {
        const why = Date.now() >= deadlineMs ? 'scrape deadline passed waiting for the connection' : `not connected (${client.status})`;
        const err = new Error(`${node}: ${why}`);
        for (const e of entries) replies[e.index] = [err, null];
        failures.set(node, why);
        this.refreshSlots('node unreachable');
        return 0;
      }
      const pipeline: Command[] = [];
      const at: number[] = [];
      for (const e of entries) {
        if (e.asking) pipeline.push(['ASKING']);
        at.push(pipeline.length);
        pipeline.push(commands[e.index]!.command);
      }
      const result = await execPipeline(client, pipeline, deadlineMs);
      entries.forEach((e, j) => {
        replies[e.index] = result.replies[at[j]!] ?? [new Error(`${node}: no reply`), null];
      });
      if (!result.ok) {
        failures.set(node, result.error ?? 'batch failed');
        this.refreshSlots('node failed');
      } else {
        const down = entries.find((e) => /^CLUSTERDOWN/.test(replies[e.index]?.[0]?.message ?? ''));
        if (down) failures.set(node, replies[down.index]![0]!.message);
      }
      return result.roundtrips;
    } finally {
      const left = (this.busy.get(node) ?? 1) - 1;
      if (left > 0) this.busy.set(node, left);
      else this.busy.delete(node);
    }
  }

  /** queuescope's connection to `node` (`host:port`), opened on first use. */
  private client(node: string): Redis {
    let client = this.clients.get(node);
    if (client) return client;
    const { host, port } = parseHostPort(node);
    client = new (ioredis().Redis)({ ...baseOptions(this.cfg), host, port });
    watchConnection(client, `cluster node ${node}`, this.log);
    client.connect().catch(() => {
      // reported through the 'error' handler; the retry strategy keeps trying
    });
    this.clients.set(node, client);
    return client;
  }

  /** Applies `natMap` to an announced `host:port`. */
  private mapNode(node: string): string {
    const mapped = this.options.natMap?.[node];
    return mapped ? `${mapped.host}:${mapped.port}` : node;
  }

  private refreshSlots(reason: string): void {
    if (this.closed || this.cluster.status !== 'ready') return;
    this.log.debug({ reason }, 'refreshing the redis cluster slot map');
    this.cluster.refreshSlotsCache();
  }

  /** A fresh slot map: forget MOVED overrides, open masters early, close connections to nodes that are no longer masters. */
  private onRefresh(): void {
    this.moved.clear();
    if (this.closed) return;
    const masters = new Set(this.masters());
    for (const node of masters) this.client(node);
    for (const [node, client] of this.clients) {
      if (!masters.has(node) && !this.busy.has(node)) {
        client.disconnect();
        this.clients.delete(node);
      }
    }
  }

  async scanKeys(opts: ScanOptions, onKeys: (keys: string[]) => boolean | void): Promise<void> {
    const deadline = Date.now() + this.cfg.connectTimeout;
    if (!(await whenReady(this.cluster, deadline))) throw new Error(`redis cluster not connected (${this.cluster.status})`);
    for (const node of this.masters()) {
      const client = this.client(node);
      if (!(await whenReady(client, Date.now() + this.cfg.connectTimeout))) throw new Error(`couldn't SCAN cluster node ${node}: not connected (${client.status})`);
      try {
        if (!(await scanNode(client, opts, onKeys))) return;
      } catch (err) {
        throw new Error(`couldn't SCAN cluster node ${node}: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cluster.disconnect();
    for (const client of this.clients.values()) client.disconnect();
    this.clients.clear();
  }
}
